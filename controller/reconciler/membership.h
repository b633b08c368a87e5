// Which pods make up a RedisCluster right now, and which StatefulSet sizes the operator should
// ask for while it changes shape. Pure: Kubernetes objects in, decisions out.
//
// The order of a shape change is what keeps data safe: shards and replicas are added (pods
// first, then the engine joins them); removed ones are first drained and forgotten by the
// engine, and only then are their pods deleted by shrinking or deleting StatefulSets.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "resources/metadata.h"
#include "resources/tls_serving.h"
#include "topology/model.h"

namespace slotkeeper::reconciler {

// What the reconciler needs of one redis pod.
struct PodInfo {
  std::string name;
  int shard = -1;
  int ordinal = -1;  // the StatefulSet ordinal (suffix of the pod name)
  std::string ip;
  std::string node_name;  // the Kubernetes node
  // What the planner keeps a master and its replicas apart by: the node, or its zone when
  // spec.failureDomain is zone (set by the snapshot).
  std::string failure_domain;
  bool ready = false;
  bool terminating = false;
  // The scheduler's word when the pod cannot be placed (PodScheduled=False, reason
  // Unschedulable): its message, e.g. "0/3 nodes are available: ...". Empty otherwise.
  std::string unschedulable_message;
  // Since when (the condition's lastTransitionTime), when the pod says.
  std::optional<std::chrono::system_clock::time_point> unschedulable_since;
  // The StatefulSet revision the pod was created from (its controller-revision-hash label).
  std::string revision;
  std::optional<std::chrono::system_clock::time_point> created;
  // Why the redis container is not running, when it waits (e.g. ErrImagePull,
  // CrashLoopBackOff), with the kubelet's message. Empty otherwise.
  std::string waiting_reason;
  std::string waiting_message;
  std::string uid;
  // How the pod serves TLS (its template's annotation; older templates: on when the pod mounts
  // a TLS Secret), and that Secret's name.
  resources::TlsStage tls_stage = resources::TlsStage::kOff;
  std::string tls_secret;
  // The port the operator reaches the node at: the one serving the cluster bus's protocol
  // (6379 unless a dual pod's bus protocol is on its second port; see reconciler/tls_change.h).
  int port = resources::kRedisPort;
  std::string address() const { return ip + ":" + std::to_string(port); }
};

// Reads a pod object; InvalidArgument when it lacks the shard label or an ordinal.
Result<PodInfo> podInfoFrom(const nlohmann::json& pod);

struct ShapeChange {
  // StatefulSet replicas per shard index to request now (shards absent here are left alone).
  std::map<int, int> statefulset_replicas;
  // The engine's target: pods of shards < masters with ordinal <= replicas.
  topology::DesiredShape desired;
  // Pods the desired shape needs that are not Running and Ready with an IP yet.
  std::vector<std::string> waiting_for;
};

// `existing_shards` maps shard index → the StatefulSet's current spec.replicas.
ShapeChange planShapeChange(int masters, int replicas_per_master,
                            const std::map<int, int>& existing_shards,
                            const std::vector<PodInfo>& pods);

// After the engine converged: the StatefulSet sizes to settle on, and the shards to delete.
struct Cleanup {
  std::map<int, int> statefulset_replicas;  // only shards whose size must shrink
  std::vector<int> shards_to_delete;
};
Cleanup planCleanup(int masters, int replicas_per_master,
                    const std::map<int, int>& existing_shards);

}  // namespace slotkeeper::reconciler
