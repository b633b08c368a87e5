#include "operator/manager.h"

#include <thread>

#include "common/log.h"
#include "resources/metadata.h"

namespace slotkeeper::op {
namespace {

using nlohmann::json;

std::string managedBySelector() {
  return std::string(resources::kLabelManagedBy) + "=" + std::string(resources::kManagerName);
}

// An informer of the objects the operator owns (by its label), each slimmed by `transform`.
kube::ReflectorOptions ownedObjectsOptions(std::function<void(json& object)> transform) {
  kube::ReflectorOptions options;
  options.label_selector = managedBySelector();
  options.transform = std::move(transform);
  return options;
}

std::string ownerKey(const json& object) {
  const auto& meta = object.value("metadata", json::object());
  const auto& labels = meta.value("labels", json::object());
  auto it = labels.find(std::string(resources::kLabelCluster));
  if (it == labels.end() || !it->is_string()) return "";
  return meta.value("namespace", "") + "/" + it->get<std::string>();
}

const json& field(const json& object, const char* name) {
  static const json kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

// The parts of an object a reconcile pass reads. A RedisCluster's status is written by the
// operator itself, so it is left out: otherwise every status write would start a new pass.
json relevantParts(const json& object) {
  const json& meta = field(object, "metadata");
  json parts = {{"generation", field(meta, "generation")},
                {"labels", field(meta, "labels")},
                {"annotations", field(meta, "annotations")},
                {"deletionTimestamp", field(meta, "deletionTimestamp")},
                {"spec", field(object, "spec")}};
  if (object.value("kind", "") != "RedisCluster") parts["status"] = field(object, "status");
  return parts;
}

}  // namespace

bool specChanged(const json& old_object, const json& new_object) {
  const auto generation = [](const json& o) {
    return o.value("metadata", json::object()).value("generation", int64_t{0});
  };
  return generation(old_object) != generation(new_object);
}

bool wakesReconcile(const json& old_object, const json& new_object) {
  return relevantParts(old_object) != relevantParts(new_object);
}

Manager::Manager(kube::KubeClient& client, kube::KeyReconciler& reconciler, Clock& clock,
                 ManagerOptions options)
    : client_(client),
      reconciler_(reconciler),
      clock_(clock),
      options_(std::move(options)),
      // The poll only backs up clocks that move without waking the queue; with the real clock a
      // blocked worker sleeps exactly until the next delayed key is due, and a 50 ms poll woke
      // every idle worker 20 times a second for nothing.
      queue_(clock_,
             kube::WorkQueueOptions{std::chrono::milliseconds(200), std::chrono::seconds(60),
                                    std::chrono::milliseconds(1000)}) {}

Manager::~Manager() {
  stop();
  stopInformers();
}

void Manager::enqueueOwner(const json& object) {
  std::string key = ownerKey(object);
  if (!key.empty()) queue_.add(key);
}

void Manager::startInformers() {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  std::lock_guard lock(informers_mu_);
  informer_namespaces_ = namespaces;
  for (const auto& ns : namespaces) {
    kube::ResourceEventHandlers cluster_handlers;
    cluster_handlers.on_add = [this](const json& o) { queue_.add(kube::objectKey(o)); };
    cluster_handlers.on_update = [this](const json& old_object, const json& o) {
      if (specChanged(old_object, o)) {
        queue_.addFirst(kube::objectKey(o));
      } else if (wakesReconcile(old_object, o)) {
        queue_.add(kube::objectKey(o));
      }
    };
    cluster_handlers.on_delete = [this](const json& o) { queue_.add(kube::objectKey(o)); };
    // No reader looks at managedFields; dropped, they are neither kept nor copied by every pass.
    kube::ReflectorOptions cluster_options;
    cluster_options.transform = kube::dropManagedFields;
    cluster_informers_.push_back(std::make_unique<kube::Reflector>(
        client_, kube::kRedisClusters.in(ns), cluster_options, cluster_handlers));

    kube::ResourceEventHandlers owned_handlers;
    owned_handlers.on_add = [this](const json& o) { enqueueOwner(o); };
    owned_handlers.on_update = [this](const json& old_object, const json& o) {
      if (wakesReconcile(old_object, o)) enqueueOwner(o);
    };
    owned_handlers.on_delete = [this](const json& o) { enqueueOwner(o); };
    statefulset_informers_.push_back(std::make_unique<kube::Reflector>(
        client_, kube::kStatefulSets.in(ns),
        ownedObjectsOptions(options_.statefulset_cache_transform), owned_handlers));
    pod_informers_.push_back(std::make_unique<kube::Reflector>(
        client_, kube::kPods.in(ns), ownedObjectsOptions(options_.pod_cache_transform),
        owned_handlers));
  }
  for (auto& r : cluster_informers_) r->start();
  for (auto& r : statefulset_informers_) r->start();
  for (auto& r : pod_informers_) r->start();
}

void Manager::stopInformers() {
  std::lock_guard lock(informers_mu_);
  for (auto& r : pod_informers_) r->stop();
  for (auto& r : statefulset_informers_) r->stop();
  for (auto& r : cluster_informers_) r->stop();
  pod_informers_.clear();
  statefulset_informers_.clear();
  cluster_informers_.clear();
  informer_namespaces_.clear();
}

bool Manager::informersSynced() const {
  std::lock_guard lock(informers_mu_);
  for (const auto* list : {&cluster_informers_, &statefulset_informers_, &pod_informers_}) {
    for (const auto& r : *list) {
      if (!r->hasSynced()) return false;
    }
  }
  return !cluster_informers_.empty();
}

const kube::Reflector* Manager::informerFor(const kube::ResourceRef& collection,
                                            const std::string& ns) const {
  auto same_kind = [&](const kube::ResourceRef& known) {
    return collection.group == known.group && collection.plural == known.plural;
  };
  const std::vector<std::unique_ptr<kube::Reflector>>* list = nullptr;
  if (same_kind(kube::kRedisClusters)) list = &cluster_informers_;
  if (same_kind(kube::kStatefulSets)) list = &statefulset_informers_;
  if (same_kind(kube::kPods)) list = &pod_informers_;
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < informer_namespaces_.size() && i < list->size(); ++i) {
    if (informer_namespaces_[i].empty() || informer_namespaces_[i] == ns) return (*list)[i].get();
  }
  return nullptr;
}

std::optional<json> Manager::get(const kube::ResourceRef& collection, const std::string& ns,
                                 const std::string& name) const {
  std::lock_guard lock(informers_mu_);
  const kube::Reflector* r = informerFor(collection, ns);
  if (r == nullptr) return std::nullopt;
  return r->store().get(ns, name);
}

std::vector<json> Manager::list(const kube::ResourceRef& collection, const std::string& ns,
                                const std::map<std::string, std::string>& labels) const {
  std::lock_guard lock(informers_mu_);
  const kube::Reflector* r = informerFor(collection, ns);
  if (r == nullptr) return {};
  return r->store().listNamespaceByLabels(ns, labels);
}

bool Manager::holdsLeaseFor(std::chrono::milliseconds margin) const {
  if (!options_.leader_elect) return true;
  const kube::LeaderElector* elector = elector_.load();
  return elector != nullptr && elector->holdsLeaseFor(margin);
}

void Manager::processKey(const std::string& key) {
  auto started = clock_.now();
  kube::ReconcileContext context;
  context.stopping = &stopping_;
  if (options_.leader_elect) {
    context.holds_lease_for = [this](std::chrono::milliseconds m) { return holdsLeaseFor(m); };
  }
  auto result = reconciler_.reconcile(key, context);
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
  // Passes read Kubernetes from the caches, so none runs before they hold the initial lists.
  while (!informersSynced() && !stop.stop_requested() && !stopping_) {
    clock_.sleepFor(std::chrono::milliseconds(50));
  }
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
  workers.clear();  // joins: each worker finishes its current slice at a safe point
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
  elector_ = &elector;
  elector.run(stop_source_.get_token());
  elector_ = nullptr;
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
