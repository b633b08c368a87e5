#include "reconciler/rollout.h"

#include <algorithm>
#include <optional>

#include "resources/metadata.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;

// The revision new pods of `sts` get, when its controller has caught up with its spec.
std::optional<std::string> updateRevisionOf(const json& sts) {
  const auto& meta = sts.value("metadata", json::object());
  const auto& status = sts.value("status", json::object());
  const std::string revision = status.value("updateRevision", "");
  if (revision.empty()) return std::nullopt;
  if (status.value("observedGeneration", int64_t{0}) < meta.value("generation", int64_t{1})) {
    return std::nullopt;  // the template we applied last may not be in that revision yet
  }
  return revision;
}

const topology::ObservedNode* reachableAt(const LiveObservation& live, const std::string& address) {
  for (const auto& n : live.cluster.nodes) {
    if (n.address == address && n.reachable) return &n;
  }
  return nullptr;
}

// The desired pods of one shard, by ordinal.
std::vector<const PodInfo*> shardPods(const Snapshot& s, int shard) {
  std::vector<const PodInfo*> out;
  for (const auto& p : s.pods) {
    if (p.shard == shard && p.ordinal <= s.cluster.spec.replicas_per_master) out.push_back(&p);
  }
  std::sort(out.begin(), out.end(),
            [](const PodInfo* a, const PodInfo* b) { return a->ordinal < b->ordinal; });
  return out;
}

bool linkedAndSynced(const LiveObservation& live, const topology::ObservedNode& replica,
                     const std::string& master_id) {
  if (replica.is_master || replica.master_id != master_id) return false;
  auto info = live.replication.find(replica.address);
  return info != live.replication.end() && info->second.master_link_status == "up" &&
         !info->second.master_sync_in_progress;
}

// Every reachable node lists `master_id` as a master and each of `replica_ids` as its replica:
// a failover has spread, so restarting the former master cannot make anyone fail it back.
bool allAgree(const LiveObservation& live, const std::string& master_id,
              const std::vector<std::string>& replica_ids) {
  for (const auto& [address, entries] : live.views) {
    auto find = [&](const std::string& id) -> const redis::ClusterNodeEntry* {
      for (const auto& e : entries) {
        if (e.id == id) return &e;
      }
      return nullptr;
    };
    const auto* master = find(master_id);
    if (master == nullptr || master->replica || !master->master) return false;
    for (const auto& id : replica_ids) {
      const auto* replica = find(id);
      if (replica == nullptr || !replica->replica || replica->master_id != master_id) return false;
    }
  }
  return true;
}

// The replication offset a master reports for one of its replicas (-1 when not listed).
int64_t replicaOffset(const LiveObservation& live, const topology::ObservedNode& master,
                      const std::string& replica_address) {
  auto info = live.replication.find(master.address);
  if (info == live.replication.end()) return -1;
  for (const auto& link : info->second.replicas) {
    if (link.ip + ":" + std::to_string(link.port) == replica_address) return link.offset;
  }
  return -1;
}

std::string shardName(int shard) { return "shard " + std::to_string(shard); }

// One shard's next step. Returns whether it took one (a pod goes down or a failover starts).
bool planShard(const Snapshot& s, const Drift& drift, int shard, RolloutStep* step) {
  const ShardHealth health = inspectShard(s, shard);
  if (health.master == nullptr) {
    step->blocked.push_back(health.problem);
    return false;
  }
  if (!health.problem.empty()) {
    step->waiting.push_back(health.problem);
    return false;
  }
  const PodInfo& master_pod = *health.master_pod;
  for (const auto& [p, n] : health.replicas) {
    if (!drift.outdated.count(p->name)) continue;
    step->restarts.push_back({p->name, p->uid, shard, "replica of " + master_pod.name});
    return true;
  }
  if (!drift.outdated.count(master_pod.name)) return false;
  if (health.replicas.empty()) {
    if (!s.cluster.spec.storage.has_value()) {
      step->blocked.push_back(shardName(shard) + ": master pod " + master_pod.name +
                              " has no replica to take over and no persistent storage, so a "
                              "restart would empty its slots; it is not restarted (set "
                              "replicasPerMaster to 1 or more to roll it)");
      return false;
    }
    step->restarts.push_back({master_pod.name, master_pod.uid, shard,
                              "master without a replica: its slots are unavailable until it is "
                              "back"});
    return true;
  }
  auto failover = bestFailover(s, health, [](const PodInfo&) { return true; });
  if (!failover.has_value()) {
    step->waiting.push_back("the replicas of " + master_pod.name + " to report their offsets");
    return false;
  }
  step->failovers.push_back(*failover);
  return true;
}

}  // namespace

