// The RedisCluster API (redis.slotkeeper.io/v1alpha1) as C++ values: spec, status and the
// object metadata the operator needs. crds/redis.slotkeeper.io_redisclusters.yaml is the schema.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slotkeeper::api {

inline constexpr std::string_view kGroup = "redis.slotkeeper.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "redis.slotkeeper.io/v1alpha1";
inline constexpr std::string_view kKind = "RedisCluster";
inline constexpr std::string_view kPlural = "redisclusters";

// Defaults and bounds, shared by the CRD mirror in defaults.cc / validation.cc and the member
// initialisers below. The CRD carries the same numbers; keep them in step.
inline constexpr int32_t kDefaultMasters = 3;
inline constexpr int32_t kMinMasters = 3;  // Redis Cluster needs 3 masters to detect failures
inline constexpr int32_t kMaxMasters = 100;
inline constexpr int32_t kDefaultReplicasPerMaster = 1;
inline constexpr int32_t kMinReplicasPerMaster = 0;
inline constexpr int32_t kMaxReplicasPerMaster = 5;
inline constexpr std::string_view kDefaultImage = "redis:7.0";
inline constexpr std::string_view kDefaultPasswordKey = "password";
inline constexpr int32_t kDefaultBatchKeys = 1000;
inline constexpr int32_t kMinBatchKeys = 10;
inline constexpr int32_t kMaxBatchKeys = 100000;
inline constexpr int32_t kDefaultMigrationTimeoutSeconds = 60;
inline constexpr int32_t kMinMigrationTimeoutSeconds = 5;
inline constexpr int32_t kMaxMigrationTimeoutSeconds = 3600;
inline constexpr int32_t kDefaultSlotsPerRoundTrip = 1;
inline constexpr int32_t kMaxSlotsPerRoundTrip = 1024;
inline constexpr int32_t kDefaultParallelMoves = 4;
inline constexpr int32_t kMaxParallelMoves = 16;
// StatefulSets are named <name>-shard-<i> (up to 9 more characters) and their pods carry a
// controller-revision-hash label <statefulset>-<hash> (up to 11 more) that must fit in 63.
inline constexpr size_t kMaxNameLength = 40;
inline constexpr size_t kMaxRedisConfigEntries = 32;
inline constexpr size_t kMaxRedisConfigValueLength = 256;
inline constexpr int32_t kMaxUnavailableShardsLimit = 100;
inline constexpr int32_t kDefaultRotationGraceSeconds = 60;
inline constexpr int32_t kMaxRotationGraceSeconds = 7 * 24 * 3600;

// How strictly the pods of one shard avoid sharing a failure domain.
enum class PodAntiAffinity { kRequired, kPreferred };
std::string_view podAntiAffinityName(PodAntiAffinity mode);  // "required" / "preferred"

// What "a replica never shares its master's failure domain" means: the Kubernetes node, or the
// zone (the node's topology.kubernetes.io/zone label).
enum class FailureDomain { kNode, kZone };
std::string_view failureDomainName(FailureDomain domain);  // "node" / "zone"
std::string_view failureDomainTopologyKey(FailureDomain domain);

// corev1.ResourceRequirements; quantities kept as their text ("500m", "1Gi", "2").
struct ResourceRequirements {
  std::map<std::string, std::string> limits;
  std::map<std::string, std::string> requests;
  bool empty() const { return limits.empty() && requests.empty(); }
  bool operator==(const ResourceRequirements&) const = default;
};

struct StorageSpec {
  std::string size;                // a quantity, e.g. "1Gi"
  std::string storage_class_name;  // empty = the cluster's default StorageClass
  bool operator==(const StorageSpec&) const = default;
};

struct PasswordSecretRef {
  std::string name;
  std::string key{kDefaultPasswordKey};
  // After a changed Secret's password is accepted by every node, the previous one keeps working
  // this long (for clients still switching), then no node accepts it.
  int32_t rotation_grace_seconds = kDefaultRotationGraceSeconds;
  bool operator==(const PasswordSecretRef&) const = default;
};

// TLS on the client port, the cluster bus and replication. The Secret holds tls.crt, tls.key and
// ca.crt (what cert-manager writes); a renewed certificate is reloaded without restarts.
struct TlsSpec {
  std::string secret_name;
  // Clients must present a certificate signed by ca.crt; otherwise one is checked only when
  // presented (the nodes always authenticate each other on the bus and for replication).
  bool require_client_certificates = false;
  bool operator==(const TlsSpec&) const = default;
};

// An application ACL user created on every node: its password from a Secret, its permissions as
// ACL SETUSER rules (key patterns, commands, channels), e.g. "~app:* +@read +@write -@dangerous".
struct UserSpec {
  std::string name;
  PasswordSecretRef password_secret;
  std::string rules;
  bool operator==(const UserSpec&) const = default;
};
inline constexpr size_t kMaxUsers = 32;

// How pods are replaced when their template changes (image, resources, restart-only settings):
// shard by shard, replicas first, the master only after a graceful failover to an updated replica.
struct UpdateStrategySpec {
  bool paused = false;                 // no pod is restarted while set; drift is still reported
  int32_t max_unavailable_shards = 1;  // shards that may each have one pod restarting at once
  bool operator==(const UpdateStrategySpec&) const = default;
};

