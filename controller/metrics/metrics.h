// Prometheus metrics of the operator and of every RedisCluster it manages, served on /metrics
// together with /healthz and /readyz.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "api/types.h"
#include "common/status.h"
#include "metrics/node_metrics.h"

namespace slotkeeper::metrics {

class OperatorMetrics {
 public:
  OperatorMetrics();

  // Per-cluster series, refreshed during and after every reconcile pass. slots_moved,
  // keys_moved and key_conflicts are added to the counters. The health series (state, slots) appear
  // once the cluster has formed, so a cluster being created does not look like one that is down.
  void observeCluster(const api::RedisCluster& cluster, const api::RedisClusterStatus& status,
                      int64_t slots_moved, int64_t keys_moved, int64_t key_conflicts,
                      bool migration_in_progress);
  // The per-node series of a cluster, from the pass that just read its nodes.
  void observeNodes(const api::RedisCluster& cluster, const std::vector<NodeSample>& nodes);
  // Drops every series of a deleted cluster, so its alerts resolve.
  void forgetCluster(const std::string& ns, const std::string& name);
  // Counts a pass and its duration per cluster (not for a cluster just forgotten).
  void observeReconcile(const std::string& ns, const std::string& name, double seconds, bool error);
  void setQueueDepth(double depth) { queue_depth_.Set(depth); }
  void setLeader(bool leader) { leader_.Set(leader ? 1 : 0); }
  // One Kubernetes API request by verb and HTTP status (0: no answer); a watch is "WATCH".
  void countKubeRequest(std::string_view verb, int status);

  // Prometheus text exposition of everything registered.
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  NodeMetrics nodes_;
  prometheus::Family<prometheus::Gauge>& masters_;
  prometheus::Family<prometheus::Gauge>& replicas_;
  prometheus::Family<prometheus::Gauge>& unprotected_;
  prometheus::Family<prometheus::Gauge>& outdated_pods_;
  prometheus::Family<prometheus::Gauge>& slots_assigned_;
  prometheus::Family<prometheus::Gauge>& slots_ok_;
  prometheus::Family<prometheus::Gauge>& state_ok_;
  prometheus::Family<prometheus::Counter>& slots_migrated_;
  prometheus::Family<prometheus::Counter>& keys_migrated_;
  prometheus::Family<prometheus::Counter>& key_conflicts_;
  prometheus::Family<prometheus::Gauge>& migration_in_progress_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Counter>& reconciles_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& leader_;
  prometheus::Family<prometheus::Counter>& kube_requests_;

  std::mutex mu_;                 // guards the two sets; worker threads report concurrently
  std::set<std::string> formed_;  // "ns/name" of clusters seen with slots assigned
  std::set<std::string> gone_;    // "ns/name" of clusters forgotten since their last pass
};

// Serves /metrics, /healthz and /readyz until stop(). `ready` decides /readyz.
class HttpServer {
 public:
  HttpServer(OperatorMetrics& metrics, std::function<bool()> ready);
  ~HttpServer();
  // Binds host:port and serves on a background thread.
  Status start(const std::string& address);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slotkeeper::metrics
