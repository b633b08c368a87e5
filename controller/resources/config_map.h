// The ConfigMap holding redis.conf for every pod of a RedisCluster, and the content hash that
// makes a changed redis.conf visible on the pod template.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/types.h"

namespace slotkeeper::resources {

inline constexpr std::string_view kRedisConfKey = "redis.conf";
inline constexpr std::string_view kRedisConfPath = "/etc/redis/redis.conf";
inline constexpr std::string_view kDataDir = "/data";
// Where the spec.tls Secret is mounted; its keys are cert-manager's.
inline constexpr std::string_view kTlsDir = "/etc/redis-tls";
inline constexpr std::string_view kTlsCertKey = "tls.crt";
inline constexpr std::string_view kTlsKeyKey = "tls.key";
inline constexpr std::string_view kTlsCaKey = "ca.crt";

// The CONFIG SET that makes a node read its certificate files again (Redis 7 reloads them even
// when the paths are unchanged).
std::vector<std::pair<std::string, std::string>> makeTlsFileSettings();

// The redis.conf text: the operator-owned settings (cluster mode, port 6379, nodes.conf on the
// data volume, no replica migration, full coverage required), appendonly yes unless
// spec.redisConfig sets it, then spec.redisConfig in key order. Never a password: that reaches
// redis from the Secret through the environment (see statefulset.h).
std::string makeRedisConf(const api::RedisCluster& cluster);

// <name>-config with data {redis.conf: makeRedisConf(cluster)}.
nlohmann::json makeConfigMap(const api::RedisCluster& cluster);

// A stable hash (FNV-1a 64, 16 hex digits) of a ConfigMap's data, for the pod template
// annotation kAnnotationConfigHash.
std::string makeConfigHash(const nlohmann::json& config_map);

}  // namespace slotkeeper::resources
