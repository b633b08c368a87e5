#include "reconciler/reconciler.h"

#include "api/conditions.h"
#include "common/log.h"

namespace slotkeeper::reconciler {

ClusterReconciler::ClusterReconciler(KubePort& kube, RedisPort& redis, Clock& clock,
                                     ReconcilerOptions options, StatusObserver observer)
    : kube_(kube),
      redis_(redis),
      clock_(clock),
      options_(std::move(options)),
      observer_(std::move(observer)) {}

SnapshotMemory ClusterReconciler::recall(const std::string& key) {
  std::lock_guard lock(mu_);
  return memory_[key];
}

void ClusterReconciler::remember(const std::string& key, SnapshotMemory memory) {
  std::lock_guard lock(mu_);
  memory_[key] = std::move(memory);
}

void ClusterReconciler::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  memory_.erase(key);
}

void ClusterReconciler::recordEvents(const Snapshot& snapshot, const Decision& decision) {
  for (const auto& e : decision.events) {
    kube_.recordEvent(snapshot.object, e.type, e.reason, e.message);
  }
}

// One slice of the plan. The status is written before it (so the operation shows as soon as it
// starts) and after it with the progress made; a failure is reported as Degraded.
Status ClusterReconciler::runSlice(const kube::ReconcileContext& context, const Snapshot& snapshot,
                                   Decision& d, api::RedisClusterStatus* written,
                                   SnapshotMemory* memory) {
  const auto& cluster = snapshot.cluster;
  const std::string key = cluster.ns + "/" + cluster.name;
  RETURN_IF_ERROR(writeStatusIfChanged(kube_, cluster, *written, d.status, memory));
  *written = d.status;
  recordEvents(snapshot, d);
  log::info("topology slice", {{"cluster", key}, {"plan", d.topology->summary}});
  auto on_progress = [&](int64_t slots, int64_t keys) {
    if (observer_ && (slots > 0 || keys > 0))
      observer_(cluster, d.status, slots, keys, 0, true, nullptr);
  };
  auto slice = runTopologySlice(redis_, clock_, context, options_.act, snapshot, *d.topology,
                                options_.snapshot, on_progress);
  if (!slice.isOk()) {
    const Status& error = slice.status();
    if (error.code() == StatusCode::kAborted || error.code() == StatusCode::kUnavailable) {
      return error;  // shutdown or the Lease: not the cluster's fault, nothing to report
    }
    const auto now = clock_.wallNow();
    api::setCondition(
        d.status.conditions,
        api::makeCondition(api::kConditionProgressing, api::ConditionStatus::kFalse,
                           api::kReasonOperationFailed, error.message(), cluster.generation),
        now);
    api::setCondition(
        d.status.conditions,
        api::makeCondition(api::kConditionDegraded, api::ConditionStatus::kTrue,
                           api::kReasonOperationFailed, error.message(), cluster.generation),
        now);
    kube_.recordEvent(snapshot.object, kube::EventType::kWarning, api::kReasonOperationFailed,
                      error.message());
    Status w = writeStatusIfChanged(kube_, cluster, *written, d.status, memory);
    if (!w.isOk()) log::warn("status not written", {{"cluster", key}, {"error", w.toString()}});
    return error;
  }
  auto& op = d.status.operation;
  op["slotsMoved"] = op.value("slotsMoved", int64_t{0}) + slice->slots_moved;
  op["keysMoved"] = op.value("keysMoved", int64_t{0}) + slice->keys_moved;
  if (slice->key_conflicts > 0) {
    op["keyConflicts"] = op.value("keyConflicts", int64_t{0}) + slice->key_conflicts;
    if (observer_) observer_(cluster, d.status, 0, 0, slice->key_conflicts, true, nullptr);
    kube_.recordEvent(snapshot.object, kube::EventType::kWarning, api::kReasonKeyConflicts,
                      std::to_string(slice->key_conflicts) +
                          " key(s) were on both sides of a move with different values (a Redis "
                          "failover mid-move); the copies of the node that kept serving them "
                          "were kept");
  }
  return Status::ok();
}

// A rolling restart's step: the failovers first (a pod is deleted only once its shard has
// another master), then the deletions. A failover that does not complete is reported as
// Degraded and nothing is deleted.
Status ClusterReconciler::runRestarts(const kube::ReconcileContext& context,
                                      const Snapshot& snapshot, Decision& d,
                                      SnapshotMemory* memory) {
  if (d.failovers.empty() && d.pod_restarts.empty() && d.annotations_to_remove.empty()) {
    return Status::ok();
  }
  Status failed_over =
      runFailovers(redis_, clock_, context, options_.act, snapshot, d, options_.snapshot);
  if (!failed_over.isOk()) {
    if (failed_over.code() != StatusCode::kUnavailable) {
      api::setCondition(d.status.conditions,
                        api::makeCondition(api::kConditionDegraded, api::ConditionStatus::kTrue,
                                           api::kReasonRolloutBlocked, failed_over.message(),
                                           snapshot.cluster.generation),
                        clock_.wallNow());
      d.events.push_back({kube::EventType::kWarning, std::string(api::kReasonRolloutBlocked),
                          failed_over.message()});
    }
    d.pod_restarts.clear();
    return failed_over;
  }
  RETURN_IF_ERROR(restartPods(kube_, snapshot, d, memory));
  if (d.annotations_to_remove.empty()) return Status::ok();
  const auto& c = snapshot.cluster;
  return kube_.removeClusterAnnotations(c.ns, c.name, d.annotations_to_remove)
      .withContext("removing the failover annotation");
}

