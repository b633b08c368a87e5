#include "engine/slot_mover.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "common/failpoint.h"
#include "common/log.h"

namespace slotkeeper::engine {
namespace {

using redis::Command;
using redis::NodeClient;
using redis::Reply;

// A key may expire between GETKEYSINSLOT and MIGRATE, which Redis answers with ASK/TRYAGAIN
// for a migrating slot; such a slot is simply fetched again, a bounded number of times.
constexpr int kMaxRetriesPerSlot = 5;

template <typename T>
std::vector<std::vector<T>> chunk(const std::vector<T>& items, size_t size) {
  std::vector<std::vector<T>> out;
  for (size_t i = 0; i < items.size(); i += size) {
    out.emplace_back(items.begin() + static_cast<long>(i),
                     items.begin() + static_cast<long>(std::min(items.size(), i + size)));
  }
  return out;
}

constexpr int kLongTimeoutFactor = 4;

// MIGRATE's timeout: the configured one (times kLongTimeoutFactor for a key that timed out
// alone), never above the cap.
std::chrono::milliseconds migrateTimeout(const MoveOptions& options, bool long_timeout) {
  auto timeout = options.migrate_timeout * (long_timeout ? kLongTimeoutFactor : 1);
  if (options.migrate_timeout_cap.count() > 0) {
    timeout = std::min(timeout, options.migrate_timeout_cap);
  }
  return timeout;
}

Command buildMigrate(const std::string& ip, int port, const std::vector<std::string>& keys,
                     const MoveOptions& options, bool replace, bool long_timeout = false) {
  const auto timeout = migrateTimeout(options, long_timeout);
  Command cmd = {"MIGRATE", ip, std::to_string(port), "", "0", std::to_string(timeout.count())};
  if (replace) cmd.push_back("REPLACE");
  if (!options.password.empty()) {
    cmd.push_back("AUTH");
    cmd.push_back(options.password);
  }
  cmd.push_back("KEYS");
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  return cmd;
}

// The destination's refusal arrives wrapped by the source ("ERR Target instance replied with
// error: BUSYKEY ..."), so the code is looked for anywhere in the text.
bool isBusyKeyError(const Reply& r) {
  return r.isErrorWithPrefix("BUSYKEY") ||
         (r.isError() && r.str.find("error: BUSYKEY") != std::string::npos);
}

// The node answering for a slot changed under the move (a failover): the plan is stale.
Status rolesChanged(const std::string& what) {
  return conflict(what +
                  "; the cluster's roles changed under the move (a failover?), so it is "
                  "observed and planned again");
}

// A node about to receive SETSLOT or MIGRATE for a wave is still the master the plan names.
Status checkStillMaster(NodeClient& client, const std::string& id) {
  ASSIGN_OR_RETURN(auto entries, client.clusterNodes());
  for (const auto& e : entries) {
    if (!e.myself) continue;
    if (e.id != id) return rolesChanged(client.address() + " is no longer node " + id);
    if (e.replica) return rolesChanged(client.address() + " became a replica");
    return Status::ok();
  }
  return internalError("CLUSTER NODES of " + client.address() + " has no myself");
}

bool isRetryableMigrateError(const Reply& r) {
  return r.isErrorWithPrefix("ASK") || r.isErrorWithPrefix("TRYAGAIN");
}

// kDestinationWins: the keys of a refused batch that the destination has are deleted from the
// holder (the destination's copy stays); the others move on the next round.
Status dropKeysTheDestinationHas(NodeClient& holder, NodeClient& destination,
                                 const std::vector<std::string>& keys, const MoveOptions& options,
                                 int slot, MoveCounters* counters) {
  // A refused batch still moved its other keys (MIGRATE deletes each key the target took).
  ASSIGN_OR_RETURN(auto held, holder.dumpKeys(keys));
  ASSIGN_OR_RETURN(auto dest_values, destination.dumpKeys(keys));
  // The holder has the slot open (IMPORTING), where only a command after ASKING is served.
  std::vector<Command> deletes;
  int64_t differing = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!held[i].has_value() || !dest_values[i].has_value()) continue;
    deletes.push_back({"ASKING"});
    deletes.push_back({"DEL", keys[i]});
    if (*held[i] != *dest_values[i]) ++differing;
  }
  if (deletes.empty()) return Status::ok();
  RETURN_IF_ERROR(checkWriteFence(options));
  ASSIGN_OR_RETURN(auto replies, holder.pipeline(deletes));
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].isError()) {
      return failedPrecondition(deletes[i].front() + " " + deletes[i].back() + " on " +
                                holder.address() + ": " + replies[i].str);
    }
  }
  counters->key_conflicts += differing;
  log::warn("keys the destination already has; kept its copies",
            {{"slot", slot},
             {"keys", deletes.size() / 2},
             {"differing", differing},
             {"holder", holder.address()},
             {"destination", destination.address()}});
  return Status::ok();
}

