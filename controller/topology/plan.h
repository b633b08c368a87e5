// The planner's output: an ordered list of steps, and the pure function that computes it.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "topology/model.h"

namespace slotkeeper::topology {

// Bring an open (MIGRATING/IMPORTING) slot to a single owner: move every key of the slot that
// sits on `key_holders` to the owner, then SETSLOT NODE owner on every master.
struct SettleSlotStep {
  int slot = 0;
  std::string owner_address;
  std::string owner_id;
  std::vector<std::string> key_holders;  // masters other than the owner that may hold keys
  bool finish = true;                    // true: completes the move; false: rolls it back
  // Key holders that took the slot over after it was opened: a replica of the source promoted
  // mid-move, which has no MIGRATING marker (it is marked again before its keys move). Where the
  // owner has a key too, the holder's copy wins, as the old source's would: after the failover
  // clients wrote there, and its data set is what Redis's failover made the truth.
  std::vector<std::string> takeover_holders{};
};

// CLUSTER MEET issued on `via_address` (a member) towards `address`.
struct MeetStep {
  std::string address;
  std::string node_id;
  std::string via_address;
};

// CLUSTER ADDSLOTSRANGE on a master, for slots no node owns (new cluster, or lost slots).
struct AssignSlotsStep {
  std::string address;
  std::string node_id;
  SlotSet slots;
};

// Live migration of slots (and their keys) between two masters.
struct MoveSlotsStep {
  std::string source_address;
  std::string source_id;
  std::string target_address;
  std::string target_id;
  SlotSet slots;
};

// Turns a replica into an empty master with CLUSTER RESET SOFT (its data is a copy), so it can
// take a master's place in its shard; it is met back into the cluster by the next MeetStep.
struct DetachReplicaStep {
  std::string address;
  std::string node_id;
};

// CLUSTER REPLICATE master_id on a node that holds no slots.
struct ReplicateStep {
  std::string address;
  std::string node_id;
  std::string master_id;
  std::string master_address;
};

// A master that holds keys but no slots (it lost them to a higher epoch, e.g. a forced failover
// racing a move, while replica migration is off) gives every key back to the owner of its slot,
// where the owner lacks it; where the owner has it, the owner's copy stays. The node is then
// empty and is re-pointed as any other.
struct HandBackKeysStep {
  std::string address;
  std::string node_id;
};

// CLUSTER FORGET node_id on every remaining member; if the node is reachable it is also reset
// so it does not gossip itself back. Only for nodes outside the desired set holding no slots.
struct ForgetStep {
  std::string node_id;
  std::string address;  // empty when unknown
  bool reachable = false;
};

// A replica link a barrier waits for: the replica names the master as its own, and the master
// lists the replica as one of its replicas.
struct ReplicaLink {
  std::string replica_address;
  std::string master_address;
  std::string master_id;
};

// Barrier between phases. Each field adds one condition, so a barrier waits only for what the
// steps after it rely on; a barrier with no condition at all waits for full agreement (every
// member knows every member and every role, one slot map everywhere, cluster_state:ok).
struct WaitForAgreementStep {
  // Whose view of the slot map must match every master's own claim (no open slot either).
  enum class SlotViews { kNone, kMasters, kEveryMember };

  // Each of these nodes and every member know one another by id, handshake finished: until
  // then a node refuses SETSLOT and REPLICATE that name the other one.
  std::vector<std::string> joined;
  SlotViews slot_map = SlotViews::kNone;
  // These nodes report cluster_state:ok once every slot has an owner. A master that joined
  // moments ago stays "fail" for a while (Redis's rejoin delay) and answers CLUSTERDOWN,
  // to clients and to the RESTORE-ASKING of a MIGRATE alike.
  std::vector<std::string> serving;
  std::vector<ReplicaLink> replica_links;
  // These replicas report master_link_status:up with no sync in progress: they hold a copy of
  // their master's data and follow its stream.
  std::vector<std::string> synced;
  // Ids no member may list any more.
  std::vector<std::string> forgotten;

  bool waitsForEverything() const {
    return joined.empty() && slot_map == SlotViews::kNone && serving.empty() &&
           replica_links.empty() && synced.empty() && forgotten.empty();
  }
};

using Step =
    std::variant<SettleSlotStep, MeetStep, AssignSlotsStep, MoveSlotsStep, DetachReplicaStep,
                 ReplicateStep, HandBackKeysStep, ForgetStep, WaitForAgreementStep>;

struct Plan {
  std::vector<Step> steps;
  bool empty() const { return steps.empty(); }
};

// Computes the steps that take `observed` to `desired`. Pure: same input, same plan.
// Refusals (unsafe or impossible requests) come back as InvalidArgument (the request itself is
// wrong) or FailedPrecondition (the cluster is not in a state where it can be done now).
Result<Plan> makePlan(const ObservedCluster& observed, const DesiredShape& desired);

// One line for people: "move 1365 slots 0-1364 from 127.0.0.1:7000 (ab12..) to ...".
std::string describeStep(const Step& step);

// The even split: slot counts per master for `masters` masters (the remainder spread one each).
std::vector<int> evenSlotCounts(int masters);

}  // namespace slotkeeper::topology
