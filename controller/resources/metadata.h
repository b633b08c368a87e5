// Names, labels, selectors and owner references shared by every object the operator creates
// for a RedisCluster, so that builders, the reconciler and tests agree on them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/types.h"

namespace slotkeeper::resources {

inline constexpr std::string_view kLabelName = "app.kubernetes.io/name";
inline constexpr std::string_view kLabelInstance = "app.kubernetes.io/instance";
inline constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kLabelCluster = "redis.slotkeeper.io/cluster";
inline constexpr std::string_view kLabelShard = "redis.slotkeeper.io/shard";
// Set by the StatefulSet controller on every pod: the revision of the template it came from.
inline constexpr std::string_view kLabelRevision = "controller-revision-hash";
inline constexpr std::string_view kAppName = "redis";
inline constexpr std::string_view kManagerName = "slotkeeper";
// On the pod template: a change of redis.conf changes the template, so pods are marked outdated.
inline constexpr std::string_view kAnnotationConfigHash = "redis.slotkeeper.io/config-hash";

// On every object the operator applies: a hash of the manifest it applied, so a pass at rest
// can tell from the cached object that nothing needs applying again.
inline constexpr std::string_view kAnnotationAppliedHash = "redis.slotkeeper.io/applied-hash";

inline constexpr int kRedisPort = 6379;
inline constexpr int kBusPort = 16379;  // cluster bus: always the data port + 10000

std::string configMapName(const api::RedisCluster& cluster);        // <name>-config
std::string headlessServiceName(const api::RedisCluster& cluster);  // <name>-headless
// The StatefulSet and the PodDisruptionBudget of one shard: <name>-shard-<i>.
std::string shardName(const api::RedisCluster& cluster, int shard);
// A pod of a shard's StatefulSet: <name>-shard-<i>-<ordinal>.
std::string shardPodName(const api::RedisCluster& cluster, int shard, int ordinal);

// app.kubernetes.io/{name,instance,managed-by} and redis.slotkeeper.io/cluster.
nlohmann::json makeClusterLabels(const api::RedisCluster& cluster);
// makeClusterLabels plus redis.slotkeeper.io/shard: "<i>".
nlohmann::json makeShardLabels(const api::RedisCluster& cluster, int shard);
// matchLabels selecting all pods of the cluster / of one shard.
nlohmann::json makeClusterSelector(const api::RedisCluster& cluster);
nlohmann::json makeShardSelector(const api::RedisCluster& cluster, int shard);
// status.selector for the scale subresource: "redis.slotkeeper.io/cluster=<name>".
std::string selectorString(const api::RedisCluster& cluster);

// Controller owner reference to the RedisCluster: garbage collection deletes what it owns, and
// blockOwnerDeletion keeps a foreground delete of the cluster waiting for them.
nlohmann::json makeOwnerReference(const api::RedisCluster& cluster);

// metadata {name, namespace, labels, ownerReferences} for an object owned by the cluster.
nlohmann::json makeObjectMeta(const api::RedisCluster& cluster, std::string_view name,
                              nlohmann::json labels);

// The shard index of a pod or StatefulSet from its labels; nullopt when absent or malformed.
std::optional<int> shardFromLabels(const nlohmann::json& labels);

}  // namespace slotkeeper::resources
