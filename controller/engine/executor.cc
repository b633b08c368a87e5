#include "engine/executor.h"

#include <algorithm>
#include <future>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "common/failpoint.h"
#include "common/log.h"
#include "engine/observer.h"

namespace slotkeeper::engine {
namespace {

using redis::ClusterNodeEntry;
using redis::NodeClient;
using topology::Step;

const ClusterNodeEntry* myselfIn(const std::vector<ClusterNodeEntry>& entries) {
  for (const auto& e : entries) {
    if (e.myself) return &e;
  }
  return nullptr;
}

bool sameSettleBatch(const topology::SettleSlotStep& a, const topology::SettleSlotStep& b) {
  return a.owner_address == b.owner_address && a.owner_id == b.owner_id &&
         a.key_holders == b.key_holders && a.takeover_holders == b.takeover_holders &&
         a.finish == b.finish;
}

Result<ClusterNodeEntry> readMyself(NodeClient& client) {
  ASSIGN_OR_RETURN(auto entries, client.clusterNodes());
  const ClusterNodeEntry* me = myselfIn(entries);
  if (me == nullptr) return internalError(client.address() + " does not list itself");
  return *me;
}

// The plan was made from a snapshot; if the address now answers with another node id the
// snapshot is stale and the step must not act on the wrong node.
Status expectNodeId(const ClusterNodeEntry& me, const std::string& expected,
                    const std::string& address) {
  if (expected.empty() || me.id == expected) return Status::ok();
  return failedPrecondition(address + " is now node " + me.id.substr(0, 8) + ", plan expected " +
                            expected.substr(0, 8) + "; re-plan");
}

bool knowsNode(const std::vector<ClusterNodeEntry>& entries, const std::string& id) {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const ClusterNodeEntry& e) { return e.id == id && !e.handshake; });
}

// Connections owned by one parallel move, so threads never share a hiredis context.
struct MoveWorker {
  std::vector<std::unique_ptr<NodeClient>> owned;

  Result<NodeClient*> connect(redis::NodeConnector& connector, const std::string& address) {
    ASSIGN_OR_RETURN(auto client, connector.connect(address));
    owned.push_back(std::move(client));
    return owned.back().get();
  }
};

}  // namespace

Executor::Executor(redis::NodeConnector& connector, Clock& clock, ExecutorOptions options,
                   ProgressFn on_progress, StopFn should_stop)
    : connector_(connector),
      clock_(clock),
      options_(std::move(options)),
      on_progress_(std::move(on_progress)),
      should_stop_(std::move(should_stop)) {
  if (options_.move.clock == nullptr) options_.move.clock = &clock_;
}

Result<NodeClient*> Executor::clientFor(const std::string& address) {
  auto& slot = clients_[address];
  if (!slot) {
    ASSIGN_OR_RETURN(slot, connector_.connect(address));
  }
  return slot.get();
}

Result<std::vector<NodeClient*>> Executor::liveMasters(NodeClient& via) {
  ASSIGN_OR_RETURN(auto entries, via.clusterNodes());
  std::vector<NodeClient*> masters;
  for (const auto& e : entries) {
    if (!e.master || e.fail || e.handshake || e.noaddr || e.ip.empty()) continue;
    if (e.myself) {
      masters.push_back(&via);
      continue;
    }
    ASSIGN_OR_RETURN(NodeClient * client, clientFor(e.address()));
    masters.push_back(client);
  }
  return masters;
}

void Executor::reportProgress() {
  if (!on_progress_) return;
  progress_.slots_moved = counters_.slots_moved;
  progress_.keys_moved = counters_.keys_moved;
  progress_.elapsed_seconds = std::chrono::duration<double>(clock_.now() - started_).count();
  on_progress_(progress_);
}