// The Secret's password becomes the one to fall back on once no node needs the old one any more
// (every node read accepts it); until then the old one is kept, or the operator would lock itself
// out of the nodes it has not reached yet.
void ClusterReconciler::rememberPassword(const Snapshot& snapshot, const Decision& d,
                                         SnapshotMemory* memory) {
  if (snapshot.secret.kind != SecretRead::Kind::kRead) return;
  const bool rotating = d.password_rotation.has_value() &&
                        d.password_rotation->step == PasswordRotation::Step::kAddNew;
  const bool nodes_read = snapshot.live.has_value() && !snapshot.live->passwords.empty();
  if (memory->last_good_password.empty() || (nodes_read && !rotating)) {
    memory->last_good_password = snapshot.secret.password;
  }
}

namespace {

// TLS material that let the operator read a node is kept for when the Secret cannot be read.
void rememberTls(const Snapshot& snapshot, SnapshotMemory* memory) {
  if (snapshot.tls.kind != TlsRead::Kind::kRead) return;
  const bool nodes_read = snapshot.live.has_value() && !snapshot.live->served_certificates.empty();
  if (!memory->last_good_tls.enabled || nodes_read) memory->last_good_tls = snapshot.tls.options;
}

}  // namespace

Result<std::chrono::milliseconds> ClusterReconciler::reconcile(
    const std::string& key, const kube::ReconcileContext& context) {
  std::string ns, name;
  kube::splitObjectKey(key, &ns, &name);
  SnapshotMemory memory = recall(key);
  ASSIGN_OR_RETURN(auto snapshot,
                   takeSnapshot(kube_, redis_, ns, name, memory, options_.snapshot, clock_));
  if (!snapshot.has_value()) {
    forget(key);
    if (on_gone_) on_gone_(ns, name);
    return std::chrono::milliseconds(0);  // deleted: owner references clean up the rest
  }
  Decision d = decide(*snapshot, options_.decide);
  rememberPassword(*snapshot, d, &memory);
  rememberTls(*snapshot, &memory);
  for (const auto& [user, since] : d.user_rotation_marks) {
    if (since.has_value()) {
      memory.user_rotations[user] = *since;
    } else {
      memory.user_rotations.erase(user);
    }
  }
  log::debug("decided", {{"cluster", key},
                         {"generation", snapshot->cluster.generation},
                         {"applies", d.applies.size()},
                         {"deletions", d.deletions.size()},
                         {"topology", d.topology.has_value()},
                         {"redis_connections", snapshot->redis_connections}});

  Status acted = applyObjects(kube_, d, &memory);
  if (acted.isOk()) acted = deleteObjects(kube_, d, &memory);
  if (acted.isOk()) {
    acted =
        applyLiveConfig(redis_, context, options_.act, *snapshot, d, options_.snapshot, &memory);
  }
  if (acted.isOk()) {
    acted = switchTlsBus(redis_, context, options_.act, *snapshot, d, options_.snapshot);
  }
  if (acted.isOk()) {
    acted = applyPasswordRotation(redis_, context, options_.act, *snapshot, d, options_.snapshot);
  }
  if (acted.isOk()) {
    acted =
        applyUserUpdates(redis_, context, options_.act, *snapshot, d, options_.snapshot, &memory);
  }
  if (acted.isOk()) {
    acted = reloadCertificates(redis_, context, options_.act, *snapshot, d, options_.snapshot);
  }
  api::RedisClusterStatus written = snapshot->cluster.status;
  if (acted.isOk()) {
    Status restarted = runRestarts(context, *snapshot, d, &memory);
    if (!restarted.isOk()) {
      recordEvents(*snapshot, d);
      Status w = writeStatusIfChanged(kube_, snapshot->cluster, written, d.status, &memory);
      if (!w.isOk()) log::warn("status not written", {{"cluster", key}, {"error", w.toString()}});
      remember(key, std::move(memory));
      return restarted;
    }
  }
  if (acted.isOk() && d.topology.has_value()) {
    acted = runSlice(context, *snapshot, d, &written, &memory);
  } else if (acted.isOk()) {
    recordEvents(*snapshot, d);
  }
  if (acted.isOk()) {
    acted = writeStatusIfChanged(kube_, snapshot->cluster, written, d.status, &memory);
  }
  remember(key, std::move(memory));
  if (observer_) {
    observer_(snapshot->cluster, d.status, 0, 0, 0, d.topology.has_value(),
              snapshot->live.has_value() ? &*snapshot->live : nullptr);
  }
  if (!acted.isOk()) return acted;
  if (!d.error.isOk()) return d.error;
  return d.requeue;
}

}  // namespace slotkeeper::reconciler
