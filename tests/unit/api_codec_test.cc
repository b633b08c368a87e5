// RedisCluster codec: decoding with defaults, field-naming type errors, and encode/decode round
// trips of spec, status and whole objects.
#include <gtest/gtest.h>

#include "api/codec.h"
#include "api/defaults.h"

namespace slotkeeper::api {
namespace {

using nlohmann::json;

json minimalObject() {
  return json::parse(R"({
    "apiVersion": "redis.slotkeeper.io/v1alpha1",
    "kind": "RedisCluster",
    "metadata": {"name": "demo", "namespace": "prod", "uid": "u-1", "generation": 4,
                 "resourceVersion": "812", "labels": {"team": "cache"}}
  })");
}

// Decodes `object` and returns the error message (empty when it decoded).
std::string decodeError(const json& object) {
  auto result = decodeRedisCluster(object);
  if (result.isOk()) return "";
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  return result.status().message();
}

json withSpec(const json& spec) {
  json object = minimalObject();
  object["spec"] = spec;
  return object;
}

TEST(ApiDefaults, MatchWhatTheApiServerStoresForAnEmptySpec) {
  // What kube-apiserver 1.33 stored for `spec: {}` with
  // crds/redis.slotkeeper.io_redisclusters.yaml.
  json object = minimalObject();
  applyDefaults(object);
  EXPECT_EQ(object["spec"], json::parse(R"({
    "image": "redis:7.0", "masters": 3, "replicasPerMaster": 1, "podAntiAffinity": "required",
    "migration": {"batchKeys": 1000, "timeoutSeconds": 60, "slotsPerRoundTrip": 1,
                  "parallelMoves": 4},
    "updateStrategy": {"paused": false, "maxUnavailableShards": 1}, "failureDomain": "node"
  })"));
}

TEST(ApiDefaults, FillOnlyAbsentOrNullFieldsAndNestedObjectsThatArePresent) {
  json spec = json::parse(R"({
    "masters": 7, "image": null, "migration": {"batchKeys": 50},
    "passwordSecret": {"name": "redis-auth"}
  })");
  applySpecDefaults(spec);
  EXPECT_EQ(spec["masters"], 7);
  EXPECT_EQ(spec["image"], "redis:7.0");
  EXPECT_EQ(spec["migration"], json::parse(R"({"batchKeys": 50, "timeoutSeconds": 60,
                                               "slotsPerRoundTrip": 1, "parallelMoves": 4})"));
  EXPECT_EQ(
      spec["passwordSecret"],
      json::parse(R"({"name": "redis-auth", "key": "password", "rotationGraceSeconds": 60})"));
  EXPECT_FALSE(spec.contains("storage"));  // no default: absent means emptyDir

  json wrong = json::parse(R"({"masters": "three", "migration": 5})");
  applySpecDefaults(wrong);  // wrong types are left for the decoder to report
  EXPECT_EQ(wrong["masters"], "three");
  EXPECT_EQ(wrong["migration"], 5);
}

TEST(ApiCodec, DecodesMetadataAndDefaultsAnObjectWithoutSpec) {
  auto decoded = decodeRedisCluster(minimalObject());
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->name, "demo");
  EXPECT_EQ(decoded->ns, "prod");
  EXPECT_EQ(decoded->uid, "u-1");
  EXPECT_EQ(decoded->generation, 4);
  EXPECT_EQ(decoded->resource_version, "812");
  EXPECT_EQ(decoded->labels.at("team"), "cache");
  EXPECT_EQ(decoded->spec, RedisClusterSpec{});
  EXPECT_EQ(decoded->spec.masters, 3);
  EXPECT_EQ(decoded->spec.replicas_per_master, 1);
  EXPECT_EQ(decoded->spec.image, "redis:7.0");
  EXPECT_EQ(decoded->spec.migration.batch_keys, 1000);
  EXPECT_EQ(decoded->spec.migration.timeout_seconds, 60);
  EXPECT_EQ(decoded->spec.pod_anti_affinity, PodAntiAffinity::kRequired);
  EXPECT_FALSE(decoded->spec.storage.has_value());
  EXPECT_FALSE(decoded->spec.password_secret.has_value());
  EXPECT_EQ(decoded->status, RedisClusterStatus{});
}