Status Executor::run(const topology::Plan& plan, const topology::ObservedCluster& observed) {
  members_.clear();
  for (const auto& n : observed.nodes) {
    if (n.reachable) members_.push_back(n.address);
  }
  started_ = clock_.now();
  progress_ = {};
  progress_.steps_total = plan.steps.size();
  for (const auto& step : plan.steps) {
    if (const auto* move = std::get_if<topology::MoveSlotsStep>(&step)) {
      progress_.slots_total += move->slots.count();
    }
  }
  const auto& steps = plan.steps;
  for (size_t i = 0; i < steps.size();) {
    if (should_stop_ && should_stop_()) return aborted("stopped before step " + std::to_string(i));
    RETURN_IF_ERROR(checkWriteFence(options_.move));
    progress_.step_index = i;
    progress_.step = topology::describeStep(steps[i]);
    // Consecutive moves form one parallel batch.
    std::vector<topology::MoveSlotsStep> moves;
    size_t j = i;
    while (j < steps.size() && std::holds_alternative<topology::MoveSlotsStep>(steps[j])) {
      moves.push_back(std::get<topology::MoveSlotsStep>(steps[j++]));
    }
    // Consecutive settles towards the same owner from the same holders form one batch, so the
    // thousands of slots a killed run can leave open are repaired in a few round trips.
    std::vector<topology::SettleSlotStep> settles;
    while (moves.empty() && j < steps.size() &&
           std::holds_alternative<topology::SettleSlotStep>(steps[j])) {
      const auto& next = std::get<topology::SettleSlotStep>(steps[j]);
      if (!settles.empty() && !sameSettleBatch(settles.front(), next)) break;
      settles.push_back(next);
      ++j;
    }
    Status status;
    const auto step_started = clock_.now();
    const char* kind = !settles.empty() ? "settles"
                       : !moves.empty() ? "moves"
                       : std::holds_alternative<topology::WaitForAgreementStep>(steps[i])
                           ? "agreement"
                           : "other";
    if (!settles.empty()) {
      log::info("step", {{"index", i + 1},
                         {"of", steps.size()},
                         {"step", progress_.step},
                         {"batched_slots", settles.size()}});
      status = settleSlots(settles);
      i = j;
    } else if (!moves.empty()) {
      status = runMoves(moves);
      i = j;
    } else {
      log::info("step", {{"index", i + 1}, {"of", steps.size()}, {"step", progress_.step}});
      status = runStep(steps[i]);
      ++i;
    }
    seconds_by_step_[kind] += std::chrono::duration<double>(clock_.now() - step_started).count();
    reportProgress();
    if (!status.isOk()) return status.withContext(progress_.step);
  }
  return Status::ok();
}

Status Executor::runStep(const Step& step) {
  return std::visit(
      [this](const auto& s) -> Status {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, topology::SettleSlotStep>) return settleSlots({s});
        if constexpr (std::is_same_v<T, topology::MeetStep>) return meet(s);
        if constexpr (std::is_same_v<T, topology::AssignSlotsStep>) return assignSlots(s);
        if constexpr (std::is_same_v<T, topology::MoveSlotsStep>) return runMoves({s});
        if constexpr (std::is_same_v<T, topology::DetachReplicaStep>) return detachReplica(s);
        if constexpr (std::is_same_v<T, topology::ReplicateStep>) return replicate(s);
        if constexpr (std::is_same_v<T, topology::HandBackKeysStep>) return handBackKeys(s);
        if constexpr (std::is_same_v<T, topology::ForgetStep>) return forget(s);
        if constexpr (std::is_same_v<T, topology::WaitForAgreementStep>) {
          return waitForMembersToAgree(s);
        }
        return internalError("unknown step");
      },
      step);
}

Status Executor::waitForMembersToAgree(const topology::WaitForAgreementStep& what) {
  return waitForAgreement(connector_, members_, what, clock_, options_.agreement);
}

void Executor::announceToMembers(NodeClient& node) {
  std::vector<redis::Command> meets;
  for (const auto& address : members_) {
    if (address == node.address()) continue;
    auto target = redis::splitAddress(address);
    if (target.isOk()) {
      meets.push_back({"CLUSTER", "MEET", target->first, std::to_string(target->second)});
    }
  }
  if (meets.empty()) return;
  // Best effort: a member that misses it still learns through gossip, and the barrier after
  // the phase nudges whatever view still lags.
  auto replies = node.pipeline(meets);
  if (!replies.isOk()) {
    log::debug("announce failed",
               {{"from", node.address()}, {"error", replies.status().toString()}});
  }
}

