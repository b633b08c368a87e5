#include "reconciler/status_builder.h"

#include <algorithm>

namespace slotkeeper::reconciler {
namespace {

const redis::ReplicaLink* linkOf(const redis::ReplicationInfo* master_info,
                                 const std::string& replica_address) {
  if (master_info == nullptr) return nullptr;
  for (const auto& link : master_info->replicas) {
    if (link.ip + ":" + std::to_string(link.port) == replica_address) return &link;
  }
  return nullptr;
}

const topology::ObservedNode* nodeAt(const topology::ObservedCluster& cluster,
                                     const std::string& address) {
  for (const auto& n : cluster.nodes) {
    if (n.address == address && n.reachable) return &n;
  }
  return nullptr;
}

const topology::ObservedNode* nodeById(const topology::ObservedCluster& cluster,
                                       const std::string& id) {
  for (const auto& n : cluster.nodes) {
    if (n.id == id && n.reachable) return &n;
  }
  return nullptr;
}

api::NodeStatus nodeStatusFor(const PodInfo& pod, const LiveObservation& live) {
  api::NodeStatus out;
  out.pod = pod.name;
  out.ip = pod.ip;
  out.shard = pod.shard;
  const topology::ObservedNode* node = nodeAt(live.cluster, pod.address());
  if (node == nullptr) return out;
  out.node_id = node->id;
  out.role = node->is_master ? "master" : "replica";
  out.slots = node->slots.toString();
  if (node->is_master) return out;
  out.master_id = node->master_id;
  auto replica_info = live.replication.find(node->address);
  if (replica_info != live.replication.end()) {
    out.link_status = replica_info->second.master_link_status;
    out.sync_in_progress = replica_info->second.master_sync_in_progress;
  }
  const topology::ObservedNode* master = nodeById(live.cluster, node->master_id);
  if (master == nullptr) return out;
  auto master_info = live.replication.find(master->address);
  const redis::ReplicationInfo* mi =
      master_info == live.replication.end() ? nullptr : &master_info->second;
  if (const redis::ReplicaLink* link = linkOf(mi, node->address)) {
    out.lag_seconds = link->lag_seconds;
    out.lag_bytes = std::max<int64_t>(0, mi->master_repl_offset - link->offset);
  }
  return out;
}

}  // namespace

void fillObservedStatus(const std::vector<PodInfo>& pods, const LiveObservation& live,
                        api::RedisClusterStatus* status) {
  status->nodes.clear();
  std::vector<PodInfo> sorted = pods;
  std::sort(sorted.begin(), sorted.end(), [](const PodInfo& a, const PodInfo& b) {
    return a.shard != b.shard ? a.shard < b.shard : a.ordinal < b.ordinal;
  });
  for (const auto& pod : sorted) status->nodes.push_back(nodeStatusFor(pod, live));

  std::map<std::string, int> linked_replicas;  // master id -> replicas with link up
  status->masters = status->ready_masters = status->replicas = status->ready_replicas = 0;
  for (const auto& n : live.cluster.nodes) {
    if (n.is_master && !n.slots.empty()) {
      ++status->masters;
      if (n.reachable && !n.marked_failed) ++status->ready_masters;
    } else if (!n.is_master) {
      ++status->replicas;
      auto info = live.replication.find(n.address);
      bool up =
          n.reachable && info != live.replication.end() && info->second.master_link_status == "up";
      if (up) {
        ++status->ready_replicas;
        ++linked_replicas[n.master_id];
      }
    }
  }
  status->unprotected_masters = 0;
  for (const auto& n : live.cluster.nodes) {
    if (n.is_master && !n.slots.empty() && linked_replicas[n.id] == 0) {
      ++status->unprotected_masters;
    }
  }
  if (live.info.has_value()) {
    status->slots_assigned = live.info->slots_assigned;
    status->slots_ok = live.info->slots_ok;
    status->cluster_state = live.info->state;
  } else {
    status->slots_assigned = status->slots_ok = 0;
    status->cluster_state = "unknown";
  }
}

namespace {

// A replica acknowledges its offset every second, so at rest its lag reads 0 or 1 s and its byte
// gap a few bytes (the master's pings): those are one bucket, or the status would flicker.
int64_t lagSecondsBucket(int64_t seconds) {
  if (seconds <= 1) return 0;
  if (seconds <= 5) return 1;
  if (seconds <= 30) return 2;
  return 3;
}

int64_t lagBytesBucket(int64_t bytes) {
  if (bytes < (int64_t{1} << 20)) return 0;
  return bytes < (int64_t{64} << 20) ? 1 : 2;
}

api::RedisClusterStatus withLagBuckets(api::RedisClusterStatus status) {
  for (auto& n : status.nodes) {
    n.lag_seconds = lagSecondsBucket(n.lag_seconds);
    n.lag_bytes = lagBytesBucket(n.lag_bytes);
  }
  return status;
}

}  // namespace

bool statusChangedForUsers(const api::RedisClusterStatus& before,
                           const api::RedisClusterStatus& after) {
  return withLagBuckets(before) != withLagBuckets(after);
}

bool shapeSatisfied(const api::RedisClusterStatus& status, int masters, int replicas) {
  return status.masters == masters && status.ready_masters == masters &&
         status.ready_replicas == masters * replicas && status.replicas == masters * replicas &&
         status.slots_ok == kSlotCount && status.cluster_state == "ok";
}

}  // namespace slotkeeper::reconciler