ShardHealth inspectShard(const Snapshot& s, int shard) {
  ShardHealth h;
  const LiveObservation& live = *s.live;
  const auto pods = shardPods(s, shard);
  for (const PodInfo* p : pods) {
    const auto* n = reachableAt(live, p->address());
    if (n != nullptr && n->is_master && !n->slots.empty()) {
      h.master_pod = p;
      h.master = n;
    }
  }
  if (h.master == nullptr) {
    h.problem = shardName(shard) + " has no pod serving as its master";
    return h;
  }
  std::vector<std::string> replica_ids;
  for (const PodInfo* p : pods) {
    if (p == h.master_pod) continue;
    const auto* n = reachableAt(live, p->address());
    if (n == nullptr || !linkedAndSynced(live, *n, h.master->id)) {
      h.problem = "pod " + p->name + " to be a linked, synced replica of " + h.master_pod->name;
      return h;
    }
    h.replicas.emplace_back(p, n);
    replica_ids.push_back(n->id);
  }
  if (!allAgree(live, h.master->id, replica_ids)) {
    h.problem =
        "every node to agree that " + h.master_pod->name + " is the master of " + shardName(shard);
  }
  return h;
}

std::optional<FailoverRequest> bestFailover(const Snapshot& s, const ShardHealth& health,
                                            const std::function<bool(const PodInfo&)>& eligible) {
  const PodInfo* best = nullptr;
  const topology::ObservedNode* best_node = nullptr;
  int64_t best_offset = -1;
  for (const auto& [p, n] : health.replicas) {
    if (!eligible(*p)) continue;
    int64_t offset = replicaOffset(*s.live, *health.master, n->address);
    if (offset <= best_offset) continue;
    best = p;
    best_node = n;
    best_offset = offset;
  }
  if (best == nullptr) return std::nullopt;
  return FailoverRequest{health.master_pod->shard, best->name, best_node->address,
                         health.master_pod->name};
}

Drift measureDrift(const std::map<int, json>& statefulsets, const std::vector<PodInfo>& pods) {
  Drift drift;
  for (const auto& [shard, sts] : statefulsets) {
    if (auto revision = updateRevisionOf(sts)) {
      drift.update_revisions[shard] = *revision;
    } else {
      drift.revisions_pending = true;
    }
  }
  for (const auto& p : pods) {
    auto revision = drift.update_revisions.find(p.shard);
    if (revision == drift.update_revisions.end() || p.terminating) continue;
    if (p.revision == revision->second) {
      ++drift.updated;
    } else {
      drift.outdated.insert(p.name);
    }
  }
  return drift;
}

RolloutStep planRollout(const Snapshot& s, const Drift& drift) {
  RolloutStep step;
  if (drift.outdated.empty() || !s.live.has_value()) return step;
  const auto& strategy = s.cluster.spec.update_strategy;
  if (strategy.paused) {
    step.waiting.push_back("spec.updateStrategy.paused to be cleared");
    return step;
  }
  std::set<int> shards;
  for (const auto& p : s.pods) {
    if (drift.outdated.count(p.name) && p.shard < s.cluster.spec.masters &&
        p.ordinal <= s.cluster.spec.replicas_per_master) {
      shards.insert(p.shard);
    }
  }
  int budget = strategy.max_unavailable_shards;
  for (int shard : shards) {
    if (budget == 0) break;
    if (planShard(s, drift, shard, &step)) --budget;
  }
  return step;
}

std::vector<PodRestart> replaceStuckPods(const Snapshot& s, const Drift& drift) {
  std::vector<PodRestart> out;
  if (s.cluster.spec.update_strategy.paused) return out;
  for (const auto& p : s.pods) {
    if (p.ready || p.terminating || !drift.outdated.count(p.name)) continue;
    if (s.live.has_value() && !p.ip.empty()) {
      const auto* n = reachableAt(*s.live, p.address());
      if (n != nullptr && n->is_master && !n->slots.empty()) continue;
    }
    out.push_back({p.name, p.uid, p.shard, "not ready on an outdated template"});
  }
  return out;
}

}  // namespace slotkeeper::reconciler
