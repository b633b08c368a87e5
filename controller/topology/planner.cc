// makePlan: validate the request, refuse what is unsafe now, settle open slots, and otherwise
// order the steps that take the observed cluster to the desired shape:
// join -> assign uncovered slots -> move slots -> replicate -> forget, each phase followed by a
// wait for the agreement the later phases need.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "topology/cluster_view.h"
#include "topology/master_choice.h"
#include "topology/open_slots.h"
#include "topology/plan.h"
#include "topology/rebalance.h"
#include "topology/replica_assignment.h"

namespace slotkeeper::topology {
namespace {

std::string nodeName(const NodeView& node) {
  return node.address().empty() ? node.id() : node.address();
}

std::string plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// ---- InvalidArgument: the request itself is wrong ----

bool hasShard(const DesiredNode& node) { return node.shard >= 0; }

Status validateShards(const DesiredShape& desired) {
  const bool any = std::any_of(desired.nodes.begin(), desired.nodes.end(), hasShard);
  if (!any) return Status::ok();
  std::map<int, int> sizes;
  for (const auto& node : desired.nodes) {
    if (!hasShard(node)) {
      return invalidArgument("shards must be given for every node or for none; " + node.address +
                             " has none");
    }
    if (node.shard >= desired.masters) {
      return invalidArgument("node " + node.address + " has shard " + std::to_string(node.shard) +
                             ", outside 0.." + std::to_string(desired.masters - 1));
    }
    ++sizes[node.shard];
  }
  const int expected = 1 + desired.replicas_per_master;
  for (int shard = 0; shard < desired.masters; ++shard) {
    if (sizes[shard] != expected) {
      return invalidArgument("shard " + std::to_string(shard) + " has " +
                             plural(sizes[shard], "node") + ", expected " +
                             std::to_string(expected) + " (a master and " +
                             plural(desired.replicas_per_master, "replica") + ")");
    }
  }
  return Status::ok();
}

Status validateShape(const DesiredShape& desired) {
  if (desired.masters < 3) {
    return invalidArgument("a Redis Cluster needs at least 3 masters, got " +
                           std::to_string(desired.masters));
  }
  if (desired.masters > kSlotCount) {
    return invalidArgument("a Redis Cluster can have at most " + std::to_string(kSlotCount) +
                           " masters, got " + std::to_string(desired.masters));
  }
  if (desired.replicas_per_master < 0) {
    return invalidArgument("replicas per master must be 0 or more, got " +
                           std::to_string(desired.replicas_per_master));
  }
  std::set<std::string> addresses;
  for (const auto& node : desired.nodes) {
    if (node.address.empty()) return invalidArgument("a desired node has no address");
    if (!addresses.insert(node.address).second) {
      return invalidArgument("address " + node.address + " is listed twice");
    }
  }
  const int64_t needed = int64_t{desired.masters} * (1 + int64_t{desired.replicas_per_master});
  if (static_cast<int64_t>(desired.nodes.size()) != needed) {
    return invalidArgument(std::to_string(desired.masters) + " masters × (1+" +
                           std::to_string(desired.replicas_per_master) + ") replicas need " +
                           std::to_string(needed) + " nodes, got " +
                           std::to_string(desired.nodes.size()));
  }
  return validateShards(desired);
}

// ---- FailedPrecondition: not safe or not possible right now ----

// A node joining by MEET would have its keys orphaned (they sit in slots it does not own) and
// later wiped; the user has to decide what that data is.
Status checkNewcomersAreEmpty(const ClusterView& view) {
  for (int i = 0; i < view.desired_count; ++i) {
    const NodeView& node = view.nodes[static_cast<size_t>(i)];
    if (node.observed.keys > 0 && (!view.formed || !node.in_cluster)) {
      return failedPrecondition(
          "node " + node.address() + " is not part of the cluster but holds " +
          plural(node.observed.keys, "key") +
          "; empty it by hand before it joins (its data is never overwritten)");
    }
  }
  return Status::ok();
}

// Slots on a node nobody can reach cannot be migrated; their keys would be lost.
Status checkDrainsReachable(const ClusterView& view) {
  for (size_t i = static_cast<size_t>(view.desired_count); i < view.nodes.size(); ++i) {
    const NodeView& node = view.nodes[i];
    if (node.holdsSlots() && !node.observed.reachable) {
      return failedPrecondition("node " + nodeName(node) + " holds " +
                                plural(node.observed.slots.count(), "slot") +
                                " and must be drained, but it is unreachable");
    }
  }
  if (view.anchor < 0) return failedPrecondition("no reachable node holds slots");
  return Status::ok();
}

// Two masters claiming one slot (a stale view after a failover, outside any migration): the
// planner cannot know whose keys are current, so it waits for gossip to settle it.
// An unreachable node whose peers disagree about its slots or role: forgetting it or giving its
// slots to another master on one peer's word could split the cluster's brain.
Status checkPeerViewsAgree(const ClusterView& view) {
  for (const auto& node : view.nodes) {
    if (node.observed.reachable || !node.observed.peer_views_disagree) continue;
    return failedPrecondition("the members disagree about unreachable node " + nodeName(node) +
                              " (its slots or role); nothing is forgotten or reassigned until "
                              "it answers or their views agree");
  }
  return Status::ok();
}

Status checkSingleOwnerPerSlot(const ClusterView& view) {
  std::vector<int> owner(kSlotCount, -1);
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    for (int slot : view.nodes[i].observed.slots.slots()) {
      int& current = owner[static_cast<size_t>(slot)];
      if (current >= 0) {
        return failedPrecondition("slot " + std::to_string(slot) + " is claimed by both " +
                                  nodeName(view.nodes[static_cast<size_t>(current)]) + " and " +
                                  nodeName(view.nodes[i]) + "; waiting for the cluster to agree");
      }
      current = static_cast<int>(i);
    }
  }
  return Status::ok();
}

// A slot no node claims but whose keys sit on a master (a failover cut a move short, or an owner
// dropped the slot) goes to that master: any other owner would leave the keys unreachable, and
// Redis deletes keys in a slot their node loses to a newer claim. Keys on two masters cannot both
// be served; which copy is current is not known, so that waits for a person.
Result<std::optional<Plan>> planUnclaimedKeys(const ClusterView& view) {
  std::map<int, std::vector<int>> slots_of;  // node index -> unclaimed slots it holds keys in
  std::vector<int> holder(kSlotCount, -1);
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    for (int slot : view.nodes[i].observed.keys_in_unclaimed_slots.slots()) {
      int& first = holder[static_cast<size_t>(slot)];
      if (first >= 0) {
        return failedPrecondition(
            "slot " + std::to_string(slot) + " is claimed by no node, and both " +
            nodeName(view.nodes[static_cast<size_t>(first)]) + " and " + nodeName(view.nodes[i]) +
            " hold keys in it; keep one copy (move or delete the other's keys) and it is assigned "
            "to the node left holding them");
      }
      first = static_cast<int>(i);
      slots_of[first].push_back(slot);
    }
  }
  if (slots_of.empty()) return std::optional<Plan>();
  Plan plan;
  for (const auto& [index, slots] : slots_of) {
    const NodeView& node = view.nodes[static_cast<size_t>(index)];
    SlotSet set;
    for (int slot : slots) set.add(slot);
    plan.steps.push_back(AssignSlotsStep{node.address(), node.id(), set});
  }
  WaitForAgreementStep barrier;
  barrier.slot_map = WaitForAgreementStep::SlotViews::kEveryMember;
  plan.steps.push_back(std::move(barrier));
  return std::optional<Plan>(std::move(plan));
}

