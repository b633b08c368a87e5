// Live slot migration between two masters, batched for speed: slot states are set for a whole
// wave of slots in one pipelined round trip, keys move in large MIGRATE batches pipelined across
// slots, and ownership is handed over with pipelined SETSLOT NODE on every master.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "redis/node_client.h"

namespace slotkeeper::engine {

struct MoveOptions {
  int batch_keys = 1000;         // keys per MIGRATE
  int slots_per_wave = 2048;     // slots opened (IMPORTING/MIGRATING) at once
  int slots_per_pipeline = 128;  // slots whose MIGRATEs share a round trip (keys are listed
                                 // for at least 16 slots per round trip)
  std::chrono::milliseconds migrate_timeout{60000};
  // The most any MIGRATE may wait for the target (0: no limit). The source runs nothing else
  // while it waits, and its peers fail it over once that outlasts cluster-node-timeout, so a
  // paused or stalled target must not hold it that long.
  std::chrono::milliseconds migrate_timeout_cap{0};
  std::string password;  // AUTH for MIGRATE when the cluster has requirepass
  // The write fence, asked before every batch of writes (SETSLOT, MIGRATE): false stops the
  // move at once with Aborted, leaving the current wave's slots open for whoever holds the
  // right to write next to settle. Empty = always allowed (the CLI). Must be thread-safe:
  // parallel moves ask it from their own threads.
  std::function<bool()> may_write;
  // How long a new owner may take to hear, by gossip, of the newest config epoch among the masters
  // before it claims slots (see assignSlotsEverywhere), and the clock that waits (nullptr: real
  // time).
  std::chrono::milliseconds epoch_catch_up{10000};
  Clock* clock = nullptr;
};

// True for a transfer the destination refused because it is at its maxmemory (Redis's OOM
// reply to the RESTORE that MIGRATE sends).
bool isDestinationOutOfMemory(const Status& status);

// Aborted, unless `options` allows writing now.
Status checkWriteFence(const MoveOptions& options);

// Shared, thread-safe progress counters (several moves may run in parallel).
struct MoveCounters {
  std::atomic<int64_t> slots_moved{0};
  std::atomic<int64_t> keys_moved{0};
  std::atomic<int64_t> key_conflicts{0};  // keys found on both sides and resolved by the policy
};

// A node taking part in a move, with the id the cluster knows it by.
struct MoveNode {
  redis::NodeClient* client = nullptr;
  std::string id;
};

// What happens to a key that exists on both sides of a transfer (MIGRATE answers BUSYKEY).
enum class BusyKeyPolicy {
  // Moving forward (a move, or finishing an open one): the holder's copy replaces the
  // destination's. While a slot is MIGRATING the holder keeps serving every key it has and sends
  // clients to the destination only for keys it lacks, so the destination's copy is a leftover
  // of a transfer whose reply was lost, at best as new. After a failover the holder is the
  // promoted master, whose data set Redis made the truth. Copies that differ are counted in
  // MoveCounters::key_conflicts.
  kHolderWins,
  // Rolling a move back: only byte-identical copies are replaced; a difference stops the move.
  kReplaceIfEqual,
  // Handing keys back from a master that lost its slots: the owner's copy is what clients were
  // served, so it stays and the holder's is dropped (counted in MoveCounters::key_conflicts
  // when they differ).
  kDestinationWins,
};

// Moves `slots` (owned by source) to target. `masters` are the other masters to tell each wave's
// new owner right away (source and target are always told, target first); a caller that tells
// them later, in one round trip for many moves, passes none. Each wave's slots are appended to
// `assigned` (when given) once target and source own and route them. Stops at the first error,
// leaving the current wave's slots open for a later run to settle. Before each wave it checks
// that source and target are still the masters the plan names; a failover since (or a MOVED
// reply to MIGRATE) ends the move with Conflict: observe and plan again.
Status moveSlots(const MoveNode& source, const MoveNode& target,
                 const std::vector<redis::NodeClient*>& masters, const std::vector<int>& slots,
                 const MoveOptions& options, MoveCounters* counters,
                 const std::function<bool()>& should_stop = {},
                 std::vector<int>* assigned = nullptr);

// Moves every key of `slots` that `holder` has to `destination`, until the holder has none.
Status migrateSlotKeys(redis::NodeClient& holder, redis::NodeClient& destination,
                       const std::vector<int>& slots, const MoveOptions& options,
                       BusyKeyPolicy policy, MoveCounters* counters);

// SETSLOT s STABLE on a node that is not the slots' owner. A node demoted by a failover since it
// was read answers "SETSLOT only with masters"; Redis closed its open slots when it became a
// replica, so there is nothing left to clear and that answer counts as done.
Status clearSlotMarkers(redis::NodeClient& node, const std::vector<int>& slots);

// SETSLOT s NODE owner on the owner first, then on every other node in `others`. The owner first
// waits (up to options.epoch_catch_up) until it has heard of the newest config epoch among
// `others`, and afterwards holds a newer one: otherwise a node that still claims the slots could
// win them back by gossip before it is told, and the owner would drop the keys it received.
Status assignSlotsEverywhere(const MoveNode& owner, const std::vector<redis::NodeClient*>& others,
                             const std::vector<int>& slots, const MoveOptions& options);

}  // namespace slotkeeper::engine
