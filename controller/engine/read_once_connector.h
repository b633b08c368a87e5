// A NodeConnector for one observation: each node is connected to once, and each read-only
// command (CLUSTER NODES, CLUSTER INFO, CLUSTER COUNTKEYSINSLOT, INFO, DBSIZE) is sent to it once;
// repeats are answered
// from memory. So the several views a reconcile pass derives from one look at the cluster (the
// planner's, the status's) cost one connection and one round of reads per node.
// Not thread-safe: one observing thread. Writes are refused: an observation never changes
// anything.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "redis/node_client.h"

namespace slotkeeper::engine {

class ReadOnceConnector final : public redis::NodeConnector {
 public:
  explicit ReadOnceConnector(redis::NodeConnector& real) : real_(real) {}

  // A client that shares this connector's connection and answers; valid while this lives.
  Result<std::unique_ptr<redis::NodeClient>> connect(const std::string& address) override;

  // Connections opened to real nodes so far.
  int connectionsOpened() const { return connections_opened_; }

 private:
  struct Node {
    Status connect_status;  // a failed connect is remembered, not retried in one observation
    std::unique_ptr<redis::NodeClient> client;
    std::map<std::string, redis::Reply> answers;  // by the command's words, joined
  };
  class Client;

  redis::NodeConnector& real_;
  std::map<std::string, Node> nodes_;
  int connections_opened_ = 0;
};

}  // namespace slotkeeper::engine