// CLUSTER REPLICATE and CLUSTER RESET both refuse (or would wipe) a master with keys. A master
// without slots but with keys holds data no client can reach: it gives the keys back to their
// slots' owners first (the plan is only that), and is re-pointed once it is empty. One that is
// unreachable cannot, and waits.
Result<std::optional<Plan>> planOrphanKeys(const ClusterView& view, const MasterChoice& choice) {
  Plan plan;
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    const NodeView& node = view.nodes[i];
    const bool stays_master = choice.isMaster(static_cast<int>(i));
    if (stays_master || node.isReplica() || node.holdsSlots() || node.observed.keys == 0) continue;
    if (!node.observed.reachable) {
      return failedPrecondition("node " + nodeName(node) + " is a master with " +
                                plural(node.observed.keys, "key") +
                                " but no slots, and unreachable; waiting for it");
    }
    plan.steps.push_back(HandBackKeysStep{node.address(), node.id()});
  }
  if (plan.empty()) return std::optional<Plan>();
  return std::optional<Plan>(std::move(plan));
}

// ---- The steps of a convergence plan ----

// One phase of a convergence plan and the barrier that follows it.
struct Phase {
  std::vector<Step> steps;
  WaitForAgreementStep barrier;
};

bool contains(const std::vector<int>& list, int value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Replicas promoted to masters are reset and met again; desired nodes the cluster does not know
// (or knows at an old address) are met through the anchor.
std::vector<Step> joinSteps(const ClusterView& view, const MasterChoice& choice) {
  std::vector<Step> steps;
  const NodeView& anchor = view.nodes[static_cast<size_t>(view.anchor)];
  // When the anchor itself is reset or has a new address, nobody can reach it by gossip alone.
  const bool anchor_lost = contains(choice.detached, view.anchor) || anchor.known_elsewhere;
  auto meet = [&](const NodeView& node) {
    return MeetStep{node.address(), node.id(), anchor.address()};
  };
  for (int index : choice.detached) {
    const NodeView& node = view.nodes[static_cast<size_t>(index)];
    steps.push_back(DetachReplicaStep{node.address(), node.id()});
    if (index != view.anchor) steps.push_back(meet(node));
  }
  for (int i = 0; i < view.desired_count; ++i) {
    const NodeView& node = view.nodes[static_cast<size_t>(i)];
    if (i == view.anchor || contains(choice.detached, i)) continue;
    if (anchor_lost || !node.in_cluster || node.known_elsewhere) steps.push_back(meet(node));
  }
  return steps;
}

struct SlotSteps {
  std::vector<Step> assigns;
  std::vector<Step> moves;
};

// Accounts are the chosen masters (even targets) followed by every other slot holder (target
// 0, drained); the transfers between them become AssignSlots and MoveSlots steps.
Result<SlotSteps> slotSteps(const ClusterView& view, const MasterChoice& choice) {
  std::vector<int> holders = choice.masters;
  std::vector<int> counts;
  for (int index : choice.masters) {
    counts.push_back(view.nodes[static_cast<size_t>(index)].observed.slots.count());
  }
  std::vector<int> targets = evenTargets(counts);
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    if (view.nodes[i].holdsSlots() && !choice.isMaster(static_cast<int>(i))) {
      holders.push_back(static_cast<int>(i));
      targets.push_back(0);
    }
  }
  std::vector<SlotAccount> accounts;
  SlotSet uncovered = SlotSet::all();
  for (size_t a = 0; a < holders.size(); ++a) {
    const SlotSet& slots = view.nodes[static_cast<size_t>(holders[a])].observed.slots;
    accounts.push_back({slots, targets[a]});
    uncovered = uncovered - slots;
  }
  ASSIGN_OR_RETURN(auto transfers, planSlotTransfers(accounts, uncovered));

  SlotSteps out;
  std::vector<MoveSlotsStep> moves;
  for (const auto& t : transfers) {
    const NodeView& to = view.nodes[static_cast<size_t>(holders[static_cast<size_t>(t.to)])];
    if (t.from == kUncovered) {
      out.assigns.push_back(AssignSlotsStep{to.address(), to.id(), t.slots});
      continue;
    }
    const NodeView& from = view.nodes[static_cast<size_t>(holders[static_cast<size_t>(t.from)])];
    moves.push_back(MoveSlotsStep{from.address(), from.id(), to.address(), to.id(), t.slots});
  }
  std::sort(moves.begin(), moves.end(), [](const MoveSlotsStep& a, const MoveSlotsStep& b) {
    return std::tie(a.source_address, a.target_address) <
           std::tie(b.source_address, b.target_address);
  });
  for (auto& move : moves) out.moves.push_back(std::move(move));
  return out;
}

