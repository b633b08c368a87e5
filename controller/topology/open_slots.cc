// Settling open slots: who ends up owning each MIGRATING/IMPORTING slot, and who may hold keys.
#include "topology/open_slots.h"

#include <algorithm>
#include <map>

namespace slotkeeper::topology {
namespace {

using redis::OpenSlot;

// Everyone involved in one open slot, as indices into ClusterView::nodes.
struct SlotParties {
  std::vector<int> migrating;     // nodes reporting [slot->-dest]
  std::vector<int> importing;     // nodes reporting [slot-<-source]
  std::vector<int> destinations;  // the dest of migrating markers, when known
  std::vector<int> sources;       // the source of importing markers, when known
  std::vector<int> claimants;     // nodes that list the slot among their own
};

void addUnique(std::vector<int>& list, int index) {
  if (index >= 0 && std::find(list.begin(), list.end(), index) == list.end()) list.push_back(index);
}

std::map<int, SlotParties> collectParties(const ClusterView& view) {
  std::map<int, SlotParties> parties;
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    const int index = static_cast<int>(i);
    for (const OpenSlot& open : view.nodes[i].observed.open_slots) {
      SlotParties& p = parties[open.slot];
      if (open.kind == OpenSlot::Kind::kMigrating) {
        addUnique(p.migrating, index);
        addUnique(p.destinations, view.indexOfId(open.peer_id));
      } else {
        addUnique(p.importing, index);
        addUnique(p.sources, view.indexOfId(open.peer_id));
      }
    }
  }
  for (auto& [slot, p] : parties) {
    for (size_t i = 0; i < view.nodes.size(); ++i) {
      if (view.nodes[i].observed.slots.contains(slot)) addUnique(p.claimants, static_cast<int>(i));
    }
  }
  return parties;
}

void sortByAddress(const ClusterView& view, std::vector<int>& list) {
  std::sort(list.begin(), list.end(), [&](int a, int b) {
    return view.nodes[static_cast<size_t>(a)].address() <
           view.nodes[static_cast<size_t>(b)].address();
  });
}

// The node holding the slot now, whose keys a rollback keeps: the migrating side that still
// claims it, else any claimant, else the migrating side, else the source an importer names.
int currentOwner(const ClusterView& view, SlotParties p) {
  sortByAddress(view, p.migrating);
  sortByAddress(view, p.claimants);
  sortByAddress(view, p.sources);
  for (int m : p.migrating) {
    if (std::find(p.claimants.begin(), p.claimants.end(), m) != p.claimants.end()) return m;
  }
  if (!p.claimants.empty()) return p.claimants.front();
  if (!p.migrating.empty()) return p.migrating.front();
  if (!p.sources.empty()) return p.sources.front();
  return -1;
}

// The node a finished move would leave the slot on: a destination (which may already claim the
// slot if SETSLOT NODE reached it) or an importer, reachable and staying a master.
int finishingOwner(const ClusterView& view, const MasterChoice& choice, SlotParties p) {
  sortByAddress(view, p.destinations);
  sortByAddress(view, p.importing);
  std::vector<int> candidates = p.destinations;
  for (int i : p.importing) addUnique(candidates, i);
  for (int c : candidates) {
    if (view.nodes[static_cast<size_t>(c)].observed.reachable && choice.isMaster(c)) return c;
  }
  return -1;
}

int firstReachable(const ClusterView& view, std::vector<int> list) {
  sortByAddress(view, list);
  for (int i : list) {
    if (view.nodes[static_cast<size_t>(i)].observed.reachable) return i;
  }
  return -1;
}

std::string describeNode(const NodeView& node) {
  return node.address().empty() ? node.id() : node.address() + " (" + node.id().substr(0, 8) + ")";
}

Result<SettleSlotStep> settleSlot(const ClusterView& view, const MasterChoice& choice, int slot,
                                  const SlotParties& p) {
  const int holder = currentOwner(view, p);
  if (holder >= 0 && !view.nodes[static_cast<size_t>(holder)].observed.reachable) {
    return failedPrecondition("slot " + std::to_string(slot) + " is open but its owner " +
                              describeNode(view.nodes[static_cast<size_t>(holder)]) +
                              " is unreachable");
  }
  int owner = finishingOwner(view, choice, p);
  bool finish = owner >= 0;
  if (owner < 0) owner = holder;
  if (owner < 0) {
    // Nobody owns the slot and no importer stays a master: any reachable importer keeps the keys
    // it already has; the rebalance drains it afterwards if it is leaving.
    owner = firstReachable(view, p.importing);
    finish = true;
  }
  if (owner < 0) {
    return failedPrecondition("slot " + std::to_string(slot) +
                              " is open but no reachable node can take it");
  }
  std::vector<int> involved = p.migrating;
  for (const auto* list : {&p.importing, &p.destinations, &p.sources, &p.claimants}) {
    for (int i : *list) addUnique(involved, i);
  }
  sortByAddress(view, involved);
  const NodeView& owner_node = view.nodes[static_cast<size_t>(owner)];
  SettleSlotStep step;
  step.slot = slot;
  step.owner_address = owner_node.address();
  step.owner_id = owner_node.id();
  step.finish = finish;
  auto listed = [](const std::vector<int>& list, int i) {
    return std::find(list.begin(), list.end(), i) != list.end();
  };
  for (int i : involved) {
    const NodeView& node = view.nodes[static_cast<size_t>(i)];
    // A replica's keys are a copy of its master's; MIGRATE on it is refused (MOVED), and a
    // source demoted by a failover is a replica now.
    if (i == owner || !node.observed.reachable || !node.observed.is_master) continue;
    step.key_holders.push_back(node.address());
    const bool took_over = finish && !listed(p.migrating, i) && !listed(p.sources, i) &&
                           !p.sources.empty() && listed(p.claimants, i);
    if (took_over) step.takeover_holders.push_back(node.address());
  }
  return step;
}

}  // namespace

bool hasOpenSlots(const ClusterView& view) {
  return std::any_of(view.nodes.begin(), view.nodes.end(),
                     [](const NodeView& n) { return !n.observed.open_slots.empty(); });
}

Result<Plan> planOpenSlots(const ClusterView& view, const MasterChoice& choice) {
  Plan plan;
  for (const auto& [slot, parties] : collectParties(view)) {
    ASSIGN_OR_RETURN(SettleSlotStep step, settleSlot(view, choice, slot, parties));
    plan.steps.push_back(std::move(step));
  }
  if (!plan.empty()) plan.steps.push_back(WaitForAgreementStep{});
  return plan;
}

}  // namespace slotkeeper::topology
