// Replica placement for CLI mode: keep what is right, then fill the open seats so replicas and
// masters share as few failure domains as possible.
#include "topology/replica_assignment.h"

#include <tuple>

namespace slotkeeper::topology {
namespace {

// How badly a replica in `domain` would share fate with `master` and its other replicas. Sharing
// the master's domain weighs double: losing both loses the slots, losing two siblings does not.
int domainClashes(const std::string& domain, const MasterSeat& master,
                  const std::vector<size_t>& siblings,
                  const std::vector<ReplicaCandidate>& candidates) {
  if (domain.empty()) return 0;
  int clashes = domain == master.failure_domain ? 2 : 0;
  for (size_t s : siblings) {
    if (candidates[s].failure_domain == domain) ++clashes;
  }
  return clashes;
}

// Keeps up to `per_master` of the replicas already attached to each master, best spread first.
void keepExistingLinks(const std::vector<MasterSeat>& masters,
                       const std::vector<ReplicaCandidate>& candidates, int per_master,
                       std::vector<int>& assignment, std::vector<std::vector<size_t>>& seated) {
  for (size_t m = 0; m < masters.size(); ++m) {
    while (static_cast<int>(seated[m].size()) < per_master) {
      int best = -1;
      int best_clashes = 0;
      for (size_t c = 0; c < candidates.size(); ++c) {
        if (assignment[c] >= 0 || candidates[c].master_id != masters[m].id) continue;
        int clashes =
            domainClashes(candidates[c].failure_domain, masters[m], seated[m], candidates);
        if (best < 0 || clashes < best_clashes) {
          best = static_cast<int>(c);
          best_clashes = clashes;
        }
      }
      if (best < 0) break;
      assignment[static_cast<size_t>(best)] = static_cast<int>(m);
      seated[m].push_back(static_cast<size_t>(best));
    }
  }
}

// Fills the open seats one pair at a time: the cheapest (master, candidate) pair, and among equally
// cheap ones the master with the fewest clash-free options and the candidate that fewest masters
// could use clash-free, so a scarce good pairing is not spent where a plentiful one would do.
void fillOpenSeats(const std::vector<MasterSeat>& masters,
                   const std::vector<ReplicaCandidate>& candidates, int per_master,
                   std::vector<int>& assignment, std::vector<std::vector<size_t>>& seated) {
  const size_t n_masters = masters.size();
  const size_t n_candidates = candidates.size();
  while (true) {
    std::vector<std::vector<int>> cost(n_masters, std::vector<int>(n_candidates, -1));
    std::vector<int> options(n_masters, 0);
    std::vector<int> demand(n_candidates, 0);
    for (size_t m = 0; m < n_masters; ++m) {
      if (static_cast<int>(seated[m].size()) >= per_master) continue;
      for (size_t c = 0; c < n_candidates; ++c) {
        if (assignment[c] >= 0) continue;
        cost[m][c] = domainClashes(candidates[c].failure_domain, masters[m], seated[m], candidates);
        if (cost[m][c] == 0) {
          ++options[m];
          ++demand[c];
        }
      }
    }
    bool found = false;
    std::tuple<int, int, int, size_t, size_t> best;
    for (size_t m = 0; m < n_masters; ++m) {
      for (size_t c = 0; c < n_candidates; ++c) {
        if (cost[m][c] < 0) continue;
        auto key = std::make_tuple(cost[m][c], options[m], demand[c], m, c);
        if (!found || key < best) best = key;
        found = true;
      }
    }
    if (!found) return;
    const size_t m = std::get<3>(best);
    const size_t c = std::get<4>(best);
    assignment[c] = static_cast<int>(m);
    seated[m].push_back(c);
  }
}

}  // namespace

std::vector<int> assignReplicas(const std::vector<MasterSeat>& masters,
                                const std::vector<ReplicaCandidate>& candidates, int per_master) {
  std::vector<int> assignment(candidates.size(), -1);
  std::vector<std::vector<size_t>> seated(masters.size());
  if (per_master <= 0) return assignment;
  keepExistingLinks(masters, candidates, per_master, assignment, seated);
  fillOpenSeats(masters, candidates, per_master, assignment, seated);
  return assignment;
}

}  // namespace slotkeeper::topology
