#include "metrics/node_metrics.h"

#include <algorithm>

namespace slotkeeper::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const char* name,
                                             const char* help) {
  return BuildGauge().Name(name).Help(help).Register(registry);
}

std::string seriesKey(const std::map<std::string, std::string>& labels) {
  std::string key;
  for (const auto& [k, v] : labels) key += k + "=" + v + ",";
  return key;
}

// The reading for the node at `ip`, whatever its port.
template <typename T>
std::optional<T> readingAt(const std::map<std::string, T>& readings, const std::string& ip) {
  auto it = readings.lower_bound(ip + ":");
  if (it == readings.end() || it->first.rfind(ip + ":", 0) != 0) return std::nullopt;
  return it->second;
}

}  // namespace

std::vector<NodeSample> samplesFrom(const std::vector<api::NodeStatus>& nodes,
                                    const NodeReadings& readings) {
  std::vector<NodeSample> out;
  for (const auto& n : nodes) {
    if (n.pod.empty() || n.ip.empty()) continue;
    NodeSample s;
    s.pod = n.pod;
    s.shard = n.shard;
    s.role = n.role;
    s.memory = readingAt(readings.memory, n.ip);
    s.load = readingAt(readings.load, n.ip);
    s.keys = readingAt(readings.keys, n.ip);
    if (n.role == "master") s.slots = api::countSlotRanges(n.slots);
    if (auto repl = readingAt(readings.replication, n.ip)) {
      s.replication_offset =
          repl->role == "slave" ? repl->slave_repl_offset : repl->master_repl_offset;
    }
    s.link_up = n.link_status == "up";
    s.lag_bytes = n.lag_bytes;
    s.lag_seconds = n.lag_seconds;
    out.push_back(std::move(s));
  }
  return out;
}

NodeMetrics::NodeMetrics(prometheus::Registry& registry)
    : memory_used_(gauge(registry, "slotkeeper_node_memory_used_bytes",
                         "Memory the node's redis has allocated (INFO used_memory)")),
      memory_max_(gauge(registry, "slotkeeper_node_memory_max_bytes",
                        "The node's maxmemory; 0 when unlimited")),
      clients_(gauge(registry, "slotkeeper_node_connected_clients",
                     "Client connections to the node, the operator's included")),
      ops_(gauge(registry, "slotkeeper_node_ops_per_second",
                 "Commands per second the node reports (instantaneous_ops_per_sec)")),
      keys_(gauge(registry, "slotkeeper_node_keys", "Keys the node holds (DBSIZE)")),
      slots_(gauge(registry, "slotkeeper_node_slots", "Masters: hash slots the node serves")),
      offset_(gauge(registry, "slotkeeper_node_replication_offset_bytes",
                    "Replication offset: a master's own, a replica's processed one")),
      link_up_(gauge(registry, "slotkeeper_node_master_link_up",
                     "Replicas: 1 when the link to the master is up, else 0")),
      lag_bytes_(gauge(registry, "slotkeeper_node_replication_lag_bytes",
                       "Replicas: the master's offset minus the replica's")),
      lag_seconds_(gauge(registry, "slotkeeper_node_replication_lag_seconds",
                         "Replicas: seconds since the last interaction with the master")),
      observed_at_(gauge(registry, "slotkeeper_node_last_observed_timestamp_seconds",
                         "Unix time the operator last read the node")),
      evicted_(BuildCounter()
                   .Name("slotkeeper_node_evicted_keys_total")
                   .Help("Keys the node evicted for maxmemory")
                   .Register(registry)),
      expired_(BuildCounter()
                   .Name("slotkeeper_node_expired_keys_total")
                   .Help("Keys the node expired (TTL)")
                   .Register(registry)) {
  gauges_ = {&memory_used_, &memory_max_, &clients_,   &ops_,         &keys_,       &slots_,
             &offset_,      &link_up_,    &lag_bytes_, &lag_seconds_, &observed_at_};
}

// Redis's counters restart from 0 with the node; the series only goes up: a value below the
// last one is a restart, and all of it is new.
void NodeMetrics::addCounter(prometheus::Family<prometheus::Counter>& family, const Labels& labels,
                             const std::string& key, int64_t raw) {
  auto& counter = family.Add(labels);
  auto [last, first] = last_raw_.try_emplace(key, 0);
  const int64_t delta = raw >= last->second ? raw - last->second : raw;
  if (delta > 0) counter.Increment(static_cast<double>(delta));
  last->second = raw;
}

void NodeMetrics::observe(const std::string& ns, const std::string& cluster,
                          const std::vector<NodeSample>& nodes, double now_seconds) {
  std::lock_guard lock(mu_);
  std::vector<Labels> now;
  for (const auto& n : nodes) {
    const Labels labels = {{"namespace", ns},
                           {"rediscluster", cluster},
                           {"pod", n.pod},
                           {"shard", std::to_string(n.shard)},
                           {"role", n.role}};
    now.push_back(labels);
    observed_at_.Add(labels).Set(now_seconds);
    if (n.memory) {
      memory_used_.Add(labels).Set(static_cast<double>(n.memory->used_memory));
      memory_max_.Add(labels).Set(static_cast<double>(n.memory->maxmemory));
    }
    if (n.load) {
      clients_.Add(labels).Set(static_cast<double>(n.load->connected_clients));
      ops_.Add(labels).Set(static_cast<double>(n.load->ops_per_sec));
      const std::string key = seriesKey(labels);
      addCounter(evicted_, labels, key + "evicted", n.load->evicted_keys);
      addCounter(expired_, labels, key + "expired", n.load->expired_keys);
    }
    if (n.keys) keys_.Add(labels).Set(static_cast<double>(*n.keys));
    if (n.slots) slots_.Add(labels).Set(static_cast<double>(*n.slots));
    if (n.replication_offset) offset_.Add(labels).Set(static_cast<double>(*n.replication_offset));
    if (n.role == "replica") {
      link_up_.Add(labels).Set(n.link_up ? 1 : 0);
      lag_bytes_.Add(labels).Set(static_cast<double>(n.lag_bytes));
      lag_seconds_.Add(labels).Set(static_cast<double>(n.lag_seconds));
    }
  }
  auto& before = emitted_[ns + "/" + cluster];
  for (const auto& labels : before) {
    if (std::find(now.begin(), now.end(), labels) == now.end()) drop(labels);
  }
  before = std::move(now);
}

void NodeMetrics::forget(const std::string& ns, const std::string& cluster) {
  std::lock_guard lock(mu_);
  auto it = emitted_.find(ns + "/" + cluster);
  if (it == emitted_.end()) return;
  for (const auto& labels : it->second) drop(labels);
  emitted_.erase(it);
}

void NodeMetrics::drop(const Labels& labels) {
  for (auto* family : gauges_) {
    if (family->Has(labels)) family->Remove(&family->Add(labels));
  }
  for (auto* family : {&evicted_, &expired_}) {
    if (family->Has(labels)) family->Remove(&family->Add(labels));
  }
  const std::string key = seriesKey(labels);
  last_raw_.erase(key + "evicted");
  last_raw_.erase(key + "expired");
}

}  // namespace slotkeeper::metrics
