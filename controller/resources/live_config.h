// Which spec.redisConfig settings a running redis takes with CONFIG SET and which it reads only
// at start. Live settings never restart a pod: the operator sets them on every node, and the
// ConfigMap carries them for the next start. Only the restart-only part of redis.conf is hashed
// onto the pod template, so only a change there rolls the pods.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/types.h"

namespace slotkeeper::resources {

// The allowed spec.redisConfig keys that Redis 7 refuses to change at run time.
std::span<const std::string_view> restartOnlyRedisConfigKeys();
bool isRestartOnlyRedisConfigKey(std::string_view key);

// Every live key with the value running nodes should have: the spec's, or the value redis.conf
// implies when the spec leaves the key out (so removing a key also takes effect without a
// restart). In key order.
std::vector<std::pair<std::string, std::string>> makeLiveSettings(const api::RedisCluster& cluster);

// The cluster-node-timeout its nodes run with: the spec's, or Redis's default. A value the
// validation let through but that is not a whole number counts as the default.
std::chrono::milliseconds clusterNodeTimeout(const api::RedisCluster& cluster);

// A stable hash of makeLiveSettings(): a node that took these settings needs no CONFIG SET.
std::string makeLiveSettingsHash(const api::RedisCluster& cluster);

// The hash of the ConfigMap as it would be without the live keys: the pod template annotation
// kAnnotationConfigHash, which rolls the pods when it changes.
std::string makeRestartConfigHash(const api::RedisCluster& cluster);

}  // namespace slotkeeper::resources
