#include "reconciler/manual_failover.h"

#include <algorithm>

namespace slotkeeper::reconciler {
namespace {

bool anySlotInMigration(const LiveObservation& live) {
  return std::any_of(live.cluster.nodes.begin(), live.cluster.nodes.end(),
                     [](const topology::ObservedNode& n) { return !n.open_slots.empty(); });
}

}  // namespace

ManualFailover planManualFailover(const Snapshot& s, const std::string& pod_name, bool promote) {
  ManualFailover out;
  auto pod = std::find_if(s.pods.begin(), s.pods.end(),
                          [&](const PodInfo& p) { return p.name == pod_name; });
  if (pod == s.pods.end() || pod->shard >= s.cluster.spec.masters ||
      pod->ordinal > s.cluster.spec.replicas_per_master) {
    out.refusal = "no pod " + pod_name + " serves this cluster";
    return out;
  }
  if (!s.live.has_value()) {
    out.waiting = "no observation of the live cluster yet";
    return out;
  }
  const ShardHealth health = inspectShard(s, pod->shard);
  const std::string shard = "shard " + std::to_string(pod->shard);
  if (health.master_pod == nullptr) {
    out.refusal = shard + " has no serving master";
    return out;
  }
  const bool is_master = health.master_pod->name == pod_name;
  if (is_master == promote) {
    out.done = true;
    return out;
  }
  if (health.replicas.empty() && health.problem.empty()) {
    out.refusal = shard + " has no replica to take over from " + health.master_pod->name;
    return out;
  }
  if (!health.problem.empty()) {
    out.waiting = health.problem;
    return out;
  }
  if (anySlotInMigration(*s.live)) {
    out.waiting = "the slot migration in progress to finish";
    return out;
  }
  out.request = bestFailover(
      s, health, [&](const PodInfo& replica) { return !promote || replica.name == pod_name; });
  if (!out.request.has_value()) out.waiting = "the replicas to report their offsets";
  return out;
}

}  // namespace slotkeeper::reconciler
