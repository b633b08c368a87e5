// Config agreement: the barrier between phases. A node that has just been met answers
// CLUSTERDOWN to MIGRATE until gossip reaches it, so the next phase waits for every member to
// report the same slot map, to know every other member, and to say cluster_state:ok.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "redis/node_client.h"

namespace slotkeeper::engine {

struct AgreementOptions {
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds poll_interval{50};
};

// Why the members do not agree yet; empty when they do. Pure, for tests and messages.
struct MemberView {
  std::string address;
  std::string cluster_state;
  std::vector<redis::ClusterNodeEntry> nodes;
};
std::string findDisagreement(const std::vector<MemberView>& views);

// Polls `addresses` until they agree or the timeout passes (DeadlineExceeded, naming the last
// disagreement).
Status waitForAgreement(redis::NodeConnector& connector, const std::vector<std::string>& addresses,
                        Clock& clock, const AgreementOptions& options = {});

}  // namespace slotkeeper::engine