// Runs one move end to end on connections of its own, to source and target only: the other
// masters learn the new owners once the whole batch of moves is done
// (tellMastersTheNewOwners).
static Status runOneMove(redis::NodeConnector& connector, const topology::MoveSlotsStep& move,
                         const MoveOptions& options, MoveCounters* counters,
                         const std::function<bool()>& should_stop, HandedOverSlots* handed) {
  MoveWorker worker;
  ASSIGN_OR_RETURN(NodeClient * source, worker.connect(connector, move.source_address));
  ASSIGN_OR_RETURN(NodeClient * target, worker.connect(connector, move.target_address));
  ASSIGN_OR_RETURN(auto source_me, readMyself(*source));
  RETURN_IF_ERROR(expectNodeId(source_me, move.source_id, move.source_address));
  ASSIGN_OR_RETURN(auto target_me, readMyself(*target));
  RETURN_IF_ERROR(expectNodeId(target_me, move.target_id, move.target_address));
  // A failover since the plan was made: the replica's claim-less view would make every slot
  // look moved already. The plan is stale; observe again.
  if (source_me.replica || target_me.replica) {
    return conflict("moving slots from " + move.source_address + " to " + move.target_address +
                    ": " + (source_me.replica ? move.source_address : move.target_address) +
                    " is a replica now (a failover?); observing and planning again");
  }

  // Only slots the source still owns are moved: a re-run after a crash skips finished ones.
  SlotSet owned = SlotSet::fromRanges(source_me.slots);
  std::vector<int> slots = (move.slots & owned).slots();
  counters->slots_moved +=
      static_cast<int64_t>(move.slots.count()) - static_cast<int64_t>(slots.size());
  if (slots.empty()) return Status::ok();

  // With replica migration allowed, a master that gives away its last slot turns itself into
  // a replica of the receiver in the middle of a drain; the engine decides roles itself.
  RETURN_IF_ERROR(source->configSet("cluster-allow-replica-migration", "no"));
  log::info("moving slots", {{"source", move.source_address},
                             {"target", move.target_address},
                             {"slots", static_cast<int>(slots.size())}});
  handed->target_id = move.target_id;
  handed->target_address = move.target_address;
  return moveSlots({source, move.source_id}, {target, move.target_id}, {}, slots, options, counters,
                   should_stop, &handed->slots);
}

