// Pairs replicas with masters when no shard fixes the pairing (CLI mode): keeps the links that
// are already right, and spreads the rest so a replica sits in another failure domain than its
// master and its siblings.
#pragma once

#include <string>
#include <vector>

namespace slotkeeper::topology {

struct MasterSeat {
  std::string id;
  std::string failure_domain;  // empty = unknown, never counts as a clash
};

struct ReplicaCandidate {
  std::string address;
  std::string failure_domain;  // empty = unknown, never counts as a clash
  std::string master_id;       // the master it replicates now; empty when it is a master
};

// For each candidate, the index of the master it should replicate, so that every master gets
// exactly `per_master` replicas. Existing links to a listed master are kept (up to `per_master`,
// the best-spread ones first); the others are placed greedily, most constrained master first.
// Deterministic for a given input order. Requires candidates.size() == masters.size() *
// per_master; any surplus candidate is left at -1.
std::vector<int> assignReplicas(const std::vector<MasterSeat>& masters,
                                const std::vector<ReplicaCandidate>& candidates, int per_master);

}  // namespace slotkeeper::topology
