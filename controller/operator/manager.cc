#include "operator/manager.h"

#include <thread>

#include "common/log.h"
#include "kube/leader_election.h"
#include "reconciler/membership.h"

namespace slotkeeper::op {
namespace {

constexpr const char* kManagedBySelector = "app.kubernetes.io/managed-by=slotkeeper";

std::string ownerKey(const nlohmann::json& object) {
  const auto& meta = object.value("metadata", nlohmann::json::object());
  const auto& labels = meta.value("labels", nlohmann::json::object());
  auto it = labels.find(reconciler::kClusterLabel);
  if (it == labels.end() || !it->is_string()) return "";
  return meta.value("namespace", "") + "/" + it->get<std::string>();
}

}  // namespace

Manager::Manager(kube::KubeClient& client, KeyReconciler& reconciler, Clock& clock,
                 ManagerOptions options)
    : client_(client),
      reconciler_(reconciler),
      clock_(clock),
      options_(std::move(options)),
      queue_(clock_,
             kube::WorkQueueOptions{std::chrono::milliseconds(200), std::chrono::seconds(60),
                                    std::chrono::milliseconds(50)}) {}

Manager::~Manager() {
  stop();
  stopInformers();
}

void Manager::enqueueOwner(const nlohmann::json& object) {
  std::string key = ownerKey(object);
  if (!key.empty()) queue_.add(key);
}

void Manager::startInformers() {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const auto& ns : namespaces) {
    kube::ResourceEventHandlers cluster_handlers;
    cluster_handlers.on_add = [this](const nlohmann::json& o) { queue_.add(kube::objectKey(o)); };
    cluster_handlers.on_update = [this](const nlohmann::json&, const nlohmann::json& o) {
      queue_.add(kube::objectKey(o));
    };
    cluster_handlers.on_delete = [this](const nlohmann::json& o) {
      queue_.add(kube::objectKey(o));
    };
    cluster_informers_.push_back(std::make_unique<kube::Reflector>(
        client_, kube::kRedisClusters.in(ns), kube::ReflectorOptions{}, cluster_handlers));

    kube::ResourceEventHandlers owned_handlers;
    owned_handlers.on_add = [this](const nlohmann::json& o) { enqueueOwner(o); };
    owned_handlers.on_update = [this](const nlohmann::json&, const nlohmann::json& o) {
      enqueueOwner(o);
    };
    owned_handlers.on_delete = [this](const nlohmann::json& o) { enqueueOwner(o); };
    kube::ReflectorOptions owned_options;
    owned_options.label_selector = kManagedBySelector;
    for (const auto& collection : {kube::kStatefulSets, kube::kPods}) {
      owned_informers_.push_back(std::make_unique<kube::Reflector>(client_, collection.in(ns),
                                                                   owned_options, owned_handlers));
    }
  }
  for (auto& r : cluster_informers_) r->start();
  for (auto& r : owned_informers_) r->start();
}

void Manager::stopInformers() {
  for (auto& r : owned_informers_) r->stop();
  for (auto& r : cluster_informers_) r->stop();
  owned_informers_.clear();
  cluster_informers_.clear();
}

bool Manager::informersSynced() const {
  for (const auto& r : cluster_informers_) {
    if (!r->hasSynced()) return false;
  }
  for (const auto& r : owned_informers_) {
    if (!r->hasSynced()) return false;
  }
  return !cluster_informers_.empty();
}

kube::Store* Manager::redisClusterStore(const std::string& ns) {
  for (size_t i = 0; i < cluster_informers_.size(); ++i) {
    bool all = options_.namespaces.empty();
    if (all || options_.namespaces[i] == ns) return &cluster_informers_[i]->store();
  }
  return nullptr;
}

void Manager::processKey(const std::string& key) {
  auto started = clock_.now();
  auto result = reconciler_.reconcile(key, stopping_);
  double seconds = std::chrono::duration<double>(clock_.now() - started).count();
  if (on_reconcile_) on_reconcile_(key, seconds, !result.isOk());
  if (result.isOk()) {
    queue_.forget(key);
    if (result->count() > 0) queue_.addAfter(key, *result);
    log::debug("reconciled", {{"cluster", key}, {"seconds", seconds}});
    return;
  }
  const Status& error = result.status();
  log::warn("reconcile failed",
            {{"cluster", key}, {"error", error.toString()}, {"seconds", seconds}});
  switch (retryClassFor(error.code())) {
    case RetryClass::kImmediate:
      queue_.add(key);
      break;
    case RetryClass::kNone:
      break;
    case RetryClass::kBackoff:
    case RetryClass::kWaitForChange:
      // Waiting for a change still re-checks now and then: not every change raises an event
      // (a redis node recovering, a secret appearing).
      queue_.addRateLimited(key);
      break;
  }
}

void Manager::workerLoop() {
  while (auto key = queue_.get()) {
    processKey(*key);
    queue_.done(*key);
  }
}

void Manager::runWorkers(std::stop_token stop) {
  leading_ = true;
  log::info("started leading; starting informers and workers",
            {{"workers", options_.workers}, {"identity", options_.identity}});
  startInformers();
  std::vector<std::jthread> workers;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers.emplace_back([this] { workerLoop(); });
  }
  while (!stop.stop_requested() && !stopping_) {
    if (on_state_) on_state_(true, queue_.len());
    clock_.sleepFor(std::chrono::milliseconds(200));
  }
  stopping_ = true;
  queue_.shutDown();
  workers.clear();  // joins: each worker finishes its current key at a safe point
  stopInformers();
  leading_ = false;
  if (on_state_) on_state_(false, 0);
  log::info("stopped leading");
}

Status Manager::run() {
  if (!options_.leader_elect) {
    runWorkers(stop_source_.get_token());
    return Status::ok();
  }
  kube::LeaderElectionConfig config;
  config.lease_namespace = options_.leader_election_namespace;
  config.lease_name = options_.leader_election_id;
  config.identity = options_.identity;
  kube::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [this](std::stop_token stop) { runWorkers(stop); };
  callbacks.on_new_leader = [](const std::string& id) {
    log::info("leader observed", {{"leader", id}});
  };
  kube::LeaderElector elector(client_, config, callbacks, clock_);
  elector.run(stop_source_.get_token());
  return stopping_ ? Status::ok() : unavailable("leadership lost");
}

void Manager::setObservers(ReconcileObserver on_reconcile, StateObserver on_state) {
  on_reconcile_ = std::move(on_reconcile);
  on_state_ = std::move(on_state);
}

void Manager::stop() {
  stopping_ = true;
  stop_source_.request_stop();
}

}  // namespace slotkeeper::op