TEST(ApiCodec, DecodesEverySpecField) {
  auto decoded = decodeRedisCluster(withSpec(json::parse(R"({
    "masters": 6, "replicasPerMaster": 2, "image": "redis:7.2",
    "resources": {"limits": {"cpu": 2, "memory": "1Gi"}, "requests": {"cpu": "500m"}},
    "storage": {"size": "10Gi", "storageClassName": "fast"},
    "passwordSecret": {"name": "redis-auth", "key": "pw"},
    "redisConfig": {"maxmemory": "1gb", "maxmemory-policy": "allkeys-lru"},
    "migration": {"batchKeys": 200, "timeoutSeconds": 30, "slotsPerRoundTrip": 2,
                  "parallelMoves": 1},
    "podAntiAffinity": "preferred"
  })")));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  const RedisClusterSpec& spec = decoded->spec;
  EXPECT_EQ(spec.masters, 6);
  EXPECT_EQ(spec.replicas_per_master, 2);
  EXPECT_EQ(spec.image, "redis:7.2");
  EXPECT_EQ(spec.resources.limits.at("cpu"), "2");  // an integer quantity becomes its text
  EXPECT_EQ(spec.resources.limits.at("memory"), "1Gi");
  EXPECT_EQ(spec.resources.requests.at("cpu"), "500m");
  ASSERT_TRUE(spec.storage.has_value());
  EXPECT_EQ(spec.storage->size, "10Gi");
  EXPECT_EQ(spec.storage->storage_class_name, "fast");
  ASSERT_TRUE(spec.password_secret.has_value());
  EXPECT_EQ(spec.password_secret->name, "redis-auth");
  EXPECT_EQ(spec.password_secret->key, "pw");
  EXPECT_EQ(spec.redis_config.size(), 2u);
  EXPECT_EQ(spec.redis_config.at("maxmemory-policy"), "allkeys-lru");
  EXPECT_EQ(spec.migration.batch_keys, 200);
  EXPECT_EQ(spec.migration.timeout_seconds, 30);
  EXPECT_EQ(spec.migration.slots_per_round_trip, 2);
  EXPECT_EQ(spec.migration.parallel_moves, 1);
  EXPECT_EQ(spec.pod_anti_affinity, PodAntiAffinity::kPreferred);
}

TEST(ApiCodec, PasswordSecretKeyAndStorageClassDefaultWhenLeftOut) {
  auto decoded = decodeRedisCluster(withSpec(json::parse(R"({
    "storage": {"size": 1073741824}, "passwordSecret": {"name": "s"}
  })")));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->spec.storage->size, "1073741824");
  EXPECT_EQ(decoded->spec.storage->storage_class_name, "");
  EXPECT_EQ(decoded->spec.password_secret->key, "password");
}

struct BadInput {
  const char* what;
  json object;
  const char* expected;  // substring of the error message
};

TEST(ApiCodec, WrongTypesAreRefusedWithTheFieldNamed) {
  json deep_status = minimalObject();
  deep_status["status"] = json::parse(R"({"conditions": [
    {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "",
     "lastTransitionTime": "2024-01-01T00:00:00Z"},
    {"type": "Degraded", "status": "Maybe"}]})");
  json bad_node = minimalObject();
  bad_node["status"] = json::parse(R"({"nodes": [{"pod": "p", "shard": "zero"}]})");
  json no_name = minimalObject();
  no_name["metadata"].erase("name");
  json wrong_kind = minimalObject();
  wrong_kind["kind"] = "StatefulSet";

  const std::vector<BadInput> cases = {
      {"masters as a word", withSpec({{"masters", "three"}}),
       R"(spec.masters: expected an integer, got string "three")"},
      {"masters as a fraction", withSpec({{"masters", 3.5}}),
       "spec.masters: expected an integer, got number 3.5"},
      {"masters beyond int32", withSpec({{"masters", 1LL << 40}}),
       "spec.masters: 1099511627776 does not fit in a 32-bit integer"},
      {"replicas as a bool", withSpec({{"replicasPerMaster", true}}),
       "spec.replicasPerMaster: expected an integer, got boolean true"},
      {"image as a number", withSpec({{"image", 7}}),
       "spec.image: expected a string, got number 7"},
      {"spec as a list", withSpec(json::array({1, 2})),
       "spec: expected an object, got array [1,2]"},
      {"redisConfig value as a number", withSpec({{"redisConfig", {{"maxmemory", 100}}}}),
       "spec.redisConfig.maxmemory: expected a string, got number 100"},
      {"storage without size", withSpec({{"storage", {{"storageClassName", "x"}}}}),
       "spec.storage.size: required field is missing"},
      {"storage size as a bool", withSpec({{"storage", {{"size", true}}}}),
       "spec.storage.size: expected a quantity"},
      {"resources quantity as an object",
       withSpec({{"resources", {{"limits", {{"cpu", {{"a", 1}}}}}}}}),
       "spec.resources.limits.cpu: expected a quantity"},
      {"passwordSecret without name", withSpec({{"passwordSecret", {{"key", "k"}}}}),
       "spec.passwordSecret.name: required field is missing"},
      {"tls without secretName", withSpec({{"tls", {{"requireClientCertificates", true}}}}),
       "spec.tls.secretName: required field is missing"},
      {"migration as a number", withSpec({{"migration", 5}}),
       "spec.migration: expected an object, got number 5"},
      {"batchKeys as a string", withSpec({{"migration", {{"batchKeys", "many"}}}}),
       R"(spec.migration.batchKeys: expected an integer, got string "many")"},
      {"unknown anti-affinity", withSpec({{"podAntiAffinity", "sometimes"}}),
       R"(spec.podAntiAffinity: must be "required" or "preferred", got "sometimes")"},
      {"condition status", deep_status,
       R"(status.conditions[1].status: must be True, False or Unknown, got "Maybe")"},
      {"node shard", bad_node, R"(status.nodes[0].shard: expected an integer, got string "zero")"},
      {"no metadata.name", no_name, "metadata.name: required field is missing"},
      {"not an object", json::array(), "RedisCluster: expected an object, got array []"},
      {"another kind", wrong_kind, R"(kind: expected RedisCluster, got "StatefulSet")"},
  };
  for (const BadInput& c : cases) {
    std::string error = decodeError(c.object);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << c.what << ": got \"" << error << "\", want it to contain \"" << c.expected << "\"";
  }
}

