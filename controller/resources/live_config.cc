#include "resources/live_config.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "resources/config_map.h"

namespace slotkeeper::resources {
namespace {

// Redis 7.0 answers "can't set immutable config" for these.
constexpr std::array<std::string_view, 4> kRestartOnlyKeys = {
    "io-threads",
    "io-threads-do-reads",
    "tcp-backlog",
    "disable-thp",
};

// What a node runs with when spec.redisConfig leaves a live key out: Redis 7.0's default, or
// the operator's own redis.conf line (appendonly yes).
constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kLiveDefaults = {{
    {"appendfsync", "everysec"},
    {"appendonly", "yes"},
    {"cluster-node-timeout", "15000"},
    {"hz", "10"},
    {"latency-monitor-threshold", "0"},
    {"lazyfree-lazy-eviction", "no"},
    {"lazyfree-lazy-expire", "no"},
    {"maxmemory", "0"},
    {"maxmemory-policy", "noeviction"},
    {"notify-keyspace-events", ""},
    {"repl-backlog-size", "1mb"},
    {"save", "3600 1 300 100 60 10000"},
    {"slowlog-log-slower-than", "10000"},
    {"slowlog-max-len", "128"},
    {"tcp-keepalive", "300"},
    {"timeout", "0"},
}};

}  // namespace

std::span<const std::string_view> restartOnlyRedisConfigKeys() { return kRestartOnlyKeys; }

bool isRestartOnlyRedisConfigKey(std::string_view key) {
  return std::find(kRestartOnlyKeys.begin(), kRestartOnlyKeys.end(), key) != kRestartOnlyKeys.end();
}

std::vector<std::pair<std::string, std::string>> makeLiveSettings(
    const api::RedisCluster& cluster) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, fallback] : kLiveDefaults) {
    auto it = cluster.spec.redis_config.find(std::string(key));
    out.emplace_back(key, it == cluster.spec.redis_config.end() ? fallback : it->second);
  }
  return out;
}

std::chrono::milliseconds clusterNodeTimeout(const api::RedisCluster& cluster) {
  constexpr std::string_view kKey = "cluster-node-timeout";
  for (const auto& [key, value] : makeLiveSettings(cluster)) {
    if (key != kKey) continue;
    int64_t ms = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (error == std::errc() && end == value.data() + value.size() && ms > 0) {
      return std::chrono::milliseconds(ms);
    }
  }
  return std::chrono::milliseconds(15000);
}

std::string makeLiveSettingsHash(const api::RedisCluster& cluster) {
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [key, value] : makeLiveSettings(cluster)) settings[key] = value;
  return makeConfigHash({{"data", std::move(settings)}});
}

std::string makeRestartConfigHash(const api::RedisCluster& cluster) {
  api::RedisCluster restart_only = cluster;
  std::erase_if(restart_only.spec.redis_config,
                [](const auto& entry) { return !isRestartOnlyRedisConfigKey(entry.first); });
  return makeConfigHash(makeConfigMap(restart_only));
}

}  // namespace slotkeeper::resources
