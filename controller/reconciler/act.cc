#include "reconciler/act.h"

#include <atomic>

#include "api/codec.h"
#include "common/log.h"
#include "resources/live_config.h"

namespace slotkeeper::reconciler {

using nlohmann::json;

Status applyObjects(KubePort& kube, const Decision& decision, SnapshotMemory* memory) {
  for (const auto& a : decision.applies) {
    RETURN_IF_ERROR(kube.apply(a.ref, a.object));
    const std::string path = a.ref.path();
    memory->applied_hashes[path] = a.hash;
    if (a.ref.plural == kube::kStatefulSets.plural) {
      json written = a.object;
      written["metadata"]["namespace"] = a.ref.ns;
      memory->applied_statefulsets[path] = std::move(written);
      memory->deleted_statefulsets.erase(path);
    }
  }
  return Status::ok();
}

Status deleteObjects(KubePort& kube, const Decision& decision, SnapshotMemory* memory) {
  for (const auto& ref : decision.deletions) {
    RETURN_IF_ERROR(kube.remove(ref));
    const std::string path = ref.path();
    memory->applied_hashes.erase(path);
    if (ref.plural == kube::kStatefulSets.plural) {
      memory->applied_statefulsets.erase(path);
      memory->deleted_statefulsets.insert(path);
    }
  }
  return Status::ok();
}

Result<SliceReport> runTopologySlice(RedisPort& redis, Clock& clock,
                                     const kube::ReconcileContext& context,
                                     const ActOptions& options, const Snapshot& snapshot,
                                     const TopologyWork& work,
                                     const SnapshotOptions& snapshot_options,
                                     std::function<void(int64_t, int64_t)> on_progress) {
  const auto& cluster = snapshot.cluster;
  if (!context.mayWriteFor(options.slice_budget + options.write_margin)) {
    return unavailable("not holding the Lease with time to spare for a slice; not writing");
  }
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  engine::ExecutorOptions eo;
  eo.move.batch_keys = cluster.spec.migration.batch_keys;
  eo.move.slots_per_pipeline = cluster.spec.migration.slots_per_round_trip;
  eo.max_parallel_moves = cluster.spec.migration.parallel_moves;
  eo.move.password = snapshot.secret.password;
  eo.move.migrate_timeout = std::chrono::seconds(cluster.spec.migration.timeout_seconds);
  eo.move.migrate_timeout_cap = resources::clusterNodeTimeout(cluster) / 2;
  eo.move.slots_per_wave = options.slots_per_wave;
  const auto margin = options.write_margin;
  eo.move.may_write = [&context, margin] { return context.mayWriteFor(margin); };
  eo.agreement.timeout = options.agreement_timeout;

  const auto deadline = clock.now() + options.slice_budget;
  std::atomic<bool> budget_spent{false};
  auto should_stop = [&] {
    if (context.stopRequested()) return true;
    if (clock.now() < deadline) return false;
    budget_spent = true;
    return true;
  };
  int64_t reported_slots = 0, reported_keys = 0;
  auto progress = [&](const engine::ExecutionProgress& p) {
    if (!on_progress) return;
    on_progress(p.slots_moved - reported_slots, p.keys_moved - reported_keys);
    reported_slots = p.slots_moved;
    reported_keys = p.keys_moved;
  };
  engine::Executor executor(*connector, clock, eo, progress, should_stop);
  Status ran = executor.run(work.plan, work.observed);
  SliceReport report;
  report.slots_moved = executor.slotsMoved();
  report.keys_moved = executor.keysMoved();
  report.key_conflicts = executor.keyConflicts();
  if (on_progress)
    on_progress(report.slots_moved - reported_slots, report.keys_moved - reported_keys);
  if (ran.isOk()) return report;
  if (ran.code() == StatusCode::kConflict) {
    // Roles changed under the slice (a failover): the next pass observes and plans again.
    log::warn("slice ended early", {{"reason", ran.message()}});
    return report;
  }
  if (ran.code() != StatusCode::kAborted) return ran;
  if (context.stopRequested()) return ran;
  if (!context.mayWriteFor(margin)) {
    return unavailable("the Lease is no longer held with time to spare; stopped writing: " +
                       ran.message());
  }
  if (budget_spent) return report;  // the slice is over; the next pass goes on
  return ran;
}

Status writeStatusIfChanged(KubePort& kube, const api::RedisCluster& cluster,
                            const api::RedisClusterStatus& before,
                            const api::RedisClusterStatus& after, SnapshotMemory* memory) {
  if (!statusChangedForUsers(before, after)) return Status::ok();
  Status s = kube.patchStatus(cluster.ns, cluster.name, api::encodeStatus(after));
  if (!s.isOk()) return s.withContext("writing status");
  memory->status_base_version = cluster.resource_version;
  memory->written_status = after;
  return Status::ok();
}

}  // namespace slotkeeper::reconciler
