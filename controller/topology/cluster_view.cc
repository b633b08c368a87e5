// Builds the planner's ClusterView: matching by address, identity by node id, clusters as the
// connected components of the peer graph.
#include "topology/cluster_view.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace slotkeeper::topology {

int ClusterView::indexOfId(const std::string& id) const {
  if (id.empty()) return -1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].id() == id) return static_cast<int>(i);
  }
  return -1;
}

namespace {

// Minimal union-find over node ids; the peer graph's components are the clusters.
class Components {
 public:
  void join(const std::string& a, const std::string& b) { parent_[find(a)] = find(b); }
  std::string find(const std::string& id) {
    auto it = parent_.find(id);
    if (it == parent_.end()) {
      parent_[id] = id;
      return id;
    }
    if (it->second == id) return id;
    std::string root = find(it->second);
    parent_[id] = root;
    return root;
  }

 private:
  std::map<std::string, std::string> parent_;
};

// Of two reports for one address or one id, the better-informed one: reachable (its own view)
// beats a peer's view; otherwise the first one wins.
bool isBetterReport(const ObservedNode& candidate, const ObservedNode& current) {
  if (candidate.reachable != current.reachable) return candidate.reachable;
  return !candidate.id.empty() && current.id.empty();
}

std::map<std::string, const ObservedNode*> reportsByAddress(const ObservedCluster& observed) {
  std::map<std::string, const ObservedNode*> by_address;
  for (const auto& node : observed.nodes) {
    auto [it, inserted] = by_address.emplace(node.address, &node);
    if (!inserted && isBetterReport(node, *it->second)) it->second = &node;
  }
  return by_address;
}

Result<std::vector<NodeView>> desiredNodeViews(
    const DesiredShape& desired, const std::map<std::string, const ObservedNode*>& by_address) {
  std::vector<DesiredNode> sorted = desired.nodes;
  std::sort(sorted.begin(), sorted.end(),
            [](const DesiredNode& a, const DesiredNode& b) { return a.address < b.address; });
  std::vector<NodeView> views;
  std::map<std::string, std::string> address_of_id;
  for (const auto& want : sorted) {
    auto it = by_address.find(want.address);
    // Nothing can be decided about a node that cannot be asked: its slots, keys and links are
    // unknown, so acting could clobber data or split the cluster.
    if (it == by_address.end() || !it->second->reachable) {
      return failedPrecondition("desired node " + want.address + " is unreachable");
    }
    const ObservedNode& seen = *it->second;
    if (seen.id.empty()) {
      return failedPrecondition("desired node " + want.address + " did not report its node id");
    }
    auto [other, fresh] = address_of_id.emplace(seen.id, want.address);
    if (!fresh) {
      return failedPrecondition("desired nodes " + other->second + " and " + want.address +
                                " report the same node id " + seen.id);
    }
    NodeView view;
    view.observed = seen;
    view.desired = true;
    view.shard = want.shard;
    view.failure_domain = want.failure_domain.empty() ? seen.failure_domain : want.failure_domain;
    views.push_back(std::move(view));
  }
  return views;
}

// Everything observed that is not a desired node: one view per node id. A report whose id belongs
// to a desired node is that node seen at an old address; it marks the node for a re-MEET instead.
std::vector<NodeView> otherNodeViews(const std::map<std::string, const ObservedNode*>& by_address,
                                     std::vector<NodeView>& desired_views) {
  std::map<std::string, size_t> desired_by_id;
  std::set<std::string> desired_addresses;
  for (size_t i = 0; i < desired_views.size(); ++i) {
    desired_by_id[desired_views[i].id()] = i;
    desired_addresses.insert(desired_views[i].address());
  }
  std::map<std::string, const ObservedNode*> by_id;
  for (const auto& [address, report] : by_address) {
    if (desired_addresses.count(address) > 0 || report->id.empty()) continue;
    auto desired_it = desired_by_id.find(report->id);
    if (desired_it != desired_by_id.end()) {
      desired_views[desired_it->second].known_elsewhere = true;
      continue;
    }
    auto [it, inserted] = by_id.emplace(report->id, report);
    if (!inserted && isBetterReport(*report, *it->second)) it->second = report;
  }
  std::vector<NodeView> others;
  for (const auto& [id, report] : by_id) {
    NodeView view;
    view.observed = *report;
    view.failure_domain = report->failure_domain;
    others.push_back(std::move(view));
  }
  std::sort(others.begin(), others.end(), [](const NodeView& a, const NodeView& b) {
    return std::tie(a.address(), a.id()) < std::tie(b.address(), b.id());
  });
  return others;
}

// The node that names a cluster in messages: a desired slot holder if there is one.
const NodeView* representative(const std::vector<NodeView>& nodes,
                               const std::vector<std::string>& roots, const std::string& root) {
  const NodeView* best = nullptr;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (roots[i] != root || !nodes[i].holdsSlots()) continue;
    if (best == nullptr || (nodes[i].desired && !best->desired)) best = &nodes[i];
  }
  return best;
}

