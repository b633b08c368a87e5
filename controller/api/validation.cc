// Mirrors the OpenAPI bounds and CEL rules of crds/redis.slotkeeper.io_redisclusters.yaml.
#include "api/validation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

namespace slotkeeper::api {
namespace {

constexpr std::array<std::string_view, 20> kAllowedKeys = {
    "maxmemory",
    "maxmemory-policy",
    "appendonly",
    "appendfsync",
    "save",
    "timeout",
    "tcp-keepalive",
    "hz",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "latency-monitor-threshold",
    "notify-keyspace-events",
    "cluster-node-timeout",
    "repl-backlog-size",
    "io-threads",
    "io-threads-do-reads",
    "tcp-backlog",
    "disable-thp",
};

// What the operator's redis.conf and command line set: letting a user override them would break
// the cluster (port, cluster-enabled), its node ids (cluster-config-file, dir), its addressing
// (bind, announce-*) or the password handling (requirepass, masterauth).
constexpr std::array<std::string_view, 15> kOwnedKeys = {
    "cluster-enabled",
    "cluster-config-file",
    "port",
    "bind",
    "dir",
    "cluster-announce-ip",
    "requirepass",
    "masterauth",
    "cluster-allow-replica-migration",
    "protected-mode",
    "cluster-require-full-coverage",
    "cluster-announce-port",
    "cluster-announce-bus-port",
    "cluster-port",
    "bind-source-addr",
};

// ACL rules the operator cannot allow in spec.users: passwords come from the Secret only, and a
// user is never left without one.
constexpr std::array<std::string_view, 4> kForbiddenUserRules = {"nopass", "resetpass", "reset",
                                                                 "off"};

bool isUserName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

void checkUserRules(std::vector<std::string>& problems, const std::string& path,
                    const std::string& rules) {
  if (rules.size() > 1024) problems.push_back(path + ": longer than 1024 characters");
  std::istringstream words(rules);
  for (std::string word; words >> word;) {
    if (word.front() == '>' || word.front() == '<' || word.front() == '#' || word.front() == '!') {
      problems.push_back(path + ": rule \"" + word.substr(0, 1) +
                         "...\" sets a password; passwords come from passwordSecret only");
    } else if (std::find(kForbiddenUserRules.begin(), kForbiddenUserRules.end(), word) !=
               kForbiddenUserRules.end()) {
      problems.push_back(path + ": rule \"" + word + "\" is not allowed");
    }
  }
}

void checkRange(std::vector<std::string>& problems, std::string_view field, int64_t value,
                int64_t min, int64_t max);

void checkUsers(std::vector<std::string>& problems, const std::vector<UserSpec>& users) {
  if (users.size() > kMaxUsers) {
    problems.push_back("spec.users: at most " + std::to_string(kMaxUsers) + " users");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < users.size(); ++i) {
    const UserSpec& u = users[i];
    const std::string path = "spec.users[" + std::to_string(i) + "]";
    if (!isUserName(u.name)) {
      problems.push_back(path + ".name: must be 1-63 letters, digits, '_', '-' or '.'");
    } else if (u.name == "default") {
      problems.push_back(path + ".name: \"default\" is the passwordSecret's user");
    } else if (!seen.insert(u.name).second) {
      problems.push_back(path + ".name: \"" + u.name + "\" is listed twice");
    }
    if (u.password_secret.name.empty()) {
      problems.push_back(path + ".passwordSecret.name: must not be empty");
    }
    checkRange(problems, path + ".passwordSecret.rotationGraceSeconds",
               u.password_secret.rotation_grace_seconds, 0, kMaxRotationGraceSeconds);
    checkUserRules(problems, path + ".rules", u.rules);
  }
}

bool contains(std::span<const std::string_view> list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

std::string joined(std::span<const std::string_view> list) {
  std::string out;
  for (std::string_view item : list) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

void checkRange(std::vector<std::string>& problems, std::string_view field, int64_t value,
                int64_t min, int64_t max) {
  if (value < min || value > max) {
    problems.push_back(std::string(field) + ": must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", got " + std::to_string(value));
  }
}

// The CRD's quantity pattern (the resources one also allows a sign).
bool matchesQuantity(std::string_view text) {
  static const std::regex kQuantity(
      R"(^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+)))"                                     // number
      R"((([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$)");  // suffix
  return std::regex_match(text.begin(), text.end(), kQuantity);
}

// The digits before any suffix or exponent contain something other than zero.
bool hasNonZeroMantissa(std::string_view text) {
  for (char c : text) {
    if (c >= '1' && c <= '9') return true;
    if (c != '0' && c != '.' && c != '+') return false;
  }
  return false;
}

void checkResources(std::vector<std::string>& problems, std::string_view field,
                    const std::map<std::string, std::string>& quantities) {
  for (const auto& [name, value] : quantities) {
    std::string path = std::string(field) + "." + name;
    if (!matchesQuantity(value)) {
      problems.push_back(path + ": \"" + value + "\" is not a quantity (e.g. 500m, 1Gi)");
    } else if (value.front() == '-') {
      problems.push_back(path + ": must not be negative, got \"" + value + "\"");
    }
  }
}

void checkRedisConfig(std::vector<std::string>& problems,
                      const std::map<std::string, std::string>& config) {
  if (config.size() > kMaxRedisConfigEntries) {
    problems.push_back("spec.redisConfig: at most " + std::to_string(kMaxRedisConfigEntries) +
                       " entries, got " + std::to_string(config.size()));
  }
  for (const auto& [key, value] : config) {
    std::string path = "spec.redisConfig." + key;
    if (contains(kOwnedKeys, key)) {
      problems.push_back(path + ": set by the operator, cannot be overridden (operator-owned: " +
                         joined(kOwnedKeys) + ")");
      continue;
    }
    if (!contains(kAllowedKeys, key)) {
      problems.push_back(path +
                         ": unsupported redisConfig key; allowed keys: " + joined(kAllowedKeys));
      continue;
    }
    // A line break would add directives of the user's choosing to redis.conf.
    if (value.find_first_of("\r\n") != std::string::npos) {
      problems.push_back(path + ": must not contain a line break");
    }
    if (value.size() > kMaxRedisConfigValueLength) {
      problems.push_back(path + ": at most " + std::to_string(kMaxRedisConfigValueLength) +
                         " characters");
    }
  }
}

// Labels the operator and the StatefulSet controller set on every pod: selectors depend on them.
constexpr std::array<std::string_view, 7> kOwnedPodLabels = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "redis.slotkeeper.io/cluster",
    "redis.slotkeeper.io/shard",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
};

void checkPlacement(std::vector<std::string>& problems, const PlacementSpec& placement) {
  for (const auto& [key, value] : placement.pod_labels) {
    if (contains(kOwnedPodLabels, key)) {
      problems.push_back("spec.podLabels." + key + ": set by the operator, cannot be overridden");
    }
  }
  for (const auto& [key, value] : placement.pod_annotations) {
    if (key.rfind("redis.slotkeeper.io/", 0) == 0) {
      problems.push_back("spec.podAnnotations." + key +
                         ": the redis.slotkeeper.io/ prefix is reserved for the operator");
    }
  }
}

std::vector<std::string> specProblems(const RedisClusterSpec& spec) {
  std::vector<std::string> problems;
  checkRange(problems, "spec.masters", spec.masters, kMinMasters, kMaxMasters);
  checkRange(problems, "spec.replicasPerMaster", spec.replicas_per_master, kMinReplicasPerMaster,
             kMaxReplicasPerMaster);
  if (spec.image.empty()) problems.push_back("spec.image: must not be empty");
  checkResources(problems, "spec.resources.limits", spec.resources.limits);
  checkResources(problems, "spec.resources.requests", spec.resources.requests);
  if (spec.storage && !isPositiveQuantity(spec.storage->size)) {
    problems.push_back("spec.storage.size: must be a positive quantity such as 1Gi, got \"" +
                       spec.storage->size + "\"");
  }
  if (spec.password_secret) {
    if (spec.password_secret->name.empty()) {
      problems.push_back("spec.passwordSecret.name: must not be empty");
    }
    if (spec.password_secret->key.empty()) {
      problems.push_back("spec.passwordSecret.key: must not be empty");
    }
    checkRange(problems, "spec.passwordSecret.rotationGraceSeconds",
               spec.password_secret->rotation_grace_seconds, 0, kMaxRotationGraceSeconds);
  }
  checkUsers(problems, spec.users);
  if (spec.tls && spec.tls->secret_name.empty()) {
    problems.push_back("spec.tls.secretName: must not be empty");
  }
  checkRedisConfig(problems, spec.redis_config);
  checkRange(problems, "spec.migration.batchKeys", spec.migration.batch_keys, kMinBatchKeys,
             kMaxBatchKeys);
  checkRange(problems, "spec.migration.timeoutSeconds", spec.migration.timeout_seconds,
             kMinMigrationTimeoutSeconds, kMaxMigrationTimeoutSeconds);
  checkRange(problems, "spec.migration.slotsPerRoundTrip", spec.migration.slots_per_round_trip, 1,
             kMaxSlotsPerRoundTrip);
  checkRange(problems, "spec.migration.parallelMoves", spec.migration.parallel_moves, 1,
             kMaxParallelMoves);
  checkPlacement(problems, spec.placement);
  checkRange(problems, "spec.updateStrategy.maxUnavailableShards",
             spec.update_strategy.max_unavailable_shards, 1, kMaxUnavailableShardsLimit);
  return problems;
}

Status fromProblems(const std::vector<std::string>& problems) {
  if (problems.empty()) return Status::ok();
  std::string message;
  for (const std::string& p : problems) {
    if (!message.empty()) message += "; ";
    message += p;
  }
  return invalidArgument(message);
}

}  // namespace

std::span<const std::string_view> allowedRedisConfigKeys() { return kAllowedKeys; }
std::span<const std::string_view> operatorOwnedRedisConfigKeys() { return kOwnedKeys; }

bool isPositiveQuantity(std::string_view text) {
  return matchesQuantity(text) && text.front() != '-' && hasNonZeroMantissa(text);
}

Status validateSpec(const RedisClusterSpec& spec) { return fromProblems(specProblems(spec)); }

Status validateRedisCluster(const RedisCluster& cluster) {
  std::vector<std::string> problems;
  // Names become Service names (DNS-1035 labels) and label values.
  static const std::regex kDns1035(R"(^[a-z]([-a-z0-9]*[a-z0-9])?$)");
  if (cluster.name.size() > kMaxNameLength) {
    problems.push_back("metadata.name: at most " + std::to_string(kMaxNameLength) +
                       " characters, got " + std::to_string(cluster.name.size()));
  }
  if (!std::regex_match(cluster.name, kDns1035)) {
    problems.push_back("metadata.name: \"" + cluster.name +
                       "\" must start with a letter and contain only lower-case letters, digits "
                       "and '-'");
  }
  std::vector<std::string> spec = specProblems(cluster.spec);
  problems.insert(problems.end(), spec.begin(), spec.end());
  return fromProblems(problems);
}

Status validateSpecUpdate(const RedisClusterSpec& old_spec, const RedisClusterSpec& new_spec) {
  if (old_spec.storage.has_value() != new_spec.storage.has_value()) {
    return invalidArgument("spec.storage: storage cannot be added or removed after creation");
  }
  if (old_spec.storage != new_spec.storage) {
    return invalidArgument("spec.storage: storage cannot be changed after creation");
  }
  return Status::ok();
}

}  // namespace slotkeeper::api
