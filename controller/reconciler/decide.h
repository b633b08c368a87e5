// The decision of a reconcile pass: a pure function from the Snapshot to what to do — objects
// to apply or delete, the topology plan to execute (a slice of it per pass), the status to
// write, the Events to record, and when to look again. No I/O, no clock: table-tested.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "kube/events.h"
#include "kube/resource.h"
#include "reconciler/password_rotation.h"
#include "reconciler/rollout.h"
#include "reconciler/snapshot.h"
#include "topology/plan.h"

namespace slotkeeper::reconciler {

struct DecideOptions {
  std::chrono::milliseconds health_check_interval{30000};
  // While replicas sync or gossip spreads: Redis changes raise no Kubernetes event.
  std::chrono::milliseconds converge_poll_interval{2000};
  // While pods start: their changes wake a pass anyway; this is only the fallback.
  std::chrono::milliseconds pods_wait_interval{10000};
  std::chrono::milliseconds secret_retry_interval{10000};
  // While a node serves an older certificate than the TLS Secret's: the kubelet refreshes a
  // mounted Secret within a minute or so, and each reload only takes what the files hold.
  std::chrono::milliseconds certificate_reload_interval{5000};
  // How long a pod must stay unschedulable before it is reported (Degraded and an Event).
  std::chrono::seconds unschedulable_grace{30};
  // After a slice of a topology change: at once, behind the other clusters in the queue.
  std::chrono::milliseconds next_slice{1};
  // A pod not Ready this long after it was created is reported (PodsFailing): a roll onto a
  // template that cannot start stops there.
  std::chrono::seconds pod_ready_timeout{300};
};

struct ObjectToApply {
  kube::ResourceRef ref;  // the object itself (namespace and name)
  nlohmann::json object;
  std::string hash;  // of `object`, recorded once applied
};

struct EventToRecord {
  kube::EventType type = kube::EventType::kNormal;
  std::string reason;
  std::string message;
  bool operator==(const EventToRecord&) const = default;
};

struct TopologyWork {
  topology::Plan plan;
  topology::ObservedCluster observed;  // what the plan was made from
  std::string reason;                  // CamelCase, e.g. MigratingSlots
  std::string summary;                 // "move 4096 slots from 3 to 1 master(s), ..."
};

// Live settings for one node: a CONFIG SET of every pair.
struct LiveConfigUpdate {
  std::string address;
  std::vector<std::pair<std::string, std::string>> settings;
  std::string hash;  // remembered once applied
};

// An ACL SETUSER (or, with `remove`, ACL DELUSER) of one user on one node.
struct UserUpdate {
  std::string address;
  std::string user;
  std::vector<std::string> rules;  // ACL SETUSER arguments after the name (with the password)
  std::string rules_hash;          // remembered once applied; empty: nothing to remember
  bool remove = false;
};

struct Decision {
  std::vector<ObjectToApply> applies;
  std::vector<kube::ResourceRef> deletions;
  std::vector<LiveConfigUpdate> config_updates;
  // Nodes ("ip:port") serving another certificate than the TLS Secret's: told to read their
  // certificate files again.
  std::vector<std::string> certificate_reloads;
  // Dual pods switched to another cluster bus protocol (tls-cluster and what goes with it).
  std::vector<LiveConfigUpdate> tls_bus_switches;
  std::vector<UserUpdate> user_updates;
  // Users whose password rotation began (a time) or ended (nullopt) this pass.
  std::map<std::string, std::optional<std::chrono::system_clock::time_point>> user_rotation_marks;
  std::vector<FailoverRequest> failovers;  // graceful CLUSTER FAILOVERs of a rolling restart
  std::vector<PodRestart> pod_restarts;    // pods to delete so their StatefulSet recreates them
  std::optional<PasswordRotation> password_rotation;  // a changed Secret being rolled in
  // Annotations of the RedisCluster to remove once the failovers are done (manual failovers).
  std::vector<std::string> annotations_to_remove;
  std::optional<TopologyWork> topology;
  api::RedisClusterStatus status;  // as it should be written (the act adds slice progress)
  std::vector<EventToRecord> events;
  std::chrono::milliseconds requeue{0};  // 0: only when something changes
  Status error;  // returned to the work queue after acting; its code picks the retry
};

Decision decide(const Snapshot& snapshot, const DecideOptions& options);

// A short account of a plan for people, and the reason it stands for.
struct PlanSummary {
  std::string reason;
  std::string message;
};
PlanSummary summarizePlan(const topology::Plan& plan);

// FNV-1a of the compact JSON text, as 16 hex digits: the applied-hash annotation.
std::string hashObject(const nlohmann::json& object);

}  // namespace slotkeeper::reconciler
