// Performs a plan against live nodes one step at a time. Every step re-reads the live state it
// depends on and is idempotent, so a run killed at any instant can be followed by a fresh
// observe → plan → execute that finishes the job. The first error stops the whole run.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "engine/agreement.h"
#include "engine/slot_mover.h"
#include "redis/node_client.h"
#include "topology/plan.h"

namespace slotkeeper::engine {

struct ExecutorOptions {
  MoveOptions move;
  AgreementOptions agreement;
  // Moves from different source masters run in parallel, up to this many at once.
  int max_parallel_moves = 4;
};

// What one move handed over: the slots it gave target, as owned and routed by target and source.
struct HandedOverSlots {
  std::string target_id;
  std::string target_address;
  std::vector<int> slots;
};

struct ExecutionProgress {
  size_t step_index = 0;  // 0-based index of the running step
  size_t steps_total = 0;
  std::string step;  // describeStep() of the running step
  int64_t slots_total = 0;
  int64_t slots_moved = 0;
  int64_t keys_moved = 0;
  double elapsed_seconds = 0;
};

class Executor {
 public:
  using ProgressFn = std::function<void(const ExecutionProgress&)>;
  using StopFn = std::function<bool()>;

  Executor(redis::NodeConnector& connector, Clock& clock, ExecutorOptions options,
           ProgressFn on_progress = {}, StopFn should_stop = {});

  // `observed` is the state the plan was made from; its reachable nodes are the members that
  // must agree between phases and learn every slot's new owner.
  Status run(const topology::Plan& plan, const topology::ObservedCluster& observed);

  // Totals over every run of this executor.
  int64_t slotsMoved() const { return counters_.slots_moved; }
  int64_t keysMoved() const { return counters_.keys_moved; }
  // Keys found on both sides of a move and resolved by the settle rule (docs/architecture.md).
  int64_t keyConflicts() const { return counters_.key_conflicts; }
  // Seconds spent in each kind of step over every run ("agreement", "moves", "settles",
  // "other"), to show where a change's time goes.
  const std::map<std::string, double>& secondsByStep() const { return seconds_by_step_; }

 private:
  Status runStep(const topology::Step& step);
  Status runMoves(const std::vector<topology::MoveSlotsStep>& moves);
  Status tellMastersTheNewOwners(const std::vector<HandedOverSlots>& handed);
  Status pointUnboundSlotsAtHolder(redis::NodeClient& owner, const topology::SettleSlotStep& first,
                                   const std::vector<int>& slots);
  Status remarkTakeoverHolder(redis::NodeClient& holder, const topology::SettleSlotStep& first,
                              const std::string& holder_address, const std::string& owner_id,
                              const std::vector<int>& slots);
  Status settleSlots(const std::vector<topology::SettleSlotStep>& batch);
  Status settleSlotsOnce(const std::vector<topology::SettleSlotStep>& batch);
  Result<std::vector<topology::SettleSlotStep>> rollbackOf(
      const std::vector<topology::SettleSlotStep>& batch);
  Status meet(const topology::MeetStep& step);
  Status assignSlots(const topology::AssignSlotsStep& step);
  Status confirmNotClaimedBy(const redis::ClusterNodeEntry& owner, const SlotSet& slots);
  Status detachReplica(const topology::DetachReplicaStep& step);
  Status replicate(const topology::ReplicateStep& step);
  Status handBackKeys(const topology::HandBackKeysStep& step);
  Status forget(const topology::ForgetStep& step);
  Status waitForMembersToAgree(const topology::WaitForAgreementStep& what);
  // `node` sends CLUSTER MEET to every other member: each receiver learns its current role and
  // slots from that one packet instead of waiting for gossip to pass them on.
  void announceToMembers(redis::NodeClient& node);

  Result<redis::NodeClient*> clientFor(const std::string& address);
  // The live masters (not failing) as `via` sees them, as connected clients.
  Result<std::vector<redis::NodeClient*>> liveMasters(redis::NodeClient& via);
  void reportProgress();

  redis::NodeConnector& connector_;
  Clock& clock_;
  ExecutorOptions options_;
  ProgressFn on_progress_;
  StopFn should_stop_;
  std::map<std::string, std::unique_ptr<redis::NodeClient>> clients_;
  std::vector<std::string> members_;
  MoveCounters counters_;
  ExecutionProgress progress_;
  std::map<std::string, double> seconds_by_step_;
  Clock::TimePoint started_{};
};

}  // namespace slotkeeper::engine
