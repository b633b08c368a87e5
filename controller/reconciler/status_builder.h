// Builds a RedisCluster's status from what was observed: the pods, every redis node's own
// view, and replication links. Pure; conditions are decided separately (conditions.h).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "reconciler/membership.h"
#include "reconciler/password_rotation.h"
#include "redis/cluster_nodes.h"
#include "topology/model.h"

namespace slotkeeper::reconciler {

struct LiveObservation {
  topology::ObservedCluster cluster;
  std::map<std::string, redis::ReplicationInfo> replication;  // by "ip:port"
  std::optional<redis::ClusterInfo> info;  // CLUSTER INFO of one reachable master
  // Every reachable node's CLUSTER NODES, by its "ip:port": whether all nodes agree on roles.
  std::map<std::string, std::vector<redis::ClusterNodeEntry>> views;
  // INFO memory of every reachable node, by "ip:port": room for the keys a move brings.
  std::map<std::string, redis::MemoryInfo> memory;
  // INFO clients and stats of every reachable node, by "ip:port", for its metrics.
  std::map<std::string, redis::LoadInfo> load;
  // Password state of every reachable node, when the cluster has a password.
  std::map<std::string, NodePasswords> passwords;
  // With TLS: the SHA-256 of the certificate each reachable node served, by "ip:port".
  std::map<std::string, std::string> served_certificates;
  // ACL USERS of every reachable node, by "ip:port", when the spec lists users.
  std::map<std::string, std::set<std::string>> acl_users;
  // The SHA-256 of each password a spec.users user accepts, by "ip:port", then by user.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> user_passwords;
};

// Fills every observed field of the status (not conditions, operation or generation).
void fillObservedStatus(const std::vector<PodInfo>& pods, const LiveObservation& live,
                        api::RedisClusterStatus* status);

// Whether `after` differs from `before` in anything a user would care about. Replication lag
// counts by the bucket it falls in (0-1, 2-5, 6-30, over 30 seconds; under 1 MiB, under 64 MiB,
// more bytes), so lag that flickers between 0 and 1 s at rest writes nothing. Pure.
bool statusChangedForUsers(const api::RedisClusterStatus& before,
                           const api::RedisClusterStatus& after);

// True when the live cluster has exactly `masters` masters, each with `replicas` linked
// replicas, all slots ok and cluster_state ok.
bool shapeSatisfied(const api::RedisClusterStatus& status, int masters, int replicas);

}  // namespace slotkeeper::reconciler
