#include "metrics/metrics.h"

#include <httplib.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <thread>

#include "redis/node_client.h"

namespace slotkeeper::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries kDurationBuckets{0.01, 0.05, 0.1, 0.5, 1,  5,
                                                               10,   30,   60,  300, 900};

prometheus::Labels clusterLabels(const std::string& ns, const std::string& name) {
  return {{"namespace", ns}, {"rediscluster", name}};
}

// Counters only go up: add what a pass reports beyond what was already counted.
void addTo(prometheus::Counter& counter, int64_t total_for_pass) {
  if (total_for_pass > 0) counter.Increment(static_cast<double>(total_for_pass));
}

}  // namespace

OperatorMetrics::OperatorMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      nodes_(*registry_),
      masters_(BuildGauge()
                   .Name("slotkeeper_cluster_masters")
                   .Help("Masters holding slots, as observed")
                   .Register(*registry_)),
      replicas_(BuildGauge()
                    .Name("slotkeeper_cluster_replicas")
                    .Help("Replicas whose link to their master is up")
                    .Register(*registry_)),
      unprotected_(BuildGauge()
                       .Name("slotkeeper_cluster_masters_without_replica")
                       .Help("Masters with no linked replica: one failure loses their slots")
                       .Register(*registry_)),
      outdated_pods_(BuildGauge()
                         .Name("slotkeeper_cluster_pods_outdated")
                         .Help("Pods on an older pod template, waiting for the rolling restart")
                         .Register(*registry_)),
      slots_assigned_(BuildGauge()
                          .Name("slotkeeper_cluster_slots_assigned")
                          .Help("Hash slots assigned to a master (of 16384)")
                          .Register(*registry_)),
      slots_ok_(BuildGauge()
                    .Name("slotkeeper_cluster_slots_ok")
                    .Help("Hash slots served by a healthy master (of 16384)")
                    .Register(*registry_)),
      state_ok_(BuildGauge()
                    .Name("slotkeeper_cluster_state_ok")
                    .Help("1 when cluster_state is ok, else 0")
                    .Register(*registry_)),
      slots_migrated_(BuildCounter()
                          .Name("slotkeeper_cluster_slots_migrated_total")
                          .Help("Hash slots moved between masters")
                          .Register(*registry_)),
      keys_migrated_(BuildCounter()
                         .Name("slotkeeper_cluster_keys_migrated_total")
                         .Help("Keys moved between masters")
                         .Register(*registry_)),
      key_conflicts_(BuildCounter()
                         .Name("slotkeeper_cluster_key_conflicts_total")
                         .Help("Keys found on both sides of a move with different values; "
                               "the copy of the node that kept serving them was kept")
                         .Register(*registry_)),
      migration_in_progress_(BuildGauge()
                                 .Name("slotkeeper_cluster_migration_in_progress")
                                 .Help("1 while a topology change is running")
                                 .Register(*registry_)),
      last_success_(BuildGauge()
                        .Name("slotkeeper_cluster_last_successful_reconcile_timestamp_seconds")
                        .Help("Unix time of the last reconcile pass without error")
                        .Register(*registry_)),
      reconciles_(BuildCounter()
                      .Name("slotkeeper_reconcile_total")
                      .Help("Reconcile passes")
                      .Register(*registry_)),
      errors_(BuildCounter()
                  .Name("slotkeeper_reconcile_errors_total")
                  .Help("Reconcile passes that ended in an error")
                  .Register(*registry_)),
      duration_(BuildHistogram()
                    .Name("slotkeeper_reconcile_duration_seconds")
                    .Help("Duration of reconcile passes")
                    .Register(*registry_)),
      queue_depth_(BuildGauge()
                       .Name("slotkeeper_workqueue_depth")
                       .Help("Cluster keys waiting to be reconciled")
                       .Register(*registry_)
                       .Add({})),
      leader_(BuildGauge()
                  .Name("slotkeeper_leader")
                  .Help("1 when this process is the elected leader")
                  .Register(*registry_)
                  .Add({})),
      kube_requests_(BuildCounter()
                         .Name("slotkeeper_kube_requests_total")
                         .Help("Kubernetes API requests by verb and HTTP status (0: no answer)")
                         .Register(*registry_)) {
  BuildGauge()
      .Name("slotkeeper_build_info")
      .Help("Build information; the value is always 1")
      .Register(*registry_)
      .Add({{"version", SLOTKEEPER_VERSION}})
      .Set(1);
}

