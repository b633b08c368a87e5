// Master selection for the planner, by shard (operator mode) or by preference (CLI mode).
#include "topology/master_choice.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

namespace slotkeeper::topology {

bool MasterChoice::isMaster(int index) const {
  return std::find(masters.begin(), masters.end(), index) != masters.end();
}

namespace {

// 0: a master holding slots (keeping it moves nothing), 1: an empty master (joins as is),
// 2: a replica (must be reset first, which drops its copy of the data).
int preferenceClass(const NodeView& node) {
  if (node.isReplica()) return 2;
  return node.holdsSlots() ? 0 : 1;
}

int shardMaster(const ClusterView& view, int shard) {
  int best = -1;
  // Desired nodes come first in address order, so the first match among equals is the lowest.
  auto better = [&](int candidate) {
    const NodeView& c = view.nodes[static_cast<size_t>(candidate)];
    if (best < 0) return true;
    const NodeView& b = view.nodes[static_cast<size_t>(best)];
    auto key = [](const NodeView& n) {
      return std::make_tuple(preferenceClass(n), -n.observed.slots.count(), n.in_cluster ? 0 : 1);
    };
    return key(c) < key(b);
  };
  for (int i = 0; i < view.desired_count; ++i) {
    if (view.nodes[static_cast<size_t>(i)].shard == shard && better(i)) best = i;
  }
  return best;
}

std::vector<int> chooseByShard(const ClusterView& view, int masters) {
  std::vector<int> chosen;
  for (int shard = 0; shard < masters; ++shard) {
    int index = shardMaster(view, shard);
    if (index >= 0) chosen.push_back(index);
  }
  return chosen;
}

std::vector<int> chooseByPreference(const ClusterView& view, int masters) {
  std::vector<int> chosen;
  std::vector<bool> taken(static_cast<size_t>(view.desired_count), false);
  std::map<std::string, int> domain_use;
  auto domainUse = [&](const NodeView& n) {
    if (n.failure_domain.empty()) return 0;  // unknown domains cannot clash
    auto it = domain_use.find(n.failure_domain);
    return it == domain_use.end() ? 0 : it->second;
  };
  while (static_cast<int>(chosen.size()) < masters) {
    int best = -1;
    std::tuple<int, int, int, int> best_key;
    for (int i = 0; i < view.desired_count; ++i) {
      if (taken[static_cast<size_t>(i)]) continue;
      const NodeView& n = view.nodes[static_cast<size_t>(i)];
      auto key = std::make_tuple(preferenceClass(n), domainUse(n), -n.observed.slots.count(),
                                 n.in_cluster ? 0 : 1);
      if (best < 0 || key < best_key) {
        best = i;
        best_key = key;
      }
    }
    if (best < 0) break;
    taken[static_cast<size_t>(best)] = true;
    chosen.push_back(best);
    const std::string& domain = view.nodes[static_cast<size_t>(best)].failure_domain;
    if (!domain.empty()) ++domain_use[domain];
  }
  return chosen;
}

bool hasShards(const ClusterView& view) {
  return view.desired_count > 0 && view.nodes[0].shard >= 0;
}

}  // namespace

MasterChoice chooseMasters(const ClusterView& view, const DesiredShape& desired) {
  MasterChoice choice;
  choice.masters = hasShards(view) ? chooseByShard(view, desired.masters)
                                   : chooseByPreference(view, desired.masters);
  std::sort(choice.masters.begin(), choice.masters.end());
  for (int index : choice.masters) {
    if (view.nodes[static_cast<size_t>(index)].isReplica()) choice.detached.push_back(index);
  }
  return choice;
}

}  // namespace slotkeeper::topology