// The moves told their sources and targets; every live master now learns all the new owners of
// the batch in one pipelined round trip, so a batch costs one round trip per master, not one per
// move and master. (Source and target are told again, which changes nothing.) Best effort past
// the write fence: a master that misses it learns from the new owners' gossip, whose claims carry
// newer config epochs, and the barrier after the moves waits until the masters agree.
Status Executor::tellMastersTheNewOwners(const std::vector<HandedOverSlots>& handed) {
  std::vector<redis::Command> assigns;
  std::string via_address;
  for (const auto& h : handed) {
    for (int slot : h.slots) {
      assigns.push_back({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", h.target_id});
    }
    if (!h.slots.empty() && via_address.empty()) via_address = h.target_address;
  }
  if (assigns.empty()) return Status::ok();
  auto via = clientFor(via_address);
  auto masters = via.isOk() ? liveMasters(**via) : Result<std::vector<NodeClient*>>(via.status());
  if (!masters.isOk()) {
    log::warn("other masters not told the new owners; gossip will tell them",
              {{"error", masters.status().toString()}});
    return Status::ok();
  }
  for (NodeClient* master : *masters) {
    RETURN_IF_ERROR(checkWriteFence(options_.move));
    auto replies = master->pipeline(assigns);
    std::string problem = replies.isOk() ? "" : replies.status().toString();
    for (size_t i = 0; replies.isOk() && problem.empty() && i < replies->size(); ++i) {
      if ((*replies)[i].isError()) problem = (*replies)[i].str;
    }
    failpoint("moves.master-told");
    if (problem.empty()) continue;
    log::warn("a master was not told the new owners; gossip will tell it",
              {{"node", master->address()}, {"error", problem}});
  }
  return Status::ok();
}

Status Executor::runMoves(const std::vector<topology::MoveSlotsStep>& moves) {
  // One lane per source master: a source serves one migration at a time anyway, while
  // different sources (and a shared target) proceed in parallel.
  std::map<std::string, std::vector<topology::MoveSlotsStep>> lanes;
  for (const auto& m : moves) lanes[m.source_address].push_back(m);
  for (const auto& m : moves) {
    log::info("step", {{"step", topology::describeStep(Step{m})}});
  }

  std::vector<std::future<Status>> results;
  const size_t max_lanes = static_cast<size_t>(std::max(1, options_.max_parallel_moves));
  std::vector<std::vector<topology::MoveSlotsStep>> lane_list;
  for (auto& [source, lane] : lanes) lane_list.push_back(std::move(lane));

  std::atomic<bool> failed{false};
  auto stop = [&] { return failed.load() || (should_stop_ && should_stop_()); };
  // Each lane records what its moves handed over in its own entry.
  std::vector<std::vector<HandedOverSlots>> handed(lane_list.size());
  for (size_t start = 0; start < lane_list.size(); start += max_lanes) {
    size_t end = std::min(lane_list.size(), start + max_lanes);
    for (size_t l = start; l < end; ++l) {
      results.push_back(std::async(std::launch::async, [&, l]() -> Status {
        for (const auto& move : lane_list[l]) {
          Status s = runOneMove(connector_, move, options_.move, &counters_, stop,
                                &handed[l].emplace_back());
          if (!s.isOk()) {
            failed = true;
            return s.withContext(topology::describeStep(Step{move}));
          }
        }
        return Status::ok();
      }));
    }
    // Report progress about once a second while this group of lanes runs.
    for (auto& r : results) {
      while (r.wait_for(std::chrono::seconds(1)) != std::future_status::ready) reportProgress();
    }
  }
  Status first_error;
  for (auto& r : results) {
    Status s = r.get();
    // A lane stopped because another failed reports Aborted; the real cause wins.
    if (!s.isOk() && (first_error.isOk() || first_error.code() == StatusCode::kAborted)) {
      first_error = s;
    }
  }
  // Also after a failed move: the waves it finished have their new owner.
  std::vector<HandedOverSlots> all;
  for (auto& lane : handed) std::move(lane.begin(), lane.end(), std::back_inserter(all));
  Status told = tellMastersTheNewOwners(all);
  return first_error.isOk() ? told : first_error;
}

// After a failover of a move's source, the importing node may see the slot with no owner: it
// skipped the promoted master's claim (it was importing the slot) and dropped the demoted
// source's. It then refuses RESTORE-ASKING ("Hash slot not served"), so before keys move it is
// told which key holder claims the slot now; its importing marker stays. (The holder may carry
// a MIGRATING marker by then, set by an earlier settle, so every holder is asked.)
Status Executor::pointUnboundSlotsAtHolder(NodeClient& owner, const topology::SettleSlotStep& first,
                                           const std::vector<int>& slots) {
  if (!first.finish || first.key_holders.empty()) return Status::ok();
  ASSIGN_OR_RETURN(auto view, owner.clusterNodes());
  const std::vector<std::string> owners = slotOwnersFrom(view);
  SlotSet unbound;
  for (int s : slots) {
    if (owners[static_cast<size_t>(s)].empty()) unbound.add(s);
  }
  for (const auto& holder_address : first.key_holders) {
    if (unbound.empty()) break;
    ASSIGN_OR_RETURN(NodeClient * holder, clientFor(holder_address));
    ASSIGN_OR_RETURN(auto holder_me, readMyself(*holder));
    if (!holder_me.master) continue;
    const SlotSet claimed = unbound & SlotSet::fromRanges(holder_me.slots);
    if (claimed.empty()) continue;
    RETURN_IF_ERROR(checkWriteFence(options_.move));
    log::warn("open slots without an owner on the importing node; pointing them at their holder",
              {{"slots", claimed.count()}, {"owner", owner.address()}, {"holder", holder_address}});
    RETURN_IF_ERROR(owner.clusterSetSlotsNode(claimed.slots(), holder_me.id));
    unbound = unbound - claimed;
  }
  return Status::ok();
}

// A master promoted in the middle of a move has no MIGRATING marker: for a key that already
// moved it answers "no such key" and a write creates a second copy. Marking the slots MIGRATING
// to the owner again before its keys move makes it send clients there with ASK for every key it
// lacks, as the old source did. Only the clients' view depends on it, so a refusal (the holder
// stopped claiming the slot meanwhile) is logged and the settle goes on.
Status Executor::remarkTakeoverHolder(NodeClient& holder, const topology::SettleSlotStep& first,
                                      const std::string& holder_address,
                                      const std::string& owner_id, const std::vector<int>& slots) {
  const bool took_over =
      std::count(first.takeover_holders.begin(), first.takeover_holders.end(), holder_address) > 0;
  if (!first.finish || !took_over) return Status::ok();
  RETURN_IF_ERROR(checkWriteFence(options_.move));
  Status marked = holder.clusterSetSlotsMigrating(slots, owner_id);
  log::info("marked open slots MIGRATING again on the master promoted mid-move",
            {{"holder", holder_address},
             {"slots", slots.size()},
             {"from", slots.front()},
             {"result", marked.isOk() ? std::string("ok") : marked.toString()}});
  return Status::ok();
}

// A move cannot be finished into an owner that is out of memory, and every later pass would
// try again into the same full node; the keys go back to where they came from instead (it held
// them a moment ago), so the cluster is as it was before the move and a capacity check decides
// what happens next.
Status Executor::settleSlots(const std::vector<topology::SettleSlotStep>& batch) {
  Status settled = settleSlotsOnce(batch);
  if (!batch.front().finish || !isDestinationOutOfMemory(settled)) return settled;
  auto rollback = rollbackOf(batch);
  if (!rollback.isOk()) {
    log::warn("open slots cannot be finished (owner out of memory) nor rolled back",
              {{"error", rollback.status().toString()}});
    return settled;
  }
  log::warn("the owner of open slots is out of memory; rolling them back to their source",
            {{"owner", batch.front().owner_address},
             {"source", rollback->front().owner_address},
             {"slots", batch.size()},
             {"error", settled.toString()}});
  return settleSlotsOnce(*rollback);
}

// The same open slots settled the other way: back to the key holder that still owns them, with
// the keys the owner already received.
Result<std::vector<topology::SettleSlotStep>> Executor::rollbackOf(
    const std::vector<topology::SettleSlotStep>& batch) {
  const topology::SettleSlotStep& first = batch.front();
  for (const auto& holder_address : first.key_holders) {
    ASSIGN_OR_RETURN(NodeClient * holder, clientFor(holder_address));
    ASSIGN_OR_RETURN(auto me, readMyself(*holder));
    const SlotSet owned = SlotSet::fromRanges(me.slots);
    const bool owns_all = me.master && std::all_of(batch.begin(), batch.end(), [&](const auto& s) {
                            return owned.contains(s.slot);
                          });
    if (!owns_all) continue;
    std::vector<topology::SettleSlotStep> out;
    for (topology::SettleSlotStep step : batch) {
      step.key_holders = {first.owner_address};
      for (const auto& other : first.key_holders) {
        if (other != holder_address) step.key_holders.push_back(other);
      }
      step.owner_address = holder_address;
      step.owner_id = me.id;
      step.finish = false;
      step.takeover_holders.clear();
      out.push_back(std::move(step));
    }
    return out;
  }
  return failedPrecondition("no master holding keys of the open slots owns them");
}

Status Executor::settleSlotsOnce(const std::vector<topology::SettleSlotStep>& batch) {
  const topology::SettleSlotStep& first = batch.front();
  std::vector<int> slots;
  for (const auto& step : batch) slots.push_back(step.slot);
  const std::string what =
      std::to_string(slots.size()) + " open slot(s) from " + std::to_string(slots.front());
  ASSIGN_OR_RETURN(NodeClient * owner, clientFor(first.owner_address));
  ASSIGN_OR_RETURN(auto owner_me, readMyself(*owner));
  RETURN_IF_ERROR(checkWriteFence(options_.move));
  RETURN_IF_ERROR(expectNodeId(owner_me, first.owner_id, first.owner_address));
  // Finishing a move: the holder (the old source, or the master promoted in its place) is the
  // copy that kept serving writes, so it wins a conflict. Rolling back: only byte-identical
  // copies may be replaced.
  BusyKeyPolicy policy = first.finish ? BusyKeyPolicy::kHolderWins : BusyKeyPolicy::kReplaceIfEqual;
  RETURN_IF_ERROR(pointUnboundSlotsAtHolder(*owner, first, slots));
  if (!first.finish) {
    // Rolling back to a source that is still MIGRATING: it would answer the RESTORE of each key
    // it lacks with ASK, so it serves the slot alone again (STABLE) before the keys come back.
    RETURN_IF_ERROR(checkWriteFence(options_.move));
    RETURN_IF_ERROR(owner->clusterSetSlotsStable(slots));
  }
  std::vector<NodeClient*> holders;
  for (const auto& holder_address : first.key_holders) {
    ASSIGN_OR_RETURN(NodeClient * holder, clientFor(holder_address));
    holders.push_back(holder);
    RETURN_IF_ERROR(remarkTakeoverHolder(*holder, first, holder_address, owner_me.id, slots));
    RETURN_IF_ERROR(migrateSlotKeys(*holder, *owner, slots, options_.move, policy, &counters_));
    // SETSLOT NODE on a node that does not own the slot succeeds even if it still holds keys
    // there, which would strand them; so emptiness is checked before ownership is settled.
    ASSIGN_OR_RETURN(auto left, holder->clusterCountKeysInSlots(slots));
    for (size_t k = 0; k < slots.size(); ++k) {
      if (left[k] != 0) {
        return failedPrecondition(holder_address + " still holds " + std::to_string(left[k]) +
                                  " keys of slot " + std::to_string(slots[k]));
      }
    }
  }
  ASSIGN_OR_RETURN(auto masters, liveMasters(*owner));
  RETURN_IF_ERROR(checkWriteFence(options_.move));
  RETURN_IF_ERROR(assignSlotsEverywhere({owner, owner_me.id}, masters, slots, options_.move));
  // A node that was importing keeps that marker when told another node owns the slot; STABLE
  // clears whatever marker is left now that ownership is settled.
  for (NodeClient* node : masters) RETURN_IF_ERROR(clearSlotMarkers(*node, slots));
  for (NodeClient* node : holders) RETURN_IF_ERROR(clearSlotMarkers(*node, slots));
  // Make the owner's claim win in gossip over any stale claim with an older epoch.
  (void)owner->command({"CLUSTER", "BUMPEPOCH"});
  log::info("settled open slots", {{"slots", what},
                                   {"owner", first.owner_address},
                                   {"action", first.finish ? "finished" : "rolled back"}});
  return Status::ok();
}

Status Executor::meet(const topology::MeetStep& step) {
  ASSIGN_OR_RETURN(NodeClient * via, clientFor(step.via_address));
  ASSIGN_OR_RETURN(auto entries, via->clusterNodes());
  if (!step.node_id.empty() && knowsNode(entries, step.node_id)) {
    // Already a member; if it moved to a new address, meeting it again updates the address.
    bool same_address = std::any_of(entries.begin(), entries.end(), [&](const auto& e) {
      return e.id == step.node_id && e.address() == step.address;
    });
    if (same_address) return Status::ok();
  }
  ASSIGN_OR_RETURN(auto target, redis::splitAddress(step.address));
  RETURN_IF_ERROR(via->clusterMeet(target.first, target.second));
  // Gossip alone takes tens of seconds to introduce several new nodes to a dozen members;
  // a direct MEET from every member completes each handshake in milliseconds.
  for (const auto& address : members_) {
    if (address == step.address || address == step.via_address) continue;
    auto member = clientFor(address);
    if (!member.isOk()) continue;  // the via MEET above is enough; gossip covers the rest
    Status s = (*member)->clusterMeet(target.first, target.second);
    if (!s.isOk()) log::debug("extra MEET failed", {{"from", address}, {"error", s.toString()}});
  }
  if (std::find(members_.begin(), members_.end(), step.address) == members_.end()) {
    members_.push_back(step.address);
  }
  return Status::ok();
}

// The planner calls a slot unassigned when no node claims it in its own view; the receiving node's
// view may still name a stale owner (gossip never clears one). Such a slot is taken only after
// that owner, asked directly, confirms it does not claim the slot itself.
Status Executor::confirmNotClaimedBy(const ClusterNodeEntry& owner, const SlotSet& slots) {
  ASSIGN_OR_RETURN(NodeClient * client, clientFor(owner.address()));
  auto me = readMyself(*client);
  if (!me.isOk()) {
    return conflict("cannot ask " + owner.address() + ", named as owner of slots " +
                    slots.toString() + ", whether it claims them: " + me.status().message());
  }
  RETURN_IF_ERROR(expectNodeId(*me, owner.id, owner.address()));
  const SlotSet claimed = SlotSet::fromRanges(me->slots) & slots;
  if (!claimed.empty()) {
    return conflict(owner.address() + " claims slots " + claimed.toString() + " again");
  }
  return Status::ok();
}

Status Executor::assignSlots(const topology::AssignSlotsStep& step) {
  ASSIGN_OR_RETURN(NodeClient * node, clientFor(step.address));
  ASSIGN_OR_RETURN(auto entries, node->clusterNodes());
  const ClusterNodeEntry* me = myselfIn(entries);
  if (me == nullptr) return internalError(step.address + " does not list itself");
  RETURN_IF_ERROR(expectNodeId(*me, step.node_id, step.address));
  SlotSet to_add = step.slots;
  SlotSet to_take;
  for (const auto& e : entries) {
    const SlotSet named = SlotSet::fromRanges(e.slots) & step.slots;
    if (named.empty()) continue;
    to_add = to_add - named;
    if (e.myself) continue;
    RETURN_IF_ERROR(confirmNotClaimedBy(e, named));
    to_take = to_take | named;
  }
  if (to_add.empty() && to_take.empty()) return Status::ok();
  RETURN_IF_ERROR(checkWriteFence(options_.move));
  if (!to_add.empty()) RETURN_IF_ERROR(node->clusterAddSlotsRange(to_add.ranges()));
  if (!to_take.empty()) {
    log::warn("claiming slots that another node's stale entry still names",
              {{"node", step.address}, {"slots", to_take.toString()}});
    RETURN_IF_ERROR(node->clusterSetSlotsNode(to_take.slots(), me->id));
  }
  // Neither ADDSLOTS nor SETSLOT NODE on an unopened slot raises the node's config epoch, and a
  // member whose stale entry carries a newer epoch would ignore the claim for ever.
  (void)node->command({"CLUSTER", "BUMPEPOCH"});
  return Status::ok();
}

Status Executor::detachReplica(const topology::DetachReplicaStep& step) {
  ASSIGN_OR_RETURN(NodeClient * node, clientFor(step.address));
  ASSIGN_OR_RETURN(auto me, readMyself(*node));
  RETURN_IF_ERROR(expectNodeId(me, step.node_id, step.address));
  if (me.master) {
    if (me.slots.empty()) return Status::ok();  // already detached
    return failedPrecondition(step.address + " is a master holding slots; refusing to reset it");
  }
  // A replica's dataset is a copy of its master's; a soft reset makes it an empty master.
  return node->clusterResetSoft();
}

Status Executor::replicate(const topology::ReplicateStep& step) {
  ASSIGN_OR_RETURN(NodeClient * node, clientFor(step.address));
  ASSIGN_OR_RETURN(auto me, readMyself(*node));
  RETURN_IF_ERROR(expectNodeId(me, step.node_id, step.address));
  if (me.replica && me.master_id == step.master_id) return Status::ok();
  if (!me.slots.empty()) {
    return failedPrecondition(step.address + " still holds slots; it must be drained first");
  }
  // The barrier after the join phase makes sure the node knows its master; a node met by an
  // earlier run may still be learning it, which takes a moment at most.
  const auto deadline = clock_.now() + options_.agreement.timeout;
  Status s = node->clusterReplicate(step.master_id);
  while (!s.isOk() && s.message().find("Unknown node") != std::string::npos &&
         clock_.now() < deadline) {
    clock_.sleepFor(options_.agreement.poll_interval);
    s = node->clusterReplicate(step.master_id);
  }
  RETURN_IF_ERROR(s);
  // Its master and every other member would otherwise learn the new role only from the
  // replica's periodic pings, seconds later.
  announceToMembers(*node);
  return Status::ok();
}

// The keys of a slotless master go back, slot by slot, to the owner its own view names. The node
// marks those slots IMPORTING (MIGRATE runs on a node only for slots it owns or has open), moves
// their keys with the owner's copy winning, and makes them STABLE again.
Status Executor::handBackKeys(const topology::HandBackKeysStep& step) {
  ASSIGN_OR_RETURN(NodeClient * node, clientFor(step.address));
  ASSIGN_OR_RETURN(auto view, node->clusterNodes());
  const ClusterNodeEntry* me = myselfIn(view);
  if (me == nullptr) return internalError(step.address + " does not list itself");
  RETURN_IF_ERROR(expectNodeId(*me, step.node_id, step.address));
  if (!me->master || !me->slots.empty()) {
    return conflict(step.address + " is no longer a master without slots; planning again");
  }
  std::vector<int> all(kSlotCount);
  for (int s = 0; s < kSlotCount; ++s) all[static_cast<size_t>(s)] = s;
  ASSIGN_OR_RETURN(auto counts, node->clusterCountKeysInSlots(all));
  const std::vector<std::string> owners = slotOwnersFrom(view);
  std::map<std::string, std::vector<int>> slots_by_owner;
  for (int s = 0; s < kSlotCount; ++s) {
    if (counts[static_cast<size_t>(s)] == 0) continue;
    const std::string& owner = owners[static_cast<size_t>(s)];
    if (owner.empty()) {
      return failedPrecondition(step.address + " holds keys of slot " + std::to_string(s) +
                                ", which no node serves; waiting for the slot to be assigned");
    }
    slots_by_owner[owner].push_back(s);
  }
  for (const auto& [owner_id, slots] : slots_by_owner) {
    std::string owner_address;
    for (const auto& e : view) {
      if (e.id == owner_id) owner_address = e.address();
    }
    ASSIGN_OR_RETURN(NodeClient * owner, clientFor(owner_address));
    log::warn("handing keys of a master without slots back to their owner",
              {{"node", step.address}, {"owner", owner_address}, {"slots", slots.size()}});
    RETURN_IF_ERROR(checkWriteFence(options_.move));
    RETURN_IF_ERROR(node->clusterSetSlotsImporting(slots, owner_id));
    RETURN_IF_ERROR(migrateSlotKeys(*node, *owner, slots, options_.move,
                                    BusyKeyPolicy::kDestinationWins, &counters_));
    RETURN_IF_ERROR(node->clusterSetSlotsStable(slots));
  }
  return Status::ok();
}

Status Executor::forget(const topology::ForgetStep& step) {
  if (step.reachable && !step.address.empty()) {
    ASSIGN_OR_RETURN(NodeClient * node, clientFor(step.address));
    ASSIGN_OR_RETURN(auto me, readMyself(*node));
    RETURN_IF_ERROR(expectNodeId(me, step.node_id, step.address));
    if (!me.slots.empty()) {
      return failedPrecondition("refusing to forget " + step.address + ": it still holds slots " +
                                SlotSet::fromRanges(me.slots).toString());
    }
  }
  for (const auto& address : members_) {
    if (address == step.address) continue;
    ASSIGN_OR_RETURN(NodeClient * member, clientFor(address));
    Status s = member->clusterForget(step.node_id);
    if (!s.isOk() && s.message().find("Unknown node") == std::string::npos) {
      return s.withContext("CLUSTER FORGET on " + address);
    }
  }
  std::erase(members_, step.address);
  if (!step.reachable || step.address.empty()) return Status::ok();
  // The removed node still knows every member and would gossip itself back once the forget
  // ban expires; a soft reset makes it forget them (it holds no slots, checked above).
  ASSIGN_OR_RETURN(NodeClient * node, clientFor(step.address));
  ASSIGN_OR_RETURN(int64_t keys, node->dbSize());
  ASSIGN_OR_RETURN(auto me, readMyself(*node));
  if (me.master && keys > 0) {
    log::warn("forgotten node still holds keys; leaving it as it is",
              {{"node", step.address}, {"keys", keys}});
    return Status::ok();
  }
  return node->clusterResetSoft();
}

}  // namespace slotkeeper::engine
