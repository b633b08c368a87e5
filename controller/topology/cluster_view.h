// The planner's working picture: observed nodes matched to the desired shape, deduplicated by
// node id, with membership and "which cluster" answered once for every later stage.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "topology/model.h"

namespace slotkeeper::topology {

struct NodeView {
  ObservedNode observed;
  bool desired = false;
  int shard = -1;              // from the desired shape; -1 for nodes to remove
  std::string failure_domain;  // the desired one when given, else the observed one
  // Part of the cluster: holds slots there, or a member lists its id among its peers.
  bool in_cluster = false;
  // Some peer still knows this node's id at another address (its IP changed): it has to be met
  // again at the new address.
  bool known_elsewhere = false;

  const std::string& address() const { return observed.address; }
  const std::string& id() const { return observed.id; }
  bool holdsSlots() const { return !observed.slots.empty(); }
  bool isReplica() const { return !observed.is_master; }
};

struct ClusterView {
  // Desired nodes sorted by address, then the members to remove sorted by (address, id).
  std::vector<NodeView> nodes;
  int desired_count = 0;  // nodes[0, desired_count) are the desired ones
  bool formed = false;    // some node holds slots: there is a cluster to change, not to create
  // The member others are met through: a reachable slot holder (a desired one first), or, while
  // forming, the first desired master. -1 when no slot holder is reachable.
  int anchor = -1;

  // Index of the node with this id, or -1.
  int indexOfId(const std::string& id) const;
};

// Matches `observed` to `desired` (already validated). FailedPrecondition when a desired node is
// unreachable or unobserved, when two desired nodes report one id, or when the nodes form two
// clusters that both hold slots.
Result<ClusterView> buildClusterView(const ObservedCluster& observed, const DesiredShape& desired);

}  // namespace slotkeeper::topology
