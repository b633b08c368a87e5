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
  std::vector<std::string> key_holders;  // addresses other than the owner that may hold keys
  bool finish = true;                    // true: completes the move; false: rolls it back
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

// CLUSTER FORGET node_id on every remaining member; if the node is reachable it is also reset
// so it does not gossip itself back. Only for nodes outside the desired set holding no slots.
struct ForgetStep {
  std::string node_id;
  std::string address;  // empty when unknown
  bool reachable = false;
};

// Barrier: every member reports the same slot map and cluster_state:ok.
struct WaitForAgreementStep {};

using Step = std::variant<SettleSlotStep, MeetStep, AssignSlotsStep, MoveSlotsStep,
                          DetachReplicaStep, ReplicateStep, ForgetStep, WaitForAgreementStep>;

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
