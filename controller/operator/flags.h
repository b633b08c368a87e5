// Command-line flags of the operator binary, parsed purely so that errors are testable.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace slotkeeper::op {

struct OperatorFlags {
  std::string kubeconfig;               // empty: in-cluster config, then $KUBECONFIG
  std::vector<std::string> namespaces;  // empty: all namespaces
  bool leader_elect = true;
  std::string leader_election_namespace;  // empty: the pod's namespace, else "default"
  std::string leader_election_id = "slotkeeper-leader";  // the Lease's name
  std::string http_address = "127.0.0.1:8080";           // /metrics /healthz /readyz
  std::string log_level = "info";
  // A pass waiting for its nodes (gossip, a replica's sync) holds its worker: with many clusters
  // changing at once, more workers let those waits overlap (16: storms of 50 clusters converge
  // 3x sooner than with 4, for about 8 MiB more RSS; docs/benchmarks).
  int workers = 16;
  std::chrono::seconds health_check_interval{30};
  bool show_help = false;
  bool show_version = false;
};

Result<OperatorFlags> parseOperatorFlags(const std::vector<std::string>& args);
std::string operatorUsage();

}  // namespace slotkeeper::op
