// Rolling restarts: which pods run an older template than their StatefulSet's, and the next
// step that brings them up to date without a shard ever losing more than one pod. Per shard,
// replicas go first (each back, linked and synced before the next); then the master's role is
// handed to an updated replica with a graceful CLUSTER FAILOVER, and only once every node
// agrees on the new master is the old one restarted, to come back as a replica. Pure.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconciler/snapshot.h"

namespace slotkeeper::reconciler {

// A shard as the live cluster shows it. Safe to take a pod down or to move the master role when
// `problem` is empty: a serving master, every other desired pod a linked, synced replica of it,
// and every node agreeing on those roles.
struct ShardHealth {
  const PodInfo* master_pod = nullptr;  // null: no pod serves the shard's slots
  const topology::ObservedNode* master = nullptr;
  std::vector<std::pair<const PodInfo*, const topology::ObservedNode*>> replicas;
  std::string problem;  // what is missing, phrased as what to wait for; empty when healthy
};
ShardHealth inspectShard(const Snapshot& snapshot, int shard);

// Pods against their StatefulSet's current revision.
struct Drift {
  // The StatefulSet controller's updateRevision per shard, once it has seen the latest spec.
  std::map<int, std::string> update_revisions;
  std::set<std::string> outdated;  // pod names
  int updated = 0;
  // Some StatefulSet's status is behind its spec: the pods' standing is not known yet.
  bool revisions_pending = false;
};

Drift measureDrift(const std::map<int, nlohmann::json>& statefulsets,
                   const std::vector<PodInfo>& pods);

struct PodRestart {
  std::string pod;
  std::string uid;  // delete only this incarnation
  int shard = 0;
  std::string why;  // for people: "replica", "former master", ...
};

struct FailoverRequest {
  int shard = 0;
  std::string replica_pod;
  std::string replica_address;  // receives CLUSTER FAILOVER
  std::string master_pod;
};

struct RolloutStep {
  std::vector<PodRestart> restarts;
  std::vector<FailoverRequest> failovers;
  std::vector<std::string> waiting;  // what the roll waits for before its next step
  std::vector<std::string> blocked;  // shards that cannot be rolled, and why
};

// A graceful failover of a healthy shard to the eligible replica furthest along the replication
// stream; nullopt when no eligible replica reports an offset.
std::optional<FailoverRequest> bestFailover(const Snapshot& snapshot, const ShardHealth& health,
                                            const std::function<bool(const PodInfo&)>& eligible);

// The next step of the roll for a cluster in shape (every desired pod ready and no topology
// work pending). Starts on at most spec.updateStrategy.maxUnavailableShards shards.
RolloutStep planRollout(const Snapshot& snapshot, const Drift& drift);

// Outdated pods that are not ready: they serve nothing, so replacing them costs nothing, and
// it is how a roll stuck on a bad template (an image that cannot be pulled) resumes once the
// spec is fixed. A pod the live cluster still sees as a master holding slots is left alone.
std::vector<PodRestart> replaceStuckPods(const Snapshot& snapshot, const Drift& drift);

}  // namespace slotkeeper::reconciler