// Where the redis pods may run, passed to the pod template as given (the API server validates
// these against the Pod schema when the StatefulSet is applied). Absent fields are null.
struct PlacementSpec {
  std::map<std::string, std::string> node_selector;
  nlohmann::json tolerations;                  // a list of corev1.Toleration
  nlohmann::json affinity;                     // corev1.Affinity; the shard anti-affinity is added
  nlohmann::json topology_spread_constraints;  // a list of corev1.TopologySpreadConstraint
  std::string priority_class_name;
  std::map<std::string, std::string> pod_labels;  // may not override the operator's own labels
  std::map<std::string, std::string> pod_annotations;
  bool operator==(const PlacementSpec&) const = default;
};

struct MigrationSpec {
  int32_t batch_keys = kDefaultBatchKeys;
  int32_t timeout_seconds = kDefaultMigrationTimeoutSeconds;
  // MIGRATEs sent to a source per round trip: it serves its clients between reads, so fewer
  // means shorter stalls for them and a slower move.
  int32_t slots_per_round_trip = kDefaultSlotsPerRoundTrip;
  // Source masters moving slots at the same time.
  int32_t parallel_moves = kDefaultParallelMoves;
  bool operator==(const MigrationSpec&) const = default;
};

// A default-constructed spec equals what the API server stores for `spec: {}`.
struct RedisClusterSpec {
  int32_t masters = kDefaultMasters;
  int32_t replicas_per_master = kDefaultReplicasPerMaster;
  std::string image{kDefaultImage};
  ResourceRequirements resources;
  std::optional<StorageSpec> storage;  // absent = emptyDir
  std::optional<PasswordSecretRef> password_secret;
  std::optional<TlsSpec> tls;  // absent = plain TCP
  std::vector<UserSpec> users;
  std::map<std::string, std::string> redis_config;
  MigrationSpec migration;
  PodAntiAffinity pod_anti_affinity = PodAntiAffinity::kRequired;
  UpdateStrategySpec update_strategy;
  FailureDomain failure_domain = FailureDomain::kNode;
  PlacementSpec placement;  // flattened into spec: nodeSelector, tolerations, affinity, ...
  bool operator==(const RedisClusterSpec&) const = default;
};

enum class ConditionStatus { kTrue, kFalse, kUnknown };
std::string_view conditionStatusName(ConditionStatus status);

// How many hash slots a NodeStatus::slots string such as "0-5460,5462" names (malformed parts
// count for nothing).
int countSlotRanges(std::string_view ranges);  // "True" / "False" / "Unknown"

// metav1.Condition.
struct Condition {
  std::string type;  // Ready, Progressing, Degraded (see conditions.h)
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;  // CamelCase, shared with Events
  std::string message;
  std::string last_transition_time;  // RFC 3339, e.g. 2024-01-02T03:04:05Z
  int64_t observed_generation = 0;
  bool operator==(const Condition&) const = default;
};

// One redis node (pod) as last observed.
struct NodeStatus {
  std::string pod;
  std::string ip;
  std::string node_id;
  std::string role;       // "master" or "replica"
  std::string master_id;  // replicas only
  std::string slots;      // "0-5460,5462"; empty for replicas and empty masters
  int32_t shard = 0;
  std::string link_status;  // replicas only: master_link_status ("up" / "down")
  int64_t lag_seconds = 0;  // replicas only
  int64_t lag_bytes = 0;    // replicas only: master offset minus replica offset
  bool sync_in_progress = false;
  // The pod runs an older template than its StatefulSet's (a restart would bring the change).
  bool outdated = false;
  bool operator==(const NodeStatus&) const = default;
};

struct RedisClusterStatus {
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  int32_t masters = 0;
  int32_t ready_masters = 0;
  int32_t replicas = 0;
  int32_t ready_replicas = 0;
  int32_t unprotected_masters = 0;
  int32_t slots_assigned = 0;
  int32_t slots_ok = 0;
  std::string cluster_state;  // "ok" / "fail"; empty before the first observation
  std::vector<NodeStatus> nodes;
  // The in-flight plan, free-form (the schema preserves unknown fields). null = none.
  nlohmann::json operation;
  std::string selector;       // label selector of the pods, for the scale subresource
  int32_t updated_pods = 0;   // pods running their StatefulSet's current template
  int32_t outdated_pods = 0;  // pods a rolling restart still has to replace
  // A changed password being rolled in, or when the last rotation finished. Free-form like
  // operation; null = no rotation seen.
  nlohmann::json password_rotation;
  bool operator==(const RedisClusterStatus&) const = default;
};

struct RedisCluster {
  std::string name;
  std::string ns;  // metadata.namespace
  std::string uid;
  int64_t generation = 0;
  std::string resource_version;
  std::string deletion_timestamp;  // empty unless the object is being deleted
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  RedisClusterSpec spec;
  RedisClusterStatus status;
  bool operator==(const RedisCluster&) const = default;
};

}  // namespace slotkeeper::api
