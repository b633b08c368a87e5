// Spec validation (the CRD's rules mirrored in C++), and a check that the CRD file and the C++
// constants still say the same thing.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <regex>
#include <set>

#include "api/validation.h"

namespace slotkeeper::api {
namespace {

struct Case {
  const char* what;
  std::function<void(RedisClusterSpec&)> change;
  const char* expected;  // substring of the error; nullptr = valid
};

TEST(ApiValidation, Table) {
  const std::vector<Case> cases = {
      {"defaults", [](RedisClusterSpec&) {}, nullptr},
      {"3 masters", [](RedisClusterSpec& s) { s.masters = 3; }, nullptr},
      {"100 masters", [](RedisClusterSpec& s) { s.masters = 100; }, nullptr},
      {"2 masters", [](RedisClusterSpec& s) { s.masters = 2; },
       "spec.masters: must be between 3 and 100, got 2"},
      {"101 masters", [](RedisClusterSpec& s) { s.masters = 101; },
       "spec.masters: must be between 3 and 100, got 101"},
      {"0 replicas", [](RedisClusterSpec& s) { s.replicas_per_master = 0; }, nullptr},
      {"5 replicas", [](RedisClusterSpec& s) { s.replicas_per_master = 5; }, nullptr},
      {"-1 replicas", [](RedisClusterSpec& s) { s.replicas_per_master = -1; },
       "spec.replicasPerMaster: must be between 0 and 5, got -1"},
      {"6 replicas", [](RedisClusterSpec& s) { s.replicas_per_master = 6; },
       "spec.replicasPerMaster: must be between 0 and 5, got 6"},
      {"empty image", [](RedisClusterSpec& s) { s.image = ""; }, "spec.image: must not be empty"},
      {"storage 1Gi",
       [](RedisClusterSpec& s) {
         s.storage = StorageSpec{"1Gi", ""};
       },
       nullptr},
      {"storage 1.5Gi",
       [](RedisClusterSpec& s) {
         s.storage = StorageSpec{"1.5Gi", "x"};
       },
       nullptr},
      {"storage 0",
       [](RedisClusterSpec& s) {
         s.storage = StorageSpec{"0", ""};
       },
       "spec.storage.size: must be a positive quantity such as 1Gi, got \"0\""},
      {"storage words",
       [](RedisClusterSpec& s) {
         s.storage = StorageSpec{"lots", ""};
       },
       "spec.storage.size: must be a positive quantity"},
      {"storage negative",
       [](RedisClusterSpec& s) {
         s.storage = StorageSpec{"-1Gi", ""};
       },
       "spec.storage.size: must be a positive quantity"},
      {"storage empty",
       [](RedisClusterSpec& s) {
         s.storage = StorageSpec{"", ""};
       },
       "spec.storage.size: must be a positive quantity"},
      {"password secret",
       [](RedisClusterSpec& s) {
         s.password_secret = PasswordSecretRef{"auth", "pw"};
       },
       nullptr},
      {"user with a password in its rules",
       [](RedisClusterSpec& s) {
         s.users = {{"app", {"app-pw", "password", 60}, "~app:* >hunter2 +get"}};
       },
       "spec.users[0].rules: rule \">...\" sets a password; passwords come from passwordSecret "
       "only"},
      {"user that may go without a password",
       [](RedisClusterSpec& s) {
         s.users = {{"app", {"app-pw", "password", 60}, "nopass ~*"}};
       },
       "spec.users[0].rules: rule \"nopass\" is not allowed"},
      {"user named default",
       [](RedisClusterSpec& s) {
         s.users = {{"default", {"pw", "password", 60}, "~*"}};
       },
       "spec.users[0].name: \"default\" is the passwordSecret's user"},
      {"user listed twice",
       [](RedisClusterSpec& s) {
         s.users = {{"app", {"a", "password", 60}, "~a:*"}, {"app", {"b", "password", 60}, "~b:*"}};
       },
       "spec.users[1].name: \"app\" is listed twice"},
      {"user with a selector and categories",
       [](RedisClusterSpec& s) {
         s.users = {{"app", {"a", "password", 60}, "~app:* +@read (~log:* +get)"}};
       },
       nullptr},
      {"password secret without name",
       [](RedisClusterSpec& s) {
         s.password_secret = PasswordSecretRef{"", "password"};
       },
       "spec.passwordSecret.name: must not be empty"},
      {"password secret without key",
       [](RedisClusterSpec& s) {
         s.password_secret = PasswordSecretRef{"a", ""};
       },
       "spec.passwordSecret.key: must not be empty"},
      {"allowed redisConfig",
       [](RedisClusterSpec& s) {
         s.redis_config = {{"maxmemory", "1gb"}, {"save", ""}, {"cluster-node-timeout", "5000"}};
       },
       nullptr},
      {"cluster-enabled",
       [](RedisClusterSpec& s) {
         s.redis_config = {{"cluster-enabled", "no"}};
       },
       "spec.redisConfig.cluster-enabled: set by the operator, cannot be overridden"},
      {"requirepass",
       [](RedisClusterSpec& s) {
         s.redis_config = {{"requirepass", "x"}};
       },
       "spec.redisConfig.requirepass: set by the operator"},
      {"unknown key",
       [](RedisClusterSpec& s) {
         s.redis_config = {{"loadmodule", "/x.so"}};
       },
       "spec.redisConfig.loadmodule: unsupported redisConfig key; allowed keys: maxmemory, "
       "maxmemory-policy,"},
      {"newline in value",
       [](RedisClusterSpec& s) {
         s.redis_config = {{"maxmemory", "1gb\nrequirepass x"}};
       },
       "spec.redisConfig.maxmemory: must not contain a line break"},
      {"long value",
       [](RedisClusterSpec& s) {
         s.redis_config = {{"save", std::string(257, '1')}};
       },
       "spec.redisConfig.save: at most 256 characters"},
      {"batchKeys 9", [](RedisClusterSpec& s) { s.migration.batch_keys = 9; },
       "spec.migration.batchKeys: must be between 10 and 100000, got 9"},
      {"batchKeys 100001", [](RedisClusterSpec& s) { s.migration.batch_keys = 100001; },
       "spec.migration.batchKeys: must be between 10 and 100000"},
      {"slotsPerRoundTrip 0", [](RedisClusterSpec& s) { s.migration.slots_per_round_trip = 0; },
       "spec.migration.slotsPerRoundTrip: must be between 1 and 1024, got 0"},
      {"parallelMoves 17", [](RedisClusterSpec& s) { s.migration.parallel_moves = 17; },
       "spec.migration.parallelMoves: must be between 1 and 16, got 17"},
      {"timeout 4", [](RedisClusterSpec& s) { s.migration.timeout_seconds = 4; },
       "spec.migration.timeoutSeconds: must be between 5 and 3600, got 4"},
      {"timeout 3601", [](RedisClusterSpec& s) { s.migration.timeout_seconds = 3601; },
       "spec.migration.timeoutSeconds: must be between 5 and 3600"},
      {"resources",
       [](RedisClusterSpec& s) {
         s.resources.limits = {{"cpu", "2"}, {"memory", "1Gi"}};
         s.resources.requests = {{"cpu", "500m"}, {"memory", "1e9"}};
       },
       nullptr},
      {"resource not a quantity",
       [](RedisClusterSpec& s) {
         s.resources.limits = {{"cpu", "2 cores"}};
       },
       "spec.resources.limits.cpu: \"2 cores\" is not a quantity"},
      {"negative resource",
       [](RedisClusterSpec& s) {
         s.resources.requests = {{"memory", "-1Gi"}};
       },
       "spec.resources.requests.memory: must not be negative"},
  };
  for (const Case& c : cases) {
    RedisClusterSpec spec;
    c.change(spec);
    Status status = validateSpec(spec);
    if (c.expected == nullptr) {
      EXPECT_TRUE(status.isOk()) << c.what << ": " << status.toString();
      continue;
    }
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(status.message().find(c.expected), std::string::npos)
        << c.what << ": got \"" << status.message() << "\", want \"" << c.expected << "\"";
  }
}

TEST(ApiValidation, ReportsEveryProblemAtOnce) {
  RedisClusterSpec spec;
  spec.masters = 1;
  spec.replicas_per_master = 9;
  spec.redis_config = {{"port", "7000"}, {"foo", "bar"}};
  Status status = validateSpec(spec);
  ASSERT_FALSE(status.isOk());
  for (const char* field : {"spec.masters:", "spec.replicasPerMaster:", "spec.redisConfig.port:",
                            "spec.redisConfig.foo:"}) {
    EXPECT_NE(status.message().find(field), std::string::npos) << status.message();
  }
}

TEST(ApiValidation, NamesMustFitInServiceAndStatefulSetNames) {
  RedisCluster cluster;
  cluster.name = "cache-a";
  EXPECT_TRUE(validateRedisCluster(cluster).isOk());
  cluster.name = std::string(40, 'a');
  EXPECT_TRUE(validateRedisCluster(cluster).isOk());
  cluster.name = std::string(41, 'a');
  EXPECT_NE(validateRedisCluster(cluster).message().find("metadata.name: at most 40 characters"),
            std::string::npos);
  for (const char* bad : {"Cache", "1cache", "cache.a", "cache-", ""}) {
    cluster.name = bad;
    EXPECT_NE(validateRedisCluster(cluster).message().find("must start with a letter"),
              std::string::npos)
        << bad;
  }
  cluster.name = "ok";
  cluster.spec.masters = 2;
  EXPECT_NE(validateRedisCluster(cluster).message().find("spec.masters"), std::string::npos);
}

TEST(ApiValidation, StorageIsFixedAtCreation) {
  RedisClusterSpec none;
  RedisClusterSpec small;
  small.storage = StorageSpec{"1Gi", ""};
  RedisClusterSpec big = small;
  big.storage->size = "2Gi";
  RedisClusterSpec scaled = small;
  scaled.masters = 6;  // everything else may change
  EXPECT_TRUE(validateSpecUpdate(small, scaled).isOk());
  EXPECT_TRUE(validateSpecUpdate(none, none).isOk());
  EXPECT_NE(validateSpecUpdate(none, small).message().find("cannot be added or removed"),
            std::string::npos);
  EXPECT_NE(validateSpecUpdate(small, none).message().find("cannot be added or removed"),
            std::string::npos);
  EXPECT_NE(validateSpecUpdate(small, big).message().find("storage cannot be changed"),
            std::string::npos);
}

TEST(ApiValidation, Quantities) {
  for (const char* good : {"1", "1Gi", "512Mi", "1.5G", "1e3", "0.5", ".5Ki", "100m", "+1"}) {
    EXPECT_TRUE(isPositiveQuantity(good)) << good;
  }
  for (const char* bad : {"", "0", "0Gi", "-1", "1 Gi", "1GB", "Gi", "1.2.3", "0.0"}) {
    EXPECT_FALSE(isPositiveQuantity(bad)) << bad;
  }
}

TEST(ApiValidation, OwnedAndAllowedKeysAreDisjointAndCoverTheOperatorsSettings) {
  std::set<std::string_view> allowed(allowedRedisConfigKeys().begin(),
                                     allowedRedisConfigKeys().end());
  std::set<std::string_view> owned(operatorOwnedRedisConfigKeys().begin(),
                                   operatorOwnedRedisConfigKeys().end());
  for (std::string_view key : owned) EXPECT_FALSE(allowed.contains(key)) << key;
  for (const char* key :
       {"cluster-enabled", "cluster-config-file", "port", "bind", "dir", "cluster-announce-ip",
        "requirepass", "masterauth", "cluster-allow-replica-migration"}) {
    EXPECT_TRUE(owned.contains(key)) << key;
  }
}

// ---- the CRD file and the C++ mirror agree

YAML::Node loadCrdSpecSchema() {
  std::filesystem::path crd =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "crds" /
      "redis.slotkeeper.io_redisclusters.yaml";
  YAML::Node root = YAML::LoadFile(crd.string());
  return root["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
}

std::set<std::string> quotedWords(const std::string& text) {
  std::set<std::string> words;
  static const std::regex kQuoted("'([^']+)'");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kQuoted);
       it != std::sregex_iterator(); ++it) {
    words.insert((*it)[1].str());
  }
  return words;
}

TEST(ApiValidation, CrdDefaultsAndBoundsMatchTheConstants) {
  YAML::Node spec = loadCrdSpecSchema()["properties"];
  auto expectInt = [&](YAML::Node field, const char* key, int64_t want, const char* name) {
    ASSERT_TRUE(field[key]) << name << "." << key << " missing from the CRD";
    EXPECT_EQ(field[key].as<int64_t>(), want) << name << "." << key;
  };
  expectInt(spec["masters"], "default", kDefaultMasters, "masters");
  expectInt(spec["masters"], "minimum", kMinMasters, "masters");
  expectInt(spec["masters"], "maximum", kMaxMasters, "masters");
  expectInt(spec["replicasPerMaster"], "default", kDefaultReplicasPerMaster, "replicasPerMaster");
  expectInt(spec["replicasPerMaster"], "minimum", kMinReplicasPerMaster, "replicasPerMaster");
  expectInt(spec["replicasPerMaster"], "maximum", kMaxReplicasPerMaster, "replicasPerMaster");
  YAML::Node migration = spec["migration"]["properties"];
  expectInt(migration["batchKeys"], "default", kDefaultBatchKeys, "batchKeys");
  expectInt(migration["batchKeys"], "minimum", kMinBatchKeys, "batchKeys");
  expectInt(migration["batchKeys"], "maximum", kMaxBatchKeys, "batchKeys");
  expectInt(migration["timeoutSeconds"], "default", kDefaultMigrationTimeoutSeconds, "timeout");
  expectInt(migration["timeoutSeconds"], "minimum", kMinMigrationTimeoutSeconds, "timeout");
  expectInt(migration["timeoutSeconds"], "maximum", kMaxMigrationTimeoutSeconds, "timeout");
  expectInt(migration["slotsPerRoundTrip"], "default", kDefaultSlotsPerRoundTrip, "slotsPerRT");
  expectInt(migration["slotsPerRoundTrip"], "minimum", 1, "slotsPerRoundTrip");
  expectInt(migration["slotsPerRoundTrip"], "maximum", kMaxSlotsPerRoundTrip, "slotsPerRT");
  expectInt(migration["parallelMoves"], "default", kDefaultParallelMoves, "parallelMoves");
  expectInt(migration["parallelMoves"], "minimum", 1, "parallelMoves");
  expectInt(migration["parallelMoves"], "maximum", kMaxParallelMoves, "parallelMoves");
  expectInt(spec["redisConfig"], "maxProperties", kMaxRedisConfigEntries, "redisConfig");
  expectInt(spec["redisConfig"]["additionalProperties"], "maxLength", kMaxRedisConfigValueLength,
            "redisConfig values");
  EXPECT_EQ(spec["image"]["default"].as<std::string>(), kDefaultImage);
  EXPECT_EQ(spec["passwordSecret"]["properties"]["key"]["default"].as<std::string>(),
            kDefaultPasswordKey);
}

TEST(ApiValidation, CrdRedisConfigRulesListTheSameKeys) {
  YAML::Node rules = loadCrdSpecSchema()["properties"]["redisConfig"]["x-kubernetes-validations"];
  ASSERT_EQ(rules.size(), 2u);
  std::set<std::string> owned_in_crd = quotedWords(rules[0]["rule"].as<std::string>());
  std::set<std::string> all_in_crd = quotedWords(rules[1]["rule"].as<std::string>());
  std::set<std::string> owned(operatorOwnedRedisConfigKeys().begin(),
                              operatorOwnedRedisConfigKeys().end());
  std::set<std::string> all = owned;
  all.insert(allowedRedisConfigKeys().begin(), allowedRedisConfigKeys().end());
  EXPECT_EQ(owned_in_crd, owned);
  EXPECT_EQ(all_in_crd, all);
  // The refusal message names every allowed key.
  std::string message = rules[1]["message"].as<std::string>();
  for (std::string_view key : allowedRedisConfigKeys()) {
    EXPECT_NE(message.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace slotkeeper::api
