// Command-line flags of sk-node-agent, parsed into a plain struct (pure; unit tested).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace slotkeeper::agent {

struct AgentOptions {
  std::string kubeconfig;  // empty: $KUBECONFIG, in-cluster, ~/.kube/config (client-go order)
  int nodes = 3;
  std::string node_prefix = "sk-node";  // Nodes are <prefix>-0 .. <prefix>-(N-1)
  std::string zone_prefix = "zone-";    // zones cycle <prefix>a, <prefix>b, <prefix>c
  std::string state_dir;                // required: pod dirs, PV dirs, allocator state
  std::string pod_cidr = "127.20.0.0/16";
  std::string redis_server = "/usr/bin/redis-server";
  // Image name (repository, optionally with tag) -> local binary, from --operator-image.
  std::map<std::string, std::string> image_binaries;
  // Node capacity reported to the scheduler.
  std::string node_cpu = "4";
  std::string node_memory = "8Gi";
  int max_pods = 110;
  std::string node_ip = "127.0.0.1";             // InternalIP of every Node, and the pods' hostIP
  std::string storage_class = "local";           // created if absent; "" = do not create one
  std::chrono::seconds heartbeat{10};            // Lease renewal; Node status every 3 heartbeats
  std::chrono::milliseconds backoff_base{1000};  // container restart back-off, doubling
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::seconds shutdown_grace{10};  // cap on each pod's grace when the agent stops
  std::string log_level = "info";
  bool keep_pod_dirs = false;  // keep volumes of deleted pods (post-mortems)
};

// Parses argv[1..]. Accepts "--flag value" and "--flag=value". kInvalidArgument with a
// message naming the flag on any error; "--help" yields kAborted with the usage text.
Result<AgentOptions> parseAgentArgs(const std::vector<std::string>& args);

std::string agentUsage();

}  // namespace slotkeeper::agent