// Keys of a batch refused with BUSYKEY that exist on both sides with different values. Under
// kReplaceIfEqual any such key stops the move; under kHolderWins they are counted as conflicts
// and the caller replaces the destination's copies.
Status resolveBusyKeys(NodeClient& holder, NodeClient& destination,
                       const std::vector<std::string>& keys, BusyKeyPolicy policy, int slot,
                       MoveCounters* counters) {
  ASSIGN_OR_RETURN(auto held, holder.dumpKeys(keys));
  ASSIGN_OR_RETURN(auto dest_values, destination.dumpKeys(keys));
  std::vector<std::string> differing;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!dest_values[i].has_value() || !held[i].has_value()) continue;
    if (*dest_values[i] != *held[i]) differing.push_back(keys[i]);
  }
  if (differing.empty()) return Status::ok();
  if (policy == BusyKeyPolicy::kReplaceIfEqual) {
    return failedPrecondition("slot " + std::to_string(slot) + ": key '" + differing.front() +
                              "' exists on both " + holder.address() + " and " +
                              destination.address() +
                              " with different values; refusing to overwrite either");
  }
  counters->key_conflicts += static_cast<int64_t>(differing.size());
  log::warn("keys on both sides with different values; the holder's copies replace the others",
            {{"slot", slot},
             {"keys", differing.size()},
             {"first_key", differing.front()},
             {"holder", holder.address()},
             {"destination", destination.address()}});
  return Status::ok();
}

// What the rounds of one migrateSlotKeys call learned about each slot.
struct SlotState {
  int retries = 0;            // ASK/TRYAGAIN answers so far
  int batch = 0;              // keys per MIGRATE (0: options.batch_keys); halved after a timeout
  bool long_timeout = false;  // a single key that timed out gets one try with 4x the timeout
};

int batchOf(const std::map<int, SlotState>& state, int slot, const MoveOptions& options) {
  auto it = state.find(slot);
  return it == state.end() || it->second.batch == 0 ? options.batch_keys : it->second.batch;
}

// MIGRATE answered IOERR (the target did not answer within the timeout, often because the batch
// was too big to send in time): the slot's batch is halved, and a single key gets one more try
// with a longer timeout; a key that still cannot move stops the move, naming it.
Status shrinkAfterTimeout(const Reply& r, int slot, const std::vector<std::string>& keys,
                          const MoveOptions& options, const std::string& destination,
                          SlotState* state) {
  if (keys.size() > 1) {
    state->batch = std::max<int>(1, static_cast<int>(keys.size()) / 2);
    log::warn("MIGRATE timed out; smaller batches",
              {{"slot", slot}, {"keys", keys.size()}, {"next", state->batch}});
    return Status::ok();
  }
  if (!state->long_timeout) {
    state->batch = 1;
    state->long_timeout = true;
    return Status::ok();
  }
  return failedPrecondition(
      "key '" + keys.front() + "' of slot " + std::to_string(slot) + " could not be moved to " +
      destination + " within " + std::to_string(migrateTimeout(options, true).count()) + " ms (" +
      r.str +
      "); the move stops here: raise spec.migration.timeoutSeconds (up to half of "
      "cluster-node-timeout is used) or look at the key's size");
}

// Keys asked for per GETKEYSINSLOT, when batches are smaller: a slot's keys are listed once
// and sent in batch-sized MIGRATEs, one round trip each, instead of listed again before each
// batch. A small batch bounds how long one MIGRATE keeps the source from its clients; listing
// once spares the round trips in between.
constexpr int kKeysPerFetch = 1000;

// Slots whose keys are listed in one round trip. GETKEYSINSLOT is cheap for the source, and a
// wave's slots are all MIGRATING (no new keys appear in them), so keys are listed for several
// slots ahead even when MIGRATEs go one slot per round trip.
constexpr size_t kSlotsPerListing = 16;

size_t listingGroupSize(const MoveOptions& options) {
  return std::max(static_cast<size_t>(std::max(options.slots_per_pipeline, 1)), kSlotsPerListing);
}