void OperatorMetrics::observeCluster(const api::RedisCluster& cluster,
                                     const api::RedisClusterStatus& status, int64_t slots_moved,
                                     int64_t keys_moved, int64_t key_conflicts,
                                     bool migration_in_progress) {
  const std::string key = cluster.ns + "/" + cluster.name;
  auto labels = clusterLabels(cluster.ns, cluster.name);
  masters_.Add(labels).Set(status.masters);
  replicas_.Add(labels).Set(status.ready_replicas);
  unprotected_.Add(labels).Set(status.unprotected_masters);
  outdated_pods_.Add(labels).Set(status.outdated_pods);
  addTo(slots_migrated_.Add(labels), slots_moved);
  addTo(keys_migrated_.Add(labels), keys_moved);
  addTo(key_conflicts_.Add(labels), key_conflicts);
  migration_in_progress_.Add(labels).Set(migration_in_progress ? 1 : 0);

  std::lock_guard lock(mu_);
  gone_.erase(key);
  // Nodes that have not been joined yet report cluster_state fail and no slots; that is a
  // cluster being created, not one that is down, so the health series start once it has formed.
  const bool known = status.cluster_state == "ok" || status.cluster_state == "fail";
  if (known && status.slots_assigned > 0) formed_.insert(key);
  if (!formed_.count(key)) return;
  if (known) {
    slots_assigned_.Add(labels).Set(status.slots_assigned);
    slots_ok_.Add(labels).Set(status.slots_ok);
    state_ok_.Add(labels).Set(status.cluster_state == "ok" ? 1 : 0);
  } else {
    // A formed cluster whose nodes cannot be read: no slot is known to be served.
    slots_ok_.Add(labels).Set(0);
    state_ok_.Add(labels).Set(0);
  }
}

void OperatorMetrics::observeNodes(const api::RedisCluster& cluster,
                                   const std::vector<NodeSample>& nodes) {
  {
    std::lock_guard lock(mu_);
    if (gone_.count(cluster.ns + "/" + cluster.name)) return;
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  nodes_.observe(cluster.ns, cluster.name, nodes, std::chrono::duration<double>(now).count());
}

void OperatorMetrics::forgetCluster(const std::string& ns, const std::string& name) {
  nodes_.forget(ns, name);
  auto labels = clusterLabels(ns, name);
  auto drop = [&labels](auto& family) {
    if (family.Has(labels)) family.Remove(&family.Add(labels));
  };
  for (auto* family : {&masters_, &replicas_, &unprotected_, &outdated_pods_, &slots_assigned_,
                       &slots_ok_, &state_ok_, &migration_in_progress_, &last_success_}) {
    drop(*family);
  }
  for (auto* family : {&slots_migrated_, &keys_migrated_, &key_conflicts_, &reconciles_, &errors_})
    drop(*family);
  if (duration_.Has(labels)) duration_.Remove(&duration_.Add(labels, kDurationBuckets));
  std::lock_guard lock(mu_);
  formed_.erase(ns + "/" + name);
  gone_.insert(ns + "/" + name);
}

void OperatorMetrics::countKubeRequest(std::string_view verb, int status) {
  kube_requests_.Add({{"verb", std::string(verb)}, {"code", std::to_string(status)}}).Increment();
}

void OperatorMetrics::observeReconcile(const std::string& ns, const std::string& name,
                                       double seconds, bool error) {
  {
    // The pass that found the cluster deleted would otherwise bring its series back.
    std::lock_guard lock(mu_);
    if (gone_.count(ns + "/" + name)) return;
  }
  auto labels = clusterLabels(ns, name);
  reconciles_.Add(labels).Increment();
  // The error counter exists from the first pass, so rate() sees a starting zero.
  auto& errors = errors_.Add(labels);
  if (error) {
    errors.Increment();
  } else {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    last_success_.Add(labels).Set(std::chrono::duration<double>(now).count());
  }
  duration_.Add(labels, kDurationBuckets).Observe(seconds);
}

std::string OperatorMetrics::render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
};

HttpServer::HttpServer(OperatorMetrics& metrics, std::function<bool()> ready)
    : impl_(std::make_unique<Impl>()) {
  impl_->server.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
  impl_->server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  impl_->server.Get("/readyz", [ready](const httplib::Request&, httplib::Response& res) {
    bool ok = ready();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "not ready\n", "text/plain");
  });
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& address) {
  ASSIGN_OR_RETURN(auto host_port, redis::splitAddress(address));
  if (!impl_->server.bind_to_port(host_port.first.c_str(), host_port.second)) {
    return unavailable("cannot listen on " + address);
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return Status::ok();
}

void HttpServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace slotkeeper::metrics