// For each desired node that is not a chosen master: the index of the master it should follow.
std::map<int, int> replicaMasters(const ClusterView& view, const MasterChoice& choice,
                                  const DesiredShape& desired) {
  std::vector<int> replicas;
  for (int i = 0; i < view.desired_count; ++i) {
    if (!choice.isMaster(i)) replicas.push_back(i);
  }
  std::map<int, int> master_of;
  const bool by_shard = view.desired_count > 0 && view.nodes[0].shard >= 0;
  if (by_shard) {
    std::map<int, int> shard_master;
    for (int m : choice.masters) shard_master[view.nodes[static_cast<size_t>(m)].shard] = m;
    for (int r : replicas) master_of[r] = shard_master[view.nodes[static_cast<size_t>(r)].shard];
    return master_of;
  }
  std::vector<MasterSeat> seats;
  for (int m : choice.masters) {
    const NodeView& node = view.nodes[static_cast<size_t>(m)];
    seats.push_back({node.id(), node.failure_domain});
  }
  std::vector<ReplicaCandidate> candidates;
  for (int r : replicas) {
    const NodeView& node = view.nodes[static_cast<size_t>(r)];
    candidates.push_back(
        {node.address(), node.failure_domain, node.isReplica() ? node.observed.master_id : ""});
  }
  const std::vector<int> seat_of = assignReplicas(seats, candidates, desired.replicas_per_master);
  for (size_t c = 0; c < replicas.size(); ++c) {
    if (seat_of[c] >= 0) master_of[replicas[c]] = choice.masters[static_cast<size_t>(seat_of[c])];
  }
  return master_of;
}

