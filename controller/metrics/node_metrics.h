// Per-node series of every RedisCluster, from what the operator reads of each node on every pass
// anyway (INFO memory, clients, stats, replication, DBSIZE): no exporter sidecar is needed.
// Labels are the cluster's plus pod, shard and role, so cardinality is one set per pod.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "redis/cluster_nodes.h"

namespace slotkeeper::metrics {

// What one pass observed of one node.
struct NodeSample {
  std::string pod;
  int32_t shard = 0;
  std::string role;  // "master" or "replica"
  std::optional<redis::MemoryInfo> memory;
  std::optional<redis::LoadInfo> load;
  std::optional<int64_t> keys;
  std::optional<int64_t> slots;               // masters only: hash slots the node serves
  std::optional<int64_t> replication_offset;  // master_repl_offset, or the replica's own
  // Replicas only.
  bool link_up = false;
  int64_t lag_bytes = 0;
  int64_t lag_seconds = 0;
};

// What a pass read of the nodes, each map by "ip:port".
struct NodeReadings {
  std::map<std::string, redis::MemoryInfo> memory;
  std::map<std::string, redis::LoadInfo> load;
  std::map<std::string, redis::ReplicationInfo> replication;
  std::map<std::string, int64_t> keys;
};

// One sample per node of the status, with whatever the readings hold for its address.
std::vector<NodeSample> samplesFrom(const std::vector<api::NodeStatus>& nodes,
                                    const NodeReadings& readings);

class NodeMetrics {
 public:
  explicit NodeMetrics(prometheus::Registry& registry);

  // Sets the series of every node in `nodes` (observed at `now_seconds`, Unix time) and drops
  // the cluster's series that are not among them: a pod that is gone, or a node's series under
  // the role it had before a failover.
  void observe(const std::string& ns, const std::string& cluster,
               const std::vector<NodeSample>& nodes, double now_seconds);
  // Drops every series of the cluster.
  void forget(const std::string& ns, const std::string& cluster);

 private:
  using Labels = std::map<std::string, std::string>;
  void drop(const Labels& labels);
  void addCounter(prometheus::Family<prometheus::Counter>& family, const Labels& labels,
                  const std::string& key, int64_t raw);

  std::vector<prometheus::Family<prometheus::Gauge>*> gauges_;
  prometheus::Family<prometheus::Gauge>& memory_used_;
  prometheus::Family<prometheus::Gauge>& memory_max_;
  prometheus::Family<prometheus::Gauge>& clients_;
  prometheus::Family<prometheus::Gauge>& ops_;
  prometheus::Family<prometheus::Gauge>& keys_;
  prometheus::Family<prometheus::Gauge>& slots_;
  prometheus::Family<prometheus::Gauge>& offset_;
  prometheus::Family<prometheus::Gauge>& link_up_;
  prometheus::Family<prometheus::Gauge>& lag_bytes_;
  prometheus::Family<prometheus::Gauge>& lag_seconds_;
  prometheus::Family<prometheus::Gauge>& observed_at_;
  prometheus::Family<prometheus::Counter>& evicted_;
  prometheus::Family<prometheus::Counter>& expired_;

  std::mutex mu_;  // worker threads observe different clusters concurrently
  // Label sets emitted per cluster ("ns/name"), and the raw Redis counters last seen per series.
  std::map<std::string, std::vector<Labels>> emitted_;
  std::map<std::string, int64_t> last_raw_;
};

}  // namespace slotkeeper::metrics