int fetchSizeOf(const std::map<int, SlotState>& state, int slot, const MoveOptions& options) {
  return std::max(batchOf(state, slot, options), kKeysPerFetch);
}

// The keys of one slot listed by GETKEYSINSLOT and not yet migrated.
struct FetchedSlot {
  int slot = 0;
  std::vector<std::string> keys;
  size_t next = 0;          // first key not yet sent
  bool maybe_more = false;  // the listing was full: the slot may hold more keys
};

// What one MIGRATE reply means for its slot: sent (the batch moved; go on with the next one)
// or not (the slot was handled and is listed again in the next round, or the move stops).
Result<bool> handleMigrateReply(const Reply& r, int slot, const std::vector<std::string>& keys,
                                NodeClient& holder, NodeClient& destination,
                                const std::string& dest_ip, int dest_port,
                                const MoveOptions& options, BusyKeyPolicy policy,
                                MoveCounters* counters, std::map<int, SlotState>* state) {
  if (!r.isError()) {
    counters->keys_moved += static_cast<int64_t>(keys.size());
    return true;
  }
  if (r.isErrorWithPrefix("IOERR")) {
    RETURN_IF_ERROR(
        shrinkAfterTimeout(r, slot, keys, options, destination.address(), &(*state)[slot]));
    return false;
  }
  if (isBusyKeyError(r) && policy == BusyKeyPolicy::kDestinationWins) {
    RETURN_IF_ERROR(dropKeysTheDestinationHas(holder, destination, keys, options, slot, counters));
    return false;
  }
  if (isBusyKeyError(r)) {
    RETURN_IF_ERROR(resolveBusyKeys(holder, destination, keys, policy, slot, counters));
    RETURN_IF_ERROR(checkWriteFence(options));
    log::info(
        "keys already on destination; replacing them with the holder's copies",
        {{"slot", slot}, {"source", holder.address()}, {"destination", destination.address()}});
    ASSIGN_OR_RETURN(auto again,
                     holder.pipeline({buildMigrate(dest_ip, dest_port, keys, options, true)}));
    if (again[0].isError()) {
      return failedPrecondition("MIGRATE REPLACE slot " + std::to_string(slot) + ": " +
                                again[0].str);
    }
    counters->keys_moved += static_cast<int64_t>(keys.size());
    return false;
  }
  if (r.isErrorWithPrefix("MOVED")) {
    return rolesChanged("MIGRATE slot " + std::to_string(slot) + " from " + holder.address() +
                        ": " + r.str);
  }
  if (isRetryableMigrateError(r) && ++(*state)[slot].retries <= kMaxRetriesPerSlot) return false;
  return failedPrecondition("MIGRATE slot " + std::to_string(slot) + " from " + holder.address() +
                            " to " + destination.address() + ": " + r.str);
}

