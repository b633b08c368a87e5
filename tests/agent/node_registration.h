// Registers the agent's Nodes and keeps them alive: creates each Node with hostname, zone
// and OS labels, reports capacity/allocatable, addresses and a Ready condition through the
// status subresource, removes the node.kubernetes.io/not-ready taint that the
// TaintNodesByCondition admission plugin adds on creation (no node-lifecycle controller
// runs here to do it), and renews one coordination Lease per Node in kube-node-lease.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "kube/client.h"

namespace slotkeeper::agent {

struct NodeSpec {
  std::string name;
  std::string zone;
  std::string internal_ip = "127.0.0.1";
  std::string cpu = "4";
  std::string memory = "8Gi";
  int max_pods = 110;
};

// N Nodes "<prefix>-i", zones cycling <zone_prefix>a, b, c.
std::vector<NodeSpec> makeNodeSpecs(int count, const std::string& prefix,
                                    const std::string& zone_prefix, const std::string& ip,
                                    const std::string& cpu, const std::string& memory,
                                    int max_pods);

// Pure builders.
nlohmann::json buildNode(const NodeSpec& node);
// The status for a merge patch; `ready_since` is the Ready condition's transition time.
nlohmann::json buildNodeStatus(const NodeSpec& node, bool ready, const std::string& reason,
                               const std::string& message,
                               std::chrono::system_clock::time_point ready_since,
                               std::chrono::system_clock::time_point now);
nlohmann::json buildNodeLease(const NodeSpec& node, const std::string& node_uid,
                              std::chrono::seconds duration,
                              std::chrono::system_clock::time_point now);
// The node's taints without not-ready/unreachable ones; nullopt when there were none.
std::optional<nlohmann::json> taintsWithoutNotReady(const nlohmann::json& node);

class NodeRegistrar {
 public:
  NodeRegistrar(kube::KubeClient& client, std::vector<NodeSpec> nodes,
                std::chrono::seconds heartbeat);
  ~NodeRegistrar();

  // Creates (or adopts) every Node, reports it Ready, removes the taint, creates its Lease.
  Status registerAll();
  // Heartbeats on a background thread: Lease renewal every period, Node status every 3rd.
  void start();
  void stop();
  // Reports every Node NotReady (agent stopping), best effort.
  void markNotReady(const std::string& message);

  const std::vector<NodeSpec>& nodes() const { return nodes_; }

 private:
  Status registerNode(size_t index);
  Status reportStatus(size_t index, bool ready, const std::string& reason,
                      const std::string& message);
  Status removeNotReadyTaint(const std::string& name, nlohmann::json node);
  Status renewLease(size_t index);
  void loop(std::stop_token stop);

  kube::KubeClient& client_;
  std::vector<NodeSpec> nodes_;
  std::vector<std::string> uids_;
  std::vector<std::chrono::system_clock::time_point> ready_since_;
  std::chrono::seconds heartbeat_;
  std::jthread thread_;
};

}  // namespace slotkeeper::agent