TEST(ApiCodec, LongBadValuesAreShortenedInMessages) {
  std::string error = decodeError(withSpec({{"image", json::array({std::string(500, 'x')})}}));
  EXPECT_NE(error.find("spec.image: expected a string, got array"), std::string::npos) << error;
  EXPECT_LT(error.size(), 150u) << error;
}

RedisClusterStatus sampleStatus() {
  RedisClusterStatus status;
  status.observed_generation = 9;
  status.conditions.push_back({"Ready", ConditionStatus::kFalse, "MigratingSlots",
                               "moving 1365 slots to demo-shard-3", "2024-05-06T07:08:09Z", 9});
  status.conditions.push_back(
      {"Progressing", ConditionStatus::kTrue, "ScalingOut", "3 -> 4", "2024-05-06T07:08:00Z", 9});
  status.masters = 4;
  status.ready_masters = 4;
  status.replicas = 4;
  status.ready_replicas = 3;
  status.unprotected_masters = 1;
  status.slots_assigned = 16384;
  status.slots_ok = 16384;
  status.cluster_state = "ok";
  NodeStatus master;
  master.pod = "demo-shard-0-0";
  master.ip = "10.0.0.5";
  master.node_id = std::string(40, 'a');
  master.role = "master";
  master.slots = "0-4095";
  status.nodes.push_back(master);
  NodeStatus replica;
  replica.pod = "demo-shard-0-1";
  replica.ip = "10.0.0.6";
  replica.node_id = std::string(40, 'b');
  replica.role = "replica";
  replica.master_id = master.node_id;
  replica.link_status = "up";
  replica.lag_seconds = 1;
  replica.lag_bytes = 512;
  replica.sync_in_progress = true;
  status.nodes.push_back(replica);
  status.operation = json::parse(R"({"kind": "rebalance", "moves": [{"slot": 5461, "to": "x"}]})");
  status.selector = "redis.slotkeeper.io/cluster=demo";
  return status;
}