std::vector<Step> replicaSteps(const ClusterView& view, const MasterChoice& choice,
                               const DesiredShape& desired) {
  std::vector<Step> steps;
  for (const auto& [r, m] : replicaMasters(view, choice, desired)) {
    const NodeView& node = view.nodes[static_cast<size_t>(r)];
    const NodeView& master = view.nodes[static_cast<size_t>(m)];
    if (node.isReplica() && node.observed.master_id == master.id()) continue;
    steps.push_back(ReplicateStep{node.address(), node.id(), master.id(), master.address()});
  }
  return steps;
}

// Members outside the desired set. By the time this phase runs they hold no slots and no desired
// node replicates them. Replicas go first: a replica refuses to forget its own master ("Can't
// forget my master!"), so a leaving master is forgotten only once its leaving replicas are gone.
std::vector<Step> forgetSteps(const ClusterView& view) {
  std::vector<Step> steps;
  for (bool replicas : {true, false}) {
    for (size_t i = static_cast<size_t>(view.desired_count); i < view.nodes.size(); ++i) {
      const NodeView& node = view.nodes[i];
      if (node.isReplica() != replicas) continue;
      steps.push_back(ForgetStep{node.id(), node.address(), node.observed.reachable});
    }
  }
  return steps;
}

// Splits the replica steps: a node that holds no slots and will follow a master that receives
// slots by a move is attached before the moves, so a new shard has a synced copy before it holds
// keys (losing its master mid-scale would lose them otherwise). The others (a draining master
// that stays as a replica, replicas of masters that only give slots) follow the moves.
std::pair<std::vector<Step>, std::vector<Step>> splitReplicaSteps(std::vector<Step> replicas,
                                                                  const std::vector<Step>& moves) {
  std::set<std::string> targets, sources;
  for (const auto& step : moves) {
    targets.insert(std::get<MoveSlotsStep>(step).target_id);
    sources.insert(std::get<MoveSlotsStep>(step).source_id);
  }
  std::vector<Step> before, after;
  for (auto& step : replicas) {
    const auto& r = std::get<ReplicateStep>(step);
    const bool early = targets.count(r.master_id) > 0 && sources.count(r.node_id) == 0;
    (early ? before : after).push_back(std::move(step));
  }
  return {std::move(before), std::move(after)};
}

// A replica phase's barrier: both ends see each link, and each new replica serves.
void awaitReplicaLinks(Phase& phase, bool synced) {
  for (const auto& step : phase.steps) {
    const auto& r = std::get<ReplicateStep>(step);
    phase.barrier.replica_links.push_back({r.address, r.master_address, r.master_id});
    // A node turning into a replica switches its cluster_state on its next cron tick.
    phase.barrier.serving.push_back(r.address);
    if (synced) phase.barrier.synced.push_back(r.address);
  }
}

