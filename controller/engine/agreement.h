// Config agreement: the barrier between phases. A node that has just been met refuses SETSLOT
// and REPLICATE naming a peer it has not learned yet, and a master that joined moments ago
// answers CLUSTERDOWN until Redis's rejoin delay has passed; so the next phase waits until the
// nodes it touches agree on what it relies on. The full form (every member knows every member
// and role, one slot map everywhere, cluster_state:ok) serves checks; the scoped form, described
// by a WaitForAgreementStep, serves the executor.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "redis/node_client.h"
#include "topology/plan.h"

namespace slotkeeper::engine {

struct AgreementOptions {
  std::chrono::milliseconds timeout{60000};
  // The first re-read follows after poll_interval; each further one waits twice as long, up to
  // max_poll_interval. A barrier that holds at once costs one read of each view; one that waits
  // for gossip costs a few reads per second, not a hundred (each a CLUSTER NODES of every member,
  // which grows with the square of the cluster's size).
  std::chrono::milliseconds poll_interval{10};
  std::chrono::milliseconds max_poll_interval{160};
  // How often a view that still lags is sent a direct MEET from the node it lags about.
  std::chrono::milliseconds nudge_interval{500};
};

// One node's reply to CLUSTER NODES and, where read, CLUSTER INFO.
struct MemberView {
  std::string address;
  std::string cluster_state;  // empty when CLUSTER INFO was not read
  std::vector<redis::ClusterNodeEntry> nodes;
  int slots_assigned = 0;  // from CLUSTER INFO
  // From INFO replication, where read: a replica's link to its master.
  std::string master_link_status{};
  bool sync_in_progress = false;
};

// Why the members do not agree yet; empty when they do. Pure, for tests and messages.
std::string findDisagreement(const std::vector<MemberView>& views);

// The verdict of a scoped barrier.
struct ScopedVerdict {
  std::string reason;  // empty when the barrier holds
  // CLUSTER MEET from `first` to `second` (addresses): each carries what a lagging view misses in
  // one packet, where gossip would take seconds. MEET towards a known node is harmless: the
  // receiver updates what it knows of the sender, the sender drops the extra handshake.
  std::vector<std::pair<std::string, std::string>> nudges;
  // CLUSTER FORGET on `first` of node id `second`: a handshake still in flight when the node
  // was forgotten completes afterwards and brings it back.
  std::vector<std::pair<std::string, std::string>> forgets;
};

// Checks `what` against `views` (by address). `members` are every member whose view matters
// for the conditions about all members. Nodes whose view is missing count as not agreeing.
ScopedVerdict checkScopedAgreement(const topology::WaitForAgreementStep& what,
                                   const std::vector<std::string>& members,
                                   const std::map<std::string, MemberView>& views);

// Which views the scoped barrier reads: addresses for CLUSTER NODES and for CLUSTER INFO.
// `masters` are the members known to be masters (read once up front) when the slot map is
// checked among masters only; empty until known.
struct ViewsToRead {
  std::vector<std::string> nodes;
  std::vector<std::string> info;
  std::vector<std::string> replication;  // INFO replication
};
ViewsToRead viewsToRead(const topology::WaitForAgreementStep& what,
                        const std::vector<std::string>& members,
                        const std::vector<std::string>& masters);

// Polls `addresses` until they agree fully or the timeout passes (DeadlineExceeded, naming the
// last disagreement).
Status waitForAgreement(redis::NodeConnector& connector, const std::vector<std::string>& addresses,
                        Clock& clock, const AgreementOptions& options = {});

// Polls until `what` holds among `members`, nudging lagging views with direct MEETs. A step that
// waits for everything is the full form above.
Status waitForAgreement(redis::NodeConnector& connector, const std::vector<std::string>& members,
                        const topology::WaitForAgreementStep& what, Clock& clock,
                        const AgreementOptions& options = {});

}  // namespace slotkeeper::engine