TEST(ApiCodec, StatusRoundTripsAndUsesTheCrdFieldNames) {
  RedisClusterStatus status = sampleStatus();
  json encoded = encodeStatus(status);
  EXPECT_EQ(encoded["readyMasters"], 4);
  EXPECT_EQ(encoded["unprotectedMasters"], 1);
  EXPECT_EQ(encoded["slotsOk"], 16384);
  EXPECT_EQ(encoded["clusterState"], "ok");
  EXPECT_EQ(encoded["conditions"][0]["status"], "False");
  EXPECT_EQ(encoded["conditions"][0]["lastTransitionTime"], "2024-05-06T07:08:09Z");
  EXPECT_EQ(encoded["nodes"][1]["masterId"], std::string(40, 'a'));
  EXPECT_EQ(encoded["nodes"][1]["linkStatus"], "up");
  EXPECT_EQ(encoded["nodes"][1]["lagBytes"], 512);
  EXPECT_FALSE(encoded["nodes"][0].contains("lagSeconds"));  // replication fields: replicas only
  EXPECT_FALSE(encoded["nodes"][0].contains("masterId"));
  EXPECT_EQ(encoded["nodes"][0]["shard"], 0);
  EXPECT_EQ(encoded["operation"]["moves"][0]["slot"], 5461);
  auto decoded = decodeStatus(encoded);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, status);
}

TEST(ApiCodec, EmptyStatusWritesEveryFieldSoAMergePatchReplacesIt) {
  json encoded = encodeStatus(RedisClusterStatus{});
  for (const char* key : {"observedGeneration", "conditions", "masters", "readyMasters", "replicas",
                          "readyReplicas", "unprotectedMasters", "slotsAssigned", "slotsOk",
                          "clusterState", "nodes", "operation", "selector"}) {
    EXPECT_TRUE(encoded.contains(key)) << key;
  }
  EXPECT_TRUE(encoded["operation"].is_null());  // null in a merge patch deletes the field
  EXPECT_EQ(encoded["conditions"], json::array());
  auto decoded = decodeStatus(encoded);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, RedisClusterStatus{});
}

TEST(ApiCodec, SpecAndWholeObjectRoundTrip) {
  RedisCluster cluster;
  cluster.name = "demo";
  cluster.ns = "prod";
  cluster.uid = "u-1";
  cluster.generation = 3;
  cluster.resource_version = "77";
  cluster.labels = {{"team", "cache"}};
  cluster.spec.masters = 5;
  cluster.spec.replicas_per_master = 0;
  cluster.spec.image = "redis:7.2";
  cluster.spec.resources.requests = {{"memory", "256Mi"}};
  cluster.spec.storage = StorageSpec{"2Gi", ""};
  cluster.spec.password_secret = PasswordSecretRef{"auth", "password"};
  cluster.spec.tls = TlsSpec{"demo-tls", true};
  cluster.spec.redis_config = {{"save", ""}, {"appendonly", "no"}};
  cluster.spec.migration = {100, 10};
  cluster.spec.pod_anti_affinity = PodAntiAffinity::kPreferred;
  cluster.status = sampleStatus();

  json encoded = encodeRedisCluster(cluster);
  EXPECT_EQ(encoded["apiVersion"], "redis.slotkeeper.io/v1alpha1");
  EXPECT_EQ(encoded["kind"], "RedisCluster");
  EXPECT_EQ(encoded["spec"]["replicasPerMaster"], 0);
  EXPECT_FALSE(encoded["spec"]["storage"].contains("storageClassName"));
  EXPECT_EQ(encoded["spec"]["tls"],
            json({{"secretName", "demo-tls"}, {"requireClientCertificates", true}}));
  auto decoded = decodeRedisCluster(encoded);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, cluster);

  auto spec = decodeSpec(encodeSpec(cluster.spec));
  ASSERT_TRUE(spec.isOk()) << spec.status().toString();
  EXPECT_EQ(*spec, cluster.spec);
}

TEST(ApiCodec, IgnoresFieldsItDoesNotKnow) {
  // Fields from a newer CRD version must not stop an older operator from reconciling.
  json object = withSpec({{"masters", 4}, {"futureField", {{"x", 1}}}});
  object["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
  auto decoded = decodeRedisCluster(object);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->spec.masters, 4);
}

}  // namespace
}  // namespace slotkeeper::api
