// One reconcile pass of a RedisCluster: fetch → owned resources → pods → observe → plan →
// execute → clean up → status. Every decision that removes something is taken from a fresh
// read of the live cluster, never from memory.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "api/types.h"
#include "common/clock.h"
#include "engine/converge.h"
#include "kube/client.h"
#include "kube/events.h"
#include "operator/manager.h"
#include "reconciler/membership.h"
#include "reconciler/status_builder.h"

namespace slotkeeper::reconciler {

struct ReconcilerOptions {
  std::chrono::milliseconds health_check_interval{30000};
  std::chrono::milliseconds pods_poll_interval{2000};
  std::string field_manager = "slotkeeper";
};

// Told what a pass observed, for metrics: when a topology change starts, as it makes progress
// (in_progress true), and at the end of every pass. slots_moved and keys_moved are what moved
// since the previous call, so counters advance while a long migration runs.
using StatusObserver =
    std::function<void(const api::RedisCluster& cluster, const api::RedisClusterStatus& status,
                       int64_t slots_moved, int64_t keys_moved, bool in_progress)>;

// Told when a pass finds its RedisCluster deleted (or being deleted), so its metrics go too.
using GoneObserver = std::function<void(const std::string& ns, const std::string& name)>;

class ClusterReconciler final : public op::KeyReconciler {
 public:
  ClusterReconciler(kube::KubeClient& client, kube::EventRecorder& events, Clock& clock,
                    ReconcilerOptions options, StatusObserver observer = {});
  void setGoneObserver(GoneObserver on_gone) { on_gone_ = std::move(on_gone); }

  Result<std::chrono::milliseconds> reconcile(const std::string& key,
                                              const std::atomic<bool>& stopping) override;

 private:
  struct Pass;  // the state of one pass, passed between the phases below

  Result<std::chrono::milliseconds> reconcileOnce(const std::string& key,
                                                  const std::atomic<bool>& stopping, Pass& pass);
  Status applyOwnedResources(Pass& pass);
  Result<std::map<int, int>> readShardSizes(const api::RedisCluster& cluster);
  Result<std::vector<PodInfo>> readPods(const api::RedisCluster& cluster);
  Result<std::string> readPassword(const api::RedisCluster& cluster);
  Status applyStatefulSets(Pass& pass, const std::map<int, int>& replicas);
  Status runEngine(Pass& pass, const topology::DesiredShape& desired,
                   const std::atomic<bool>& stopping);
  Status removeDrainedPods(Pass& pass);
  Result<LiveObservation> observeLive(Pass& pass, const std::vector<PodInfo>& pods);
  Status writeStatus(Pass& pass);
  void reportToObserver(Pass& pass, bool in_progress);
  void event(Pass& pass, kube::EventType type, std::string_view reason, const std::string& msg);

  kube::KubeClient& client_;
  kube::EventRecorder& events_;
  Clock& clock_;
  ReconcilerOptions options_;
  StatusObserver observer_;
  GoneObserver on_gone_;
};

}  // namespace slotkeeper::reconciler
