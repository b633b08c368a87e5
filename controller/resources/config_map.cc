// redis.conf rendering. The operator's settings come first and the user's extra settings after;
// validation (api/validation.h) has already refused user keys that would override ours.
#include "resources/config_map.h"

#include <cstdint>
#include <cstdio>

#include "resources/metadata.h"

namespace slotkeeper::resources {
namespace {

// redis.conf splits a line into arguments like a shell: an empty value must be written as ""
// (`save ""` disables snapshots), anything else is written as given so that multi-argument
// values such as `save 900 1 300 10` keep working.
std::string renderValue(const std::string& value) { return value.empty() ? "\"\"" : value; }

uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string tlsPath(std::string_view key) { return std::string(kTlsDir) + "/" + std::string(key); }

}  // namespace

std::vector<std::pair<std::string, std::string>> makeTlsFileSettings() {
  return {{"tls-cert-file", tlsPath(kTlsCertKey)},
          {"tls-key-file", tlsPath(kTlsKeyKey)},
          {"tls-ca-cert-file", tlsPath(kTlsCaKey)}};
}

std::string makeRedisConf(const api::RedisCluster& cluster) {
  std::string conf;
  conf += "# redis.conf for RedisCluster " + cluster.ns + "/" + cluster.name +
          ", written by slotkeeper: edit spec.redisConfig, not this file.\n";
  conf +=
      "# cluster-announce-ip (the pod IP), the password and the TLS settings come from the "
      "command line.\n";
  conf += "port " + std::to_string(kRedisPort) + "\n";
  conf += "cluster-enabled yes\n";
  // On the data volume, so a restarted pod keeps its node id (and its slots and replicas).
  conf += "cluster-config-file " + std::string(kDataDir) + "/nodes.conf\n";
  conf += "dir " + std::string(kDataDir) + "\n";
  // The operator places replicas itself; redis moving them between masters would undo that.
  conf += "cluster-allow-replica-migration no\n";
  conf += "cluster-require-full-coverage yes\n";
  // Without a password, protected mode refuses every client not on loopback, the operator
  // included. Access control is the password (spec.passwordSecret) and NetworkPolicies.
  conf += "protected-mode no\n";
  if (!cluster.spec.redis_config.contains("appendonly")) conf += "appendonly yes\n";
  if (!cluster.spec.redis_config.empty()) conf += "# spec.redisConfig\n";
  for (const auto& [key, value] : cluster.spec.redis_config) {
    conf += key + " " + renderValue(value) + "\n";
  }
  return conf;
}

nlohmann::json makeConfigMap(const api::RedisCluster& cluster) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", makeObjectMeta(cluster, configMapName(cluster), makeClusterLabels(cluster))},
          {"data", {{kRedisConfKey, makeRedisConf(cluster)}}}};
}

std::string makeConfigHash(const nlohmann::json& config_map) {
  // dump() of a nlohmann::json object lists keys in sorted order, so equal data hash equally.
  auto it = config_map.find("data");
  std::string text = it == config_map.end() ? std::string("null") : it->dump();
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return buf;
}

}  // namespace slotkeeper::resources
