// The controller manager: informers for RedisClusters and the StatefulSets and Pods the
// operator owns, a work queue of cluster keys, worker threads, and leader election. Several
// clusters reconcile at once (one worker per key at a time), so a long migration in one
// never blocks another.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"
#include "kube/reflector.h"
#include "kube/workqueue.h"

namespace slotkeeper::op {

// One reconcile pass for "namespace/name". Returns when to look again (periodic health check
// or progress polling), or an error whose code decides the retry (DESIGN.md §5).
class KeyReconciler {
 public:
  virtual ~KeyReconciler() = default;
  virtual Result<std::chrono::milliseconds> reconcile(const std::string& key,
                                                      const std::atomic<bool>& stopping) = 0;
};

struct ManagerOptions {
  std::vector<std::string> namespaces;  // empty = all namespaces
  int workers = 4;
  bool leader_elect = true;
  std::string leader_election_namespace = "default";
  std::string leader_election_id = "slotkeeper-leader";
  std::string identity;  // unique per process
};

class Manager {
 public:
  Manager(kube::KubeClient& client, KeyReconciler& reconciler, Clock& clock,
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
  kube::Store* redisClusterStore(const std::string& ns);

 private:
  void startInformers();
  void stopInformers();
  void runWorkers(std::stop_token stop);
  void workerLoop();
  void processKey(const std::string& key);
  void enqueueOwner(const nlohmann::json& object);

  kube::KubeClient& client_;
  KeyReconciler& reconciler_;
  Clock& clock_;
  ManagerOptions options_;
  kube::WorkQueue queue_;
  std::vector<std::unique_ptr<kube::Reflector>> cluster_informers_;
  std::vector<std::unique_ptr<kube::Reflector>> owned_informers_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> leading_{false};
  std::stop_source stop_source_;
  ReconcileObserver on_reconcile_;
  StateObserver on_state_;
};

}  // namespace slotkeeper::op