// What each barrier waits for: what its own phase changed, as far as the next phases rely on it.
// Nodes met in the join phase must know every member before anything names them; moves need the
// masters to agree on the slot map and each receiving master to serve; a new replica only needs
// its link seen from both ends, and to serve. The plan's last barrier also covers what callers rely
// on once it returns: when slots changed hands, every member sees the same slot map and every
// desired node serves.
Result<Plan> planConvergence(const ClusterView& view, const MasterChoice& choice,
                             const DesiredShape& desired) {
  ASSIGN_OR_RETURN(SlotSteps slots, slotSteps(view, choice));
  Phase join{joinSteps(view, choice), {}};
  Phase assign{std::move(slots.assigns), {}};
  Phase move{std::move(slots.moves), {}};
  auto [early, late] = splitReplicaSteps(replicaSteps(view, choice, desired), move.steps);
  Phase protect{std::move(early), {}};
  Phase replicate{std::move(late), {}};
  Phase forget{forgetSteps(view), {}};

  for (const auto& step : join.steps) {
    if (const auto* meet = std::get_if<MeetStep>(&step)) {
      join.barrier.joined.push_back(meet->address);
    }
  }
  assign.barrier.slot_map = WaitForAgreementStep::SlotViews::kMasters;
  move.barrier.slot_map = WaitForAgreementStep::SlotViews::kMasters;
  awaitReplicaLinks(protect, true);
  awaitReplicaLinks(replicate, false);
  for (const auto& step : forget.steps) {
    forget.barrier.forgotten.push_back(std::get<ForgetStep>(step).node_id);
  }

  // The barrier right before the moves also waits for every receiving master to serve.
  Phase* before_moves = !protect.steps.empty()  ? &protect
                        : !assign.steps.empty() ? &assign
                        : !join.steps.empty()   ? &join
                                                : nullptr;
  if (before_moves != nullptr) {
    std::set<std::string> targets(before_moves->barrier.serving.begin(),
                                  before_moves->barrier.serving.end());
    for (const auto& step : move.steps) {
      targets.insert(std::get<MoveSlotsStep>(step).target_address);
    }
    before_moves->barrier.serving.assign(targets.begin(), targets.end());
  }

  std::vector<Phase*> phases;
  for (Phase* phase : {&join, &assign, &protect, &move, &replicate, &forget}) {
    if (!phase->steps.empty()) phases.push_back(phase);
  }
  if (!assign.steps.empty() || !move.steps.empty()) {
    WaitForAgreementStep& last = phases.back()->barrier;
    last.slot_map = WaitForAgreementStep::SlotViews::kEveryMember;
    last.serving.clear();
    for (int i = 0; i < view.desired_count; ++i) {
      last.serving.push_back(view.nodes[static_cast<size_t>(i)].address());
    }
  }

  Plan plan;
  for (Phase* phase : phases) {
    for (auto& step : phase->steps) plan.steps.push_back(std::move(step));
    plan.steps.push_back(std::move(phase->barrier));
  }
  return plan;
}

}  // namespace

Result<Plan> makePlan(const ObservedCluster& observed, const DesiredShape& desired) {
  RETURN_IF_ERROR(validateShape(desired));
  ASSIGN_OR_RETURN(ClusterView view, buildClusterView(observed, desired));
  RETURN_IF_ERROR(checkNewcomersAreEmpty(view));
  const MasterChoice choice = chooseMasters(view, desired);
  // While a slot is open nothing else may run: every other step assumes one owner per slot.
  if (hasOpenSlots(view)) return planOpenSlots(view, choice);
  RETURN_IF_ERROR(checkDrainsReachable(view));
  RETURN_IF_ERROR(checkPeerViewsAgree(view));
  RETURN_IF_ERROR(checkSingleOwnerPerSlot(view));
  ASSIGN_OR_RETURN(std::optional<Plan> claim, planUnclaimedKeys(view));
  if (claim.has_value()) return std::move(*claim);
  ASSIGN_OR_RETURN(std::optional<Plan> hand_back, planOrphanKeys(view, choice));
  if (hand_back.has_value()) return std::move(*hand_back);
  return planConvergence(view, choice, desired);
}

}  // namespace slotkeeper::topology
