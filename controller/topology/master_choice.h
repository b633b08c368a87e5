// Which desired nodes serve as the M masters: the ones already holding slots where possible, so
// that as few slots and as few roles as possible change.
#pragma once

#include <vector>

#include "topology/cluster_view.h"
#include "topology/model.h"

namespace slotkeeper::topology {

struct MasterChoice {
  std::vector<int> masters;   // indices into ClusterView::nodes, ascending (address order)
  std::vector<int> detached;  // the chosen ones that are replicas now: reset, then met again
  bool isMaster(int index) const;
};

// With shards (operator mode), per shard: its master holding slots, else an empty master (one in
// the cluster first), else its first node, detached from the master it replicates. Without
// shards (CLI mode): masters holding slots, then empty masters, then replicas, spreading failure
// domains within each group and preferring bigger holders. Pure and deterministic.
MasterChoice chooseMasters(const ClusterView& view, const DesiredShape& desired);

}  // namespace slotkeeper::topology
