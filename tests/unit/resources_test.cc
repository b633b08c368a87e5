// Resource builders: names, labels, owner references, and the fields of the StatefulSet,
// Service, ConfigMap and PodDisruptionBudget that the operator's behaviour depends on.
#include <gtest/gtest.h>

#include <set>

#include "api/validation.h"
#include "resources/config_map.h"
#include "resources/headless_service.h"
#include "resources/live_config.h"
#include "resources/metadata.h"
#include "resources/pod_disruption_budget.h"
#include "resources/statefulset.h"

namespace slotkeeper::resources {
namespace {

using nlohmann::json;

api::RedisCluster demoCluster() {
  api::RedisCluster c;
  c.name = "demo";
  c.ns = "prod";
  c.uid = "0d5a3c1e-uid";
  c.generation = 2;
  c.spec.masters = 3;
  c.spec.replicas_per_master = 2;
  c.spec.image = "redis:7.2";
  c.spec.storage = api::StorageSpec{"1Gi", "fast"};
  c.spec.password_secret = api::PasswordSecretRef{"redis-auth", "pw"};
  c.spec.redis_config = {{"maxmemory", "1gb"}, {"maxmemory-policy", "allkeys-lru"}};
  c.spec.resources.limits = {{"memory", "2Gi"}};
  c.spec.resources.requests = {{"cpu", "250m"}, {"memory", "1Gi"}};
  return c;
}

api::RedisCluster plainCluster() {
  api::RedisCluster c;
  c.name = "plain";
  c.ns = "default";
  c.uid = "uid-2";
  return c;
}

const json kOwner = {{"apiVersion", "redis.slotkeeper.io/v1alpha1"},
                     {"kind", "RedisCluster"},
                     {"name", "demo"},
                     {"uid", "0d5a3c1e-uid"},
                     {"controller", true},
                     {"blockOwnerDeletion", true}};

const json kClusterLabels = {{"app.kubernetes.io/name", "redis"},
                             {"app.kubernetes.io/instance", "demo"},
                             {"app.kubernetes.io/managed-by", "slotkeeper"},
                             {"redis.slotkeeper.io/cluster", "demo"}};

json shardLabels(int shard) {
  json labels = kClusterLabels;
  labels["redis.slotkeeper.io/shard"] = std::to_string(shard);
  return labels;
}

void expectOwnedMetadata(const json& object, const std::string& name, const json& labels) {
  const json& meta = object.at("metadata");
  EXPECT_EQ(meta.at("name"), name);
  EXPECT_EQ(meta.at("namespace"), "prod");
  EXPECT_EQ(meta.at("labels"), labels);
  EXPECT_EQ(meta.at("ownerReferences"), json::array({kOwner}));
}

std::vector<std::string> confLines(const std::string& conf) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < conf.size()) {
    size_t end = conf.find('\n', start);
    lines.push_back(conf.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool hasLine(const std::string& conf, const std::string& line) {
  for (const std::string& l : confLines(conf)) {
    if (l == line) return true;
  }
  return false;
}

TEST(ResourceNames, FollowTheClusterName) {
  api::RedisCluster c = demoCluster();
  EXPECT_EQ(configMapName(c), "demo-config");
  EXPECT_EQ(headlessServiceName(c), "demo-headless");
  EXPECT_EQ(shardName(c, 4), "demo-shard-4");
  EXPECT_EQ(shardPodName(c, 4, 1), "demo-shard-4-1");
  EXPECT_EQ(selectorString(c), "redis.slotkeeper.io/cluster=demo");
  EXPECT_EQ(makeShardLabels(c, 4), shardLabels(4));
}

TEST(ResourceNames, ShardFromLabels) {
  EXPECT_EQ(shardFromLabels(shardLabels(12)), 12);
  EXPECT_EQ(shardFromLabels(kClusterLabels), std::nullopt);
  EXPECT_EQ(shardFromLabels({{"redis.slotkeeper.io/shard", "x1"}}), std::nullopt);
  EXPECT_EQ(shardFromLabels({{"redis.slotkeeper.io/shard", "-1"}}), std::nullopt);
  EXPECT_EQ(shardFromLabels({{"redis.slotkeeper.io/shard", 3}}), std::nullopt);
  EXPECT_EQ(shardFromLabels(json()), std::nullopt);
}

TEST(ConfigMapBuilder, OwnsTheClusterSettingsAndAddsTheUsersWithoutPassword) {
  json cm = makeConfigMap(demoCluster());
  EXPECT_EQ(cm["apiVersion"], "v1");
  EXPECT_EQ(cm["kind"], "ConfigMap");
  expectOwnedMetadata(cm, "demo-config", kClusterLabels);
  ASSERT_TRUE(cm["data"].contains("redis.conf"));
  std::string conf = cm["data"]["redis.conf"];
  for (const char* line :
       {"port 6379", "cluster-enabled yes", "cluster-config-file /data/nodes.conf", "dir /data",
        "cluster-allow-replica-migration no", "cluster-require-full-coverage yes",
        "protected-mode no", "appendonly yes", "maxmemory 1gb", "maxmemory-policy allkeys-lru"}) {
    EXPECT_TRUE(hasLine(conf, line)) << "missing \"" << line << "\" in\n" << conf;
  }
  EXPECT_EQ(conf.find("requirepass"), std::string::npos) << conf;
  EXPECT_EQ(conf.find("masterauth"), std::string::npos) << conf;
  EXPECT_EQ(conf.find("redis-auth"), std::string::npos) << conf;
}

TEST(ConfigMapBuilder, UserAppendonlyReplacesTheDefaultAndEmptyValuesAreQuoted) {
  api::RedisCluster c = plainCluster();
  c.spec.redis_config = {{"appendonly", "no"}, {"save", ""}};
  std::string conf = makeRedisConf(c);
  EXPECT_TRUE(hasLine(conf, "appendonly no")) << conf;
  EXPECT_FALSE(hasLine(conf, "appendonly yes")) << conf;
  EXPECT_TRUE(hasLine(conf, "save \"\"")) << conf;
}

TEST(ConfigMapBuilder, HoldsNoTlsSettingsTheyComeFromTheCommandLine) {
  api::RedisCluster c = plainCluster();
  c.spec.tls = api::TlsSpec{"demo-tls", false};
  const std::string conf = makeRedisConf(c);
  EXPECT_TRUE(hasLine(conf, "port 6379")) << conf;
  EXPECT_EQ(conf.find("tls-"), std::string::npos) << conf;
  EXPECT_EQ(conf, makeRedisConf(plainCluster())) << "pods of every TLS stage share one redis.conf";
}

TEST(ConfigMapBuilder, HashIsStableAndFollowsTheContent) {
  api::RedisCluster c = demoCluster();
  std::string hash = makeConfigHash(makeConfigMap(c));
  EXPECT_EQ(hash.size(), 16u);
  EXPECT_EQ(hash, makeConfigHash(makeConfigMap(c)));
  // Metadata is not content: a relabelled ConfigMap does not roll pods.
  json relabelled = makeConfigMap(c);
  relabelled["metadata"]["labels"]["extra"] = "x";
  EXPECT_EQ(makeConfigHash(relabelled), hash);
  c.spec.redis_config["maxmemory"] = "2gb";
  EXPECT_NE(makeConfigHash(makeConfigMap(c)), hash);
  // Scaling does not touch redis.conf, so it does not roll pods.
  api::RedisCluster scaled = demoCluster();
  scaled.spec.masters = 6;
  scaled.spec.replicas_per_master = 1;
  EXPECT_EQ(makeConfigHash(makeConfigMap(scaled)), hash);
}

TEST(HeadlessServiceBuilder, PublishesEveryPodOnRedisAndBusPorts) {
  json svc = makeHeadlessService(demoCluster());
  EXPECT_EQ(svc["apiVersion"], "v1");
  EXPECT_EQ(svc["kind"], "Service");
  expectOwnedMetadata(svc, "demo-headless", kClusterLabels);
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  EXPECT_EQ(svc["spec"]["publishNotReadyAddresses"], true);
  EXPECT_EQ(svc["spec"]["selector"], json({{"redis.slotkeeper.io/cluster", "demo"}}));
  ASSERT_EQ(svc["spec"]["ports"].size(), 2u);
  EXPECT_EQ(svc["spec"]["ports"][0]["name"], "redis");
  EXPECT_EQ(svc["spec"]["ports"][0]["port"], 6379);
  EXPECT_EQ(svc["spec"]["ports"][1]["name"], "bus");
  EXPECT_EQ(svc["spec"]["ports"][1]["port"], 16379);
}

TEST(PodDisruptionBudgetBuilder, AllowsOnePodOfAShardDown) {
  json pdb = makePodDisruptionBudget(demoCluster(), 2);
  EXPECT_EQ(pdb["apiVersion"], "policy/v1");
  EXPECT_EQ(pdb["kind"], "PodDisruptionBudget");
  expectOwnedMetadata(pdb, "demo-shard-2", shardLabels(2));
  EXPECT_EQ(pdb["spec"]["maxUnavailable"], 1);
  EXPECT_FALSE(pdb["spec"].contains("minAvailable"));
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"],
            json({{"redis.slotkeeper.io/cluster", "demo"}, {"redis.slotkeeper.io/shard", "2"}}));
}

const json& redisContainer(const json& sts) {
  return sts["spec"]["template"]["spec"]["containers"][0];
}

const json* findByName(const json& list, const std::string& name) {
  for (const json& item : list) {
    if (item.value("name", "") == name) return &item;
  }
  return nullptr;
}

TEST(StatefulSetBuilder, ShapeOfAShard) {
  json sts = makeShardStatefulSet(demoCluster(), 1);
  EXPECT_EQ(sts["apiVersion"], "apps/v1");
  EXPECT_EQ(sts["kind"], "StatefulSet");
  expectOwnedMetadata(sts, "demo-shard-1", shardLabels(1));
  const json& spec = sts["spec"];
  EXPECT_EQ(spec["replicas"], 3);  // 1 master + 2 replicas
  EXPECT_EQ(spec["serviceName"], "demo-headless");
  EXPECT_EQ(spec["podManagementPolicy"], "Parallel");
  EXPECT_EQ(spec["updateStrategy"]["type"], "OnDelete");
  json selector = {{"redis.slotkeeper.io/cluster", "demo"}, {"redis.slotkeeper.io/shard", "1"}};
  EXPECT_EQ(spec["selector"]["matchLabels"], selector);
  // The API server refuses a StatefulSet whose selector does not match its template.
  const json& template_labels = spec["template"]["metadata"]["labels"];
  EXPECT_EQ(template_labels, shardLabels(1));
  for (const auto& [key, value] : selector.items()) EXPECT_EQ(template_labels[key], value);
  EXPECT_EQ(spec["template"]["spec"]["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(makeShardStatefulSet(plainCluster(), 0)["spec"]["replicas"], 2);  // default 1 replica
}

TEST(StatefulSetBuilder, RequiredAntiAffinityKeepsAShardOffSharedNodes) {
  json affinity = makeShardStatefulSet(demoCluster(), 1)["spec"]["template"]["spec"]["affinity"];
  json expected_term = {
      {"labelSelector",
       {{"matchLabels",
         {{"redis.slotkeeper.io/cluster", "demo"}, {"redis.slotkeeper.io/shard", "1"}}}}},
      {"topologyKey", "kubernetes.io/hostname"}};
  EXPECT_EQ(
      affinity,
      json({{"podAntiAffinity",
             {{"requiredDuringSchedulingIgnoredDuringExecution", json::array({expected_term})}}}}));

  api::RedisCluster preferred = demoCluster();
  preferred.spec.pod_anti_affinity = api::PodAntiAffinity::kPreferred;
  affinity = makeShardStatefulSet(preferred, 1)["spec"]["template"]["spec"]["affinity"];
  EXPECT_FALSE(
      affinity["podAntiAffinity"].contains("requiredDuringSchedulingIgnoredDuringExecution"));
  EXPECT_EQ(affinity["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"],
            json::array({{{"weight", 100}, {"podAffinityTerm", expected_term}}}));
}

TEST(StatefulSetBuilder, TlsMountsTheWholeSecretSoRenewalsReachThePod) {
  api::RedisCluster c = plainCluster();
  c.spec.tls = api::TlsSpec{"demo-tls", false};
  const json sts = makeShardStatefulSet(c, 0);
  const json& pod_spec = sts["spec"]["template"]["spec"];
  const json* volume = findByName(pod_spec["volumes"], "tls");
  ASSERT_NE(volume, nullptr);
  EXPECT_EQ((*volume)["secret"], json({{"secretName", "demo-tls"}}));
  const json* mount = findByName(redisContainer(sts)["volumeMounts"], "tls");
  ASSERT_NE(mount, nullptr);
  EXPECT_EQ((*mount)["mountPath"], "/etc/redis-tls");
  EXPECT_FALSE(mount->contains("subPath")) << "a subPath mount is never refreshed";
  EXPECT_EQ(
      findByName(redisContainer(makeShardStatefulSet(plainCluster(), 0))["volumeMounts"], "tls"),
      nullptr);
}

// The value after `flag` on the redis command line; empty when the flag is absent.
std::string argument(const json& container, const std::string& flag) {
  const json& command = container["command"];
  for (size_t i = 0; i + 1 < command.size(); ++i) {
    if (command[i] == flag) return command[i + 1].get<std::string>();
  }
  return {};
}

std::string tlsStageOf(const json& sts) {
  return sts["spec"]["template"]["metadata"]["annotations"].value("redis.slotkeeper.io/tls", "");
}

TEST(StatefulSetBuilder, TlsOnlyServesTlsOnTheClientPortBusAndReplication) {
  api::RedisCluster c = plainCluster();
  c.spec.tls = api::TlsSpec{"demo-tls", false};
  const json sts = makeShardStatefulSet(c, 0);
  const json container = redisContainer(sts);
  EXPECT_EQ(argument(container, "--port"), "0") << "no plaintext port";
  EXPECT_EQ(argument(container, "--tls-port"), "6379");
  EXPECT_EQ(argument(container, "--tls-cert-file"), "/etc/redis-tls/tls.crt");
  EXPECT_EQ(argument(container, "--tls-key-file"), "/etc/redis-tls/tls.key");
  EXPECT_EQ(argument(container, "--tls-ca-cert-file"), "/etc/redis-tls/ca.crt");
  EXPECT_EQ(argument(container, "--tls-cluster"), "yes");
  EXPECT_EQ(argument(container, "--tls-replication"), "yes");
  EXPECT_EQ(argument(container, "--tls-auth-clients"), "optional");
  EXPECT_EQ(argument(container, "--cluster-port"), "") << "the bus follows the TLS port, 16379";
  EXPECT_EQ(tlsStageOf(sts), "on");
  c.spec.tls->require_client_certificates = true;
  EXPECT_EQ(argument(redisContainer(makeShardStatefulSet(c, 0)), "--tls-auth-clients"), "yes");

  const json plain = makeShardStatefulSet(plainCluster(), 0);
  EXPECT_EQ(argument(redisContainer(plain), "--tls-port"), "");
  EXPECT_FALSE(
      plain["spec"]["template"]["metadata"]["annotations"].contains("redis.slotkeeper.io/tls"))
      << "plaintext templates stay as they were before TLS stages existed";
}

TEST(StatefulSetBuilder, DualStagesServeBothProtocolsAndStartOnTheOldBus) {
  api::RedisCluster c = plainCluster();
  c.spec.tls = api::TlsSpec{"demo-tls", true};
  const json adding = makeShardStatefulSet(c, 0, {TlsStage::kAdding, "demo-tls", true});
  const json container = redisContainer(adding);
  EXPECT_EQ(argument(container, "--port"), "6379");
  EXPECT_EQ(argument(container, "--tls-port"), "6380");
  EXPECT_EQ(argument(container, "--tls-cluster"), "no");
  EXPECT_EQ(argument(container, "--tls-replication"), "no");
  EXPECT_EQ(argument(container, "--cluster-port"), "16379") << "the bus port must not move";
  EXPECT_EQ(argument(container, "--tls-auth-clients"), "optional")
      << "clients still on plaintext present no certificate";
  EXPECT_EQ(tlsStageOf(adding), "adding");
  EXPECT_NE(findByName(adding["spec"]["template"]["spec"]["volumes"], "tls"), nullptr);

  const json removing =
      makeShardStatefulSet(plainCluster(), 0, {TlsStage::kRemoving, "old", false});
  const json removing_container = redisContainer(removing);
  EXPECT_EQ(argument(removing_container, "--port"), "6380");
  EXPECT_EQ(argument(removing_container, "--tls-port"), "6379");
  EXPECT_EQ(argument(removing_container, "--tls-cluster"), "yes");
  EXPECT_EQ(argument(removing_container, "--cluster-port"), "16379");
  EXPECT_EQ((*findByName(removing["spec"]["template"]["spec"]["volumes"], "tls"))["secret"],
            json({{"secretName", "old"}}))
      << "the Secret the pods still mount, though spec.tls is gone";
  EXPECT_EQ(tlsStageOf(removing), "removing");
  EXPECT_NE(adding["spec"]["template"], makeShardStatefulSet(c, 0)["spec"]["template"])
      << "each stage is a new template, so pods roll onto it";
}

TEST(StatefulSetBuilder, ContainerWithPassword) {
  const json container = redisContainer(makeShardStatefulSet(demoCluster(), 0));
  EXPECT_EQ(container["name"], "redis");
  EXPECT_EQ(container["image"], "redis:7.2");
  EXPECT_EQ(
      container["command"],
      json::array({"redis-server", "/etc/redis/redis.conf", "--cluster-announce-ip", "$(POD_IP)",
                   "--requirepass", "$(REDIS_PASSWORD)", "--masterauth", "$(REDIS_PASSWORD)"}));
  const json* pod_ip = findByName(container["env"], "POD_IP");
  ASSERT_NE(pod_ip, nullptr);
  EXPECT_EQ((*pod_ip)["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP");
  const json* password = findByName(container["env"], "REDIS_PASSWORD");
  ASSERT_NE(password, nullptr);
  EXPECT_EQ((*password)["valueFrom"]["secretKeyRef"],
            json({{"name", "redis-auth"}, {"key", "pw"}}));
  // $(POD_IP) in the command expands only from variables defined before use in env.
  EXPECT_EQ(container["env"][0]["name"], "POD_IP");
  EXPECT_EQ(container["resources"], json::parse(R"({"limits": {"memory": "2Gi"},
                            "requests": {"cpu": "250m", "memory": "1Gi"}})"));
  ASSERT_EQ(container["ports"].size(), 2u);
  EXPECT_EQ(container["ports"][0]["containerPort"], 6379);
  EXPECT_EQ(container["ports"][1]["containerPort"], 16379);
  EXPECT_EQ(container["readinessProbe"],
            json::parse(R"({"tcpSocket": {"port": 6379}, "periodSeconds": 2})"));
  EXPECT_EQ(container["livenessProbe"],
            json::parse(R"({"tcpSocket": {"port": 6379}, "initialDelaySeconds": 10,
                            "periodSeconds": 10, "failureThreshold": 6})"));
}

TEST(StatefulSetBuilder, ContainerWithoutPassword) {
  const json container = redisContainer(makeShardStatefulSet(plainCluster(), 0));
  EXPECT_EQ(container["image"], "redis:7.0");
  EXPECT_EQ(container["command"], json::array({"redis-server", "/etc/redis/redis.conf",
                                               "--cluster-announce-ip", "$(POD_IP)"}));
  EXPECT_EQ(findByName(container["env"], "REDIS_PASSWORD"), nullptr);
  EXPECT_EQ(container["resources"], json::object());
}

TEST(StatefulSetBuilder, PersistentStorageUsesClaimTemplates) {
  json sts = makeShardStatefulSet(demoCluster(), 0);
  const json& pod = sts["spec"]["template"]["spec"];
  const json* config = findByName(pod["volumes"], "config");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ((*config)["configMap"]["name"], "demo-config");
  EXPECT_EQ(findByName(pod["volumes"], "data"), nullptr);  // comes from the claim template
  const json& mounts = redisContainer(sts)["volumeMounts"];
  EXPECT_EQ((*findByName(mounts, "config"))["mountPath"], "/etc/redis");
  EXPECT_EQ((*findByName(mounts, "data"))["mountPath"], "/data");
  ASSERT_EQ(sts["spec"]["volumeClaimTemplates"].size(), 1u);
  const json& claim = sts["spec"]["volumeClaimTemplates"][0];
  EXPECT_EQ(claim["metadata"]["name"], "data");
  EXPECT_EQ(claim["spec"]["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
  EXPECT_EQ(claim["spec"]["storageClassName"], "fast");
  EXPECT_EQ(sts["spec"]["persistentVolumeClaimRetentionPolicy"],
            json({{"whenScaled", "Delete"}, {"whenDeleted", "Retain"}}));

  api::RedisCluster default_class = demoCluster();
  default_class.spec.storage->storage_class_name = "";
  json claim2 = makeShardStatefulSet(default_class, 0)["spec"]["volumeClaimTemplates"][0];
  EXPECT_FALSE(claim2["spec"].contains("storageClassName"));  // "" would mean "no class"
}

TEST(StatefulSetBuilder, WithoutStorageDataIsAnEmptyDir) {
  json sts = makeShardStatefulSet(plainCluster(), 0);
  EXPECT_FALSE(sts["spec"].contains("volumeClaimTemplates"));
  EXPECT_FALSE(sts["spec"].contains("persistentVolumeClaimRetentionPolicy"));
  const json* data = findByName(sts["spec"]["template"]["spec"]["volumes"], "data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ((*data)["emptyDir"], json::object());
}

TEST(StatefulSetBuilder, PodTemplateCarriesTheHashOfRestartOnlySettings) {
  api::RedisCluster c = demoCluster();
  c.spec.redis_config = {{"maxmemory", "100mb"}};
  json sts = makeShardStatefulSet(c, 0);
  const json annotations = sts["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["redis.slotkeeper.io/config-hash"], makeRestartConfigHash(c));
  // Live settings reach running nodes by CONFIG SET: no new template, no restart.
  c.spec.redis_config["hz"] = "20";
  c.spec.redis_config.erase("maxmemory");
  EXPECT_EQ(makeShardStatefulSet(c, 0)["spec"]["template"]["metadata"]["annotations"], annotations);
  c.spec.redis_config["io-threads"] = "2";
  EXPECT_NE(makeShardStatefulSet(c, 0)["spec"]["template"]["metadata"]["annotations"], annotations);
}

TEST(LiveConfig, EveryAllowedKeyIsEitherLiveOrRestartOnly) {
  api::RedisCluster c = demoCluster();
  std::set<std::string> live;
  for (const auto& [key, value] : makeLiveSettings(c)) live.insert(key);
  for (std::string_view key : api::allowedRedisConfigKeys()) {
    EXPECT_NE(live.count(std::string(key)) > 0, isRestartOnlyRedisConfigKey(key)) << key;
  }
  EXPECT_EQ(live.size() + restartOnlyRedisConfigKeys().size(),
            api::allowedRedisConfigKeys().size());
}

TEST(LiveConfig, SpecValuesOverrideWhatRedisConfImplies) {
  api::RedisCluster c = demoCluster();
  c.spec.redis_config.clear();
  auto find = [](const auto& settings, const std::string& key) {
    for (const auto& [k, v] : settings) {
      if (k == key) return v;
    }
    return std::string("<absent>");
  };
  EXPECT_EQ(find(makeLiveSettings(c), "maxmemory"), "0");
  EXPECT_EQ(find(makeLiveSettings(c), "appendonly"), "yes");  // the operator's redis.conf line
  const std::string before = makeLiveSettingsHash(c);
  c.spec.redis_config = {{"maxmemory", "100mb"}, {"io-threads", "2"}};
  EXPECT_EQ(find(makeLiveSettings(c), "maxmemory"), "100mb");
  EXPECT_EQ(find(makeLiveSettings(c), "io-threads"), "<absent>");
  EXPECT_NE(makeLiveSettingsHash(c), before);
}

TEST(LiveConfig, NodeTimeoutIsTheSpecsOrRedisDefault) {
  api::RedisCluster c = demoCluster();
  c.spec.redis_config.clear();
  EXPECT_EQ(clusterNodeTimeout(c), std::chrono::milliseconds(15000));
  c.spec.redis_config["cluster-node-timeout"] = "5000";
  EXPECT_EQ(clusterNodeTimeout(c), std::chrono::milliseconds(5000));
  c.spec.redis_config["cluster-node-timeout"] = "5s";
  EXPECT_EQ(clusterNodeTimeout(c), std::chrono::milliseconds(15000));
}

TEST(StatefulSetBuilder, ShardsDifferOnlyInShardIdentity) {
  api::RedisCluster c = demoCluster();
  json a = makeShardStatefulSet(c, 0);
  json b = makeShardStatefulSet(c, 1);
  EXPECT_EQ(redisContainer(a), redisContainer(b));
  EXPECT_NE(a["metadata"]["name"], b["metadata"]["name"]);
  EXPECT_NE(a["spec"]["selector"], b["spec"]["selector"]);
}

}  // namespace
}  // namespace slotkeeper::resources