int chooseAnchor(const std::vector<NodeView>& nodes, bool formed) {
  if (formed) {
    // Desired nodes come first in `nodes`, so a desired slot holder wins over one being removed.
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].holdsSlots() && nodes[i].observed.reachable) return static_cast<int>(i);
    }
    return -1;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].desired && !nodes[i].isReplica()) return static_cast<int>(i);
  }
  return nodes.empty() || !nodes[0].desired ? -1 : 0;
}

// Two groups that each hold slots and do not know each other are two clusters; merging them
// with MEET would make both claim the same slots and lose one side's keys.
Status checkSingleCluster(const std::vector<NodeView>& nodes, const std::vector<std::string>& roots,
                          const std::set<std::string>& slot_roots) {
  if (slot_roots.size() <= 1) return Status::ok();
  const NodeView* first = representative(nodes, roots, *slot_roots.begin());
  const NodeView* second = representative(nodes, roots, *std::next(slot_roots.begin()));
  if (second->address() < first->address()) std::swap(first, second);
  return failedPrecondition("desired nodes belong to two different clusters: " + first->address() +
                            " and " + second->address() +
                            " both hold slots without knowing each other");
}

// A node is in the cluster when it shares the cluster's component and holds slots there, is the
// node a new cluster forms around, or is listed as a peer by someone in that component.
void markMembership(ClusterView& view, const std::vector<std::string>& roots,
                    const std::string& cluster_root) {
  std::set<std::string> known_ids;
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    if (roots[i] != cluster_root) continue;
    const auto& peers = view.nodes[i].observed.peer_ids;
    known_ids.insert(peers.begin(), peers.end());
  }
  for (size_t i = 0; i < view.nodes.size(); ++i) {
    NodeView& node = view.nodes[i];
    const bool is_forming_anchor = !view.formed && static_cast<int>(i) == view.anchor;
    node.in_cluster = roots[i] == cluster_root &&
                      (node.holdsSlots() || is_forming_anchor || known_ids.count(node.id()) > 0);
  }
}

}  // namespace

Result<ClusterView> buildClusterView(const ObservedCluster& observed, const DesiredShape& desired) {
  const auto by_address = reportsByAddress(observed);
  ASSIGN_OR_RETURN(std::vector<NodeView> all, desiredNodeViews(desired, by_address));
  const int desired_count = static_cast<int>(all.size());
  std::vector<NodeView> others = otherNodeViews(by_address, all);
  all.insert(all.end(), others.begin(), others.end());

  Components components;
  for (const auto& node : all) {
    for (const auto& peer : node.observed.peer_ids) components.join(node.id(), peer);
  }
  std::vector<std::string> roots;
  std::set<std::string> slot_roots;
  for (const auto& node : all) {
    roots.push_back(components.find(node.id()));
    if (node.holdsSlots()) slot_roots.insert(roots.back());
  }
  RETURN_IF_ERROR(checkSingleCluster(all, roots, slot_roots));

  // Keep the nodes to remove that share a component with the cluster or with a desired node;
  // anything else observed is unrelated and left alone.
  std::set<std::string> relevant_roots = slot_roots;
  for (int i = 0; i < desired_count; ++i) relevant_roots.insert(roots[static_cast<size_t>(i)]);
  ClusterView view;
  std::vector<std::string> kept_roots;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i].desired && relevant_roots.count(roots[i]) == 0) continue;
    view.nodes.push_back(std::move(all[i]));
    kept_roots.push_back(roots[i]);
  }
  view.desired_count = desired_count;
  view.formed = !slot_roots.empty();
  view.anchor = chooseAnchor(view.nodes, view.formed);
  std::string cluster_root;
  if (view.formed) {
    cluster_root = *slot_roots.begin();
  } else if (view.anchor >= 0) {
    cluster_root = kept_roots[static_cast<size_t>(view.anchor)];
  }
  markMembership(view, kept_roots, cluster_root);
  return view;
}

}  // namespace slotkeeper::topology