// One round: list each slot's keys, then migrate them, a batch from each of up to
// slots_per_pipeline slots per round trip. Slots that may still have keys (a full listing, or an
// error that was handled) are returned in `still_busy`.
Status migrateRound(NodeClient& holder, NodeClient& destination, const std::string& dest_ip,
                    int dest_port, const std::vector<int>& slots, const MoveOptions& options,
                    BusyKeyPolicy policy, MoveCounters* counters, std::map<int, SlotState>* state,
                    std::vector<int>* still_busy) {
  std::vector<Command> fetch;
  fetch.reserve(slots.size());
  for (int s : slots) {
    fetch.push_back({"CLUSTER", "GETKEYSINSLOT", std::to_string(s),
                     std::to_string(fetchSizeOf(*state, s, options))});
  }
  ASSIGN_OR_RETURN(auto fetched, holder.pipeline(fetch));

  std::vector<FetchedSlot> open;
  for (size_t i = 0; i < slots.size(); ++i) {
    const Reply& r = fetched[i];
    if (r.isError()) {
      return failedPrecondition("GETKEYSINSLOT " + std::to_string(slots[i]) + " on " +
                                holder.address() + ": " + r.str);
    }
    if (r.elements.empty()) continue;
    FetchedSlot f;
    f.slot = slots[i];
    f.keys.reserve(r.elements.size());
    for (const auto& e : r.elements) f.keys.push_back(e.str);
    f.maybe_more = static_cast<int>(f.keys.size()) >= fetchSizeOf(*state, f.slot, options);
    open.push_back(std::move(f));
  }

  // Up to slots_per_pipeline slots send a batch per round trip; a slot stays at the front until
  // its listed keys are sent, so slots finish in order.
  const size_t per_round_trip = static_cast<size_t>(std::max(options.slots_per_pipeline, 1));
  while (!open.empty()) {
    const size_t window = std::min(open.size(), per_round_trip);
    std::vector<Command> migrates;
    std::vector<std::vector<std::string>> sent;
    for (size_t i = 0; i < window; ++i) {
      FetchedSlot& f = open[i];
      const size_t n =
          std::min(f.keys.size() - f.next, static_cast<size_t>(batchOf(*state, f.slot, options)));
      std::vector<std::string> keys(f.keys.begin() + static_cast<long>(f.next),
                                    f.keys.begin() + static_cast<long>(f.next + n));
      f.next += n;
      const bool long_timeout = (*state)[f.slot].long_timeout;
      migrates.push_back(buildMigrate(dest_ip, dest_port, keys, options, false, long_timeout));
      sent.push_back(std::move(keys));
    }
    RETURN_IF_ERROR(checkWriteFence(options));
    ASSIGN_OR_RETURN(auto replies, holder.pipeline(migrates));
    failpoint("move.keys-batch");

    std::vector<FetchedSlot> still_open;
    for (size_t i = 0; i < replies.size(); ++i) {
      FetchedSlot& f = open[i];
      ASSIGN_OR_RETURN(const bool moved,
                       handleMigrateReply(replies[i], f.slot, sent[i], holder, destination, dest_ip,
                                          dest_port, options, policy, counters, state));
      // A slot whose batch was not simply moved is listed afresh next round: its keys may have
      // changed meanwhile (resolved conflicts, a smaller batch after a timeout).
      if (!moved) {
        still_busy->push_back(f.slot);
      } else if (f.next < f.keys.size()) {
        still_open.push_back(std::move(f));
      } else if (f.maybe_more) {
        // While a slot is MIGRATING the source creates no new keys in it (writes to absent keys
        // are redirected with ASK), so a listing that was not full emptied the slot.
        still_busy->push_back(f.slot);
      }
    }
    still_open.insert(still_open.end(),
                      std::make_move_iterator(open.begin() + static_cast<long>(window)),
                      std::make_move_iterator(open.end()));
    open = std::move(still_open);
  }
  return Status::ok();
}

}  // namespace

bool isDestinationOutOfMemory(const Status& status) {
  return !status.isOk() && status.message().find("OOM command not allowed") != std::string::npos;
}

Status checkWriteFence(const MoveOptions& options) {
  if (!options.may_write || options.may_write()) return Status::ok();
  return aborted("write fence: this process may no longer write to the cluster");
}

Status migrateSlotKeys(NodeClient& holder, NodeClient& destination, const std::vector<int>& slots,
                       const MoveOptions& options, BusyKeyPolicy policy, MoveCounters* counters) {
  ASSIGN_OR_RETURN(auto dest, redis::splitAddress(destination.address()));
  std::map<int, SlotState> state;
  std::vector<int> pending = slots;
  while (!pending.empty()) {
    std::vector<int> next;
    for (const auto& group : chunk(pending, listingGroupSize(options))) {
      RETURN_IF_ERROR(migrateRound(holder, destination, dest.first, dest.second, group, options,
                                   policy, counters, &state, &next));
    }
    pending = std::move(next);
  }
  return Status::ok();
}

// Redis's answer to SETSLOT on a replica: a failover demoted the node since it was read.
bool isDemotedNodeError(const Status& status) {
  return !status.isOk() && status.message().find("SETSLOT only with masters") != std::string::npos;
}

Status clearSlotMarkers(NodeClient& node, const std::vector<int>& slots) {
  Status cleared = node.clusterSetSlotsStable(slots);
  if (!isDemotedNodeError(cleared)) return cleared;
  log::info("a demoted node has no open slot to clear", {{"node", node.address()}});
  return Status::ok();
}

// The newest config epoch any of `nodes` other than `owner` holds. A node that cannot be asked is
// an error: the owner's claim could not be shown to be newer than its.
Result<int64_t> newestEpochOf(const std::vector<NodeClient*>& nodes, const NodeClient* owner) {
  int64_t newest = 0;
  for (NodeClient* node : nodes) {
    if (node == owner) continue;
    ASSIGN_OR_RETURN(auto info, node->clusterInfo());
    newest = std::max(newest, info.my_epoch);
  }
  return newest;
}

