// One reconcile pass of a RedisCluster: snapshot → decide → act. The snapshot reads everything
// once (caches, the Secret, one look at Redis), decide() is pure, and the act layer carries the
// decision out, running at most one bounded, fenced slice of topology work before requeueing.
// docs/architecture.md describes the pass and the rules it keeps.
// Thread-safe: workers call reconcile() concurrently for different keys.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "api/types.h"
#include "common/clock.h"
#include "kube/controller.h"
#include "reconciler/act.h"
#include "reconciler/decide.h"
#include "reconciler/ports.h"
#include "reconciler/snapshot.h"

namespace slotkeeper::reconciler {

struct ReconcilerOptions {
  DecideOptions decide;
  ActOptions act;
  SnapshotOptions snapshot;
};

// Told what a pass observed, for metrics: as a topology change makes progress (in_progress
// true) and at the end of every pass. slots_moved, keys_moved and key_conflicts are counted
// since the previous call, so counters advance while a long migration runs. `live` is what the
// pass read of the nodes (null in the reports made during a migration, and when nothing could
// be read).
using StatusObserver = std::function<void(
    const api::RedisCluster& cluster, const api::RedisClusterStatus& status, int64_t slots_moved,
    int64_t keys_moved, int64_t key_conflicts, bool in_progress, const LiveObservation* live)>;

// Told when a pass finds its RedisCluster deleted (or being deleted), so its metrics go too.
using GoneObserver = std::function<void(const std::string& ns, const std::string& name)>;

class ClusterReconciler final : public kube::KeyReconciler {
 public:
  ClusterReconciler(KubePort& kube, RedisPort& redis, Clock& clock, ReconcilerOptions options,
                    StatusObserver observer = {});
  void setGoneObserver(GoneObserver on_gone) { on_gone_ = std::move(on_gone); }

  Result<std::chrono::milliseconds> reconcile(const std::string& key,
                                              const kube::ReconcileContext& context) override;

 private:
  SnapshotMemory recall(const std::string& key);
  void remember(const std::string& key, SnapshotMemory memory);
  void forget(const std::string& key);
  void recordEvents(const Snapshot& snapshot, const Decision& decision);
  Status runSlice(const kube::ReconcileContext& context, const Snapshot& snapshot,
                  Decision& decision, api::RedisClusterStatus* written, SnapshotMemory* memory);
  static void rememberPassword(const Snapshot& snapshot, const Decision& decision,
                               SnapshotMemory* memory);
  Status runRestarts(const kube::ReconcileContext& context, const Snapshot& snapshot,
                     Decision& decision, SnapshotMemory* memory);

  KubePort& kube_;
  RedisPort& redis_;
  Clock& clock_;
  ReconcilerOptions options_;
  StatusObserver observer_;
  GoneObserver on_gone_;
  std::mutex mu_;  // guards memory_
  std::map<std::string, SnapshotMemory> memory_;
};

}  // namespace slotkeeper::reconciler
