// The controller manager: informers for RedisClusters and the StatefulSets and Pods the
// operator owns, a work queue of cluster keys, worker threads, and leader election. Several
// clusters reconcile at once (one worker per key at a time); a pass does a bounded slice of
// work and requeues, so a long migration never holds a worker. Only changes a pass could act
// on wake it: the operator's own status writes do not (see wakesReconcile). A RedisCluster whose
// spec changed goes to the front of the queue (someone waits on it), ahead of passes that only
// continue a change.
// Thread-safe: run() on one thread, stop() and the observers' reads from any.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/leader_election.h"
#include "kube/reflector.h"
#include "kube/workqueue.h"

namespace slotkeeper::op {

struct ManagerOptions {
  std::vector<std::string> namespaces;  // empty = all namespaces
  int workers = 4;
  bool leader_elect = true;
  std::string leader_election_namespace = "default";
  std::string leader_election_id = "slotkeeper-leader";
  std::string identity;  // unique per process
  // Applied to each pod and StatefulSet as it enters the caches, so that they keep only what
  // the reconciler reads (RedisClusters lose managedFields only).
  std::function<void(nlohmann::json&)> pod_cache_transform = kube::dropManagedFields;
  std::function<void(nlohmann::json&)> statefulset_cache_transform = kube::dropManagedFields;
};

// Whether an update from `old_object` to `new_object` (a RedisCluster, StatefulSet or Pod) can
// change what a reconcile pass decides. Status-only writes of a RedisCluster (the operator's
// own) and resourceVersion-only changes do not. Pure.
bool wakesReconcile(const nlohmann::json& old_object, const nlohmann::json& new_object);

// Whether the update changed an object's metadata.generation (for a RedisCluster: its spec).
bool specChanged(const nlohmann::json& old_object, const nlohmann::json& new_object);

class Manager final : public kube::ObjectCache {
 public:
  Manager(kube::KubeClient& client, kube::KeyReconciler& reconciler, Clock& clock,
          ManagerOptions options);
  ~Manager();

  // Runs until stop() (or a lost leadership): waits to lead, starts informers and workers.
  Status run();
  // Asks everything to stop; in-flight reconciles stop at their next safe point.
  void stop();

  using ReconcileObserver = std::function<void(const std::string& key, double seconds, bool error)>;
  using StateObserver = std::function<void(bool leader, size_t queue_depth)>;
  // For metrics; call before run().
  void setObservers(ReconcileObserver on_reconcile, StateObserver on_state);

  bool isLeader() const { return leading_.load(); }
  bool informersSynced() const;
  size_t queueDepth() const { return queue_.len(); }
  // kube::ObjectCache over the running informers (RedisClusters, StatefulSets, Pods).
  std::optional<nlohmann::json> get(const kube::ResourceRef& collection, const std::string& ns,
                                    const std::string& name) const override;
  std::vector<nlohmann::json> list(const kube::ResourceRef& collection, const std::string& ns,
                                   const std::map<std::string, std::string>& labels) const override;

 private:
  void startInformers();
  void stopInformers();
  void runWorkers(std::stop_token stop);
  void workerLoop();
  void processKey(const std::string& key);
  void enqueueOwner(const nlohmann::json& object);
  const kube::Reflector* informerFor(const kube::ResourceRef& collection,
                                     const std::string& ns) const;
  bool holdsLeaseFor(std::chrono::milliseconds margin) const;

  kube::KubeClient& client_;
  kube::KeyReconciler& reconciler_;
  Clock& clock_;
  ManagerOptions options_;
  kube::WorkQueue queue_;
  // Guards the informer lists against readers (ObjectCache) while they are started or stopped.
  mutable std::mutex informers_mu_;
  std::vector<std::string> informer_namespaces_;  // "" = all; parallel to cluster_informers_
  std::vector<std::unique_ptr<kube::Reflector>> cluster_informers_;
  std::vector<std::unique_ptr<kube::Reflector>> statefulset_informers_;
  std::vector<std::unique_ptr<kube::Reflector>> pod_informers_;
  std::atomic<kube::LeaderElector*> elector_{nullptr};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> leading_{false};
  std::stop_source stop_source_;
  ReconcileObserver on_reconcile_;
  StateObserver on_state_;
};

}  // namespace slotkeeper::op