// A claim replaces another in gossip only with a newer config epoch, and SETSLOT NODE raises the
// owner's epoch just past the newest the owner has heard of. An owner that has not yet heard of
// the holder's latest bump (a settle's BUMPEPOCH, a failover) would claim with an older epoch;
// the holder's next ping, before it is told of the new owner, would win the slots back, and the
// owner would delete the keys it just received (Redis drops keys in a slot it loses that way).
Status awaitOwnerHearsEpoch(NodeClient& owner, int64_t epoch, const MoveOptions& options) {
  RealClock real;
  Clock& clock = options.clock != nullptr ? *options.clock : real;
  const auto deadline = clock.now() + options.epoch_catch_up;
  while (true) {
    ASSIGN_OR_RETURN(auto info, owner.clusterInfo());
    if (info.current_epoch >= epoch) return Status::ok();
    if (clock.now() >= deadline) {
      return unavailable(owner.address() + " has not heard of config epoch " +
                         std::to_string(epoch) + " (it knows " +
                         std::to_string(info.current_epoch) +
                         "); claiming slots now could lose them to an older owner");
    }
    clock.sleepFor(std::chrono::milliseconds(20));
  }
}

Status assignSlotsEverywhere(const MoveNode& owner, const std::vector<NodeClient*>& others,
                             const std::vector<int>& slots, const MoveOptions& options) {
  ASSIGN_OR_RETURN(const int64_t newest, newestEpochOf(others, owner.client));
  RETURN_IF_ERROR(awaitOwnerHearsEpoch(*owner.client, newest, options));
  Status owned = owner.client->clusterSetSlotsNode(slots, owner.id);
  if (isDemotedNodeError(owned)) {
    return rolesChanged(owner.client->address() + " became a replica before taking the slots");
  }
  RETURN_IF_ERROR(owned);
  // SETSLOT NODE raises the epoch only for a slot the owner was importing; a settle's owner may
  // have held some of them already.
  ASSIGN_OR_RETURN(auto claimed, owner.client->clusterInfo());
  if (claimed.my_epoch <= newest) (void)owner.client->command({"CLUSTER", "BUMPEPOCH"});
  failpoint("move.owner-assigned");
  for (NodeClient* other : others) {
    if (other == owner.client) continue;
    Status told = other->clusterSetSlotsNode(slots, owner.id);
    // A master demoted meanwhile learns the owner from its new master and from gossip.
    if (isDemotedNodeError(told)) {
      log::info("not telling a demoted node the new owner", {{"node", other->address()}});
      continue;
    }
    RETURN_IF_ERROR(told);
    failpoint("move.other-assigned");
  }
  return Status::ok();
}

Status moveSlots(const MoveNode& source, const MoveNode& target,
                 const std::vector<NodeClient*>& masters, const std::vector<int>& slots,
                 const MoveOptions& options, MoveCounters* counters,
                 const std::function<bool()>& should_stop, std::vector<int>* assigned) {
  // The source learns the new owner right after the target (the order redis-cli uses), so a
  // client redirected by either one ends up at the target.
  std::vector<NodeClient*> others = {source.client};
  for (NodeClient* m : masters) {
    if (m != source.client && m != target.client) others.push_back(m);
  }
  for (const auto& wave : chunk(slots, static_cast<size_t>(options.slots_per_wave))) {
    if (should_stop && should_stop()) return aborted("stopped between slot waves");
    // Before each wave: a failover since the plan was made would have SETSLOT and MIGRATE sent
    // to a replica.
    RETURN_IF_ERROR(checkStillMaster(*source.client, source.id));
    RETURN_IF_ERROR(checkStillMaster(*target.client, target.id));
    RETURN_IF_ERROR(checkWriteFence(options));
    RETURN_IF_ERROR(target.client->clusterSetSlotsImporting(wave, source.id));
    RETURN_IF_ERROR(source.client->clusterSetSlotsMigrating(wave, target.id));
    failpoint("move.slots-opened");
    RETURN_IF_ERROR(migrateSlotKeys(*source.client, *target.client, wave, options,
                                    BusyKeyPolicy::kHolderWins, counters));
    RETURN_IF_ERROR(checkWriteFence(options));
    RETURN_IF_ERROR(assignSlotsEverywhere(target, others, wave, options));
    counters->slots_moved += static_cast<int64_t>(wave.size());
    if (assigned != nullptr) assigned->insert(assigned->end(), wave.begin(), wave.end());
  }
  return Status::ok();
}

}  // namespace slotkeeper::engine
