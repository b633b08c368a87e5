// Shard StatefulSet builder, one small function per part of the pod template.
#include "resources/statefulset.h"

#include <string>

#include "resources/config_map.h"
#include "resources/live_config.h"
#include "resources/metadata.h"
#include "resources/tls_serving.h"

namespace slotkeeper::resources {
namespace {

using nlohmann::json;

// The user's affinity with the shard's own anti-affinity term added: the pods of one shard keep
// to different failure domains.
json makeAffinity(const api::RedisCluster& cluster, int shard) {
  json affinity = cluster.spec.placement.affinity.is_object() ? cluster.spec.placement.affinity
                                                              : json::object();
  json term = {{"labelSelector", {{"matchLabels", makeShardSelector(cluster, shard)}}},
               {"topologyKey", api::failureDomainTopologyKey(cluster.spec.failure_domain)}};
  json& anti = affinity["podAntiAffinity"];
  if (!anti.is_object()) anti = json::object();
  if (cluster.spec.pod_anti_affinity == api::PodAntiAffinity::kPreferred) {
    json& list = anti["preferredDuringSchedulingIgnoredDuringExecution"];
    if (!list.is_array()) list = json::array();
    list.push_back({{"weight", 100}, {"podAffinityTerm", std::move(term)}});
  } else {
    json& list = anti["requiredDuringSchedulingIgnoredDuringExecution"];
    if (!list.is_array()) list = json::array();
    list.push_back(std::move(term));
  }
  return affinity;
}

// Labels and annotations: the user's, then the operator's (validation refuses clashes).
json makePodMetadata(const api::RedisCluster& cluster, int shard, const TlsServing& tls) {
  json labels = cluster.spec.placement.pod_labels;
  labels.update(makeShardLabels(cluster, shard));
  json annotations = cluster.spec.placement.pod_annotations;
  annotations[std::string(kAnnotationConfigHash)] = makeRestartConfigHash(cluster);
  // Left out on plaintext clusters, whose templates predate it.
  if (tls.stage != TlsStage::kOff) {
    annotations[std::string(kAnnotationTlsStage)] = std::string(tlsStageName(tls.stage));
  }
  return {{"labels", std::move(labels)}, {"annotations", std::move(annotations)}};
}

json makeCommand(const api::RedisCluster& cluster, const TlsServing& tls) {
  json command = json::array({"redis-server", kRedisConfPath, "--cluster-announce-ip",
                              "$(" + std::string(kPodIpEnv) + ")"});
  if (cluster.spec.password_secret) {
    std::string password = "$(" + std::string(kPasswordEnv) + ")";
    for (const char* flag : {"--requirepass", "--masterauth"}) {
      command.push_back(flag);
      command.push_back(password);
    }
  }
  for (auto& arg : makeTlsArguments(tls)) command.push_back(std::move(arg));
  return command;
}

json makeEnv(const api::RedisCluster& cluster) {
  json pod_ip = {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "status.podIP"}}}};
  json env = json::array({{{"name", kPodIpEnv}, {"valueFrom", std::move(pod_ip)}}});
  if (cluster.spec.password_secret) {
    json secret_ref = {{"name", cluster.spec.password_secret->name},
                       {"key", cluster.spec.password_secret->key}};
    env.push_back({{"name", kPasswordEnv}, {"valueFrom", {{"secretKeyRef", secret_ref}}}});
  }
  return env;
}

json makeResources(const api::ResourceRequirements& resources) {
  json out = json::object();
  if (!resources.limits.empty()) out["limits"] = resources.limits;
  if (!resources.requests.empty()) out["requests"] = resources.requests;
  return out;
}

json makeVolumeMounts(const TlsServing& tls) {
  json mounts =
      json::array({{{"name", kConfigVolume}, {"mountPath", "/etc/redis"}, {"readOnly", true}},
                   {{"name", kDataVolume}, {"mountPath", kDataDir}}});
  if (tls.stage != TlsStage::kOff) {
    mounts.push_back({{"name", kTlsVolume}, {"mountPath", kTlsDir}, {"readOnly", true}});
  }
  return mounts;
}

json makeContainer(const api::RedisCluster& cluster, const TlsServing& tls) {
  json tcp = {{"tcpSocket", {{"port", kRedisPort}}}};
  json readiness = tcp;
  readiness["periodSeconds"] = 2;
  json liveness = tcp;
  // Generous: a node loading a large AOF still accepts connections, but give slow disks time.
  liveness["initialDelaySeconds"] = 10;
  liveness["periodSeconds"] = 10;
  liveness["failureThreshold"] = 6;
  return {
      {"name", kContainerName},
      {"image", cluster.spec.image},
      {"command", makeCommand(cluster, tls)},
      {"env", makeEnv(cluster)},
      {"ports",
       json::array({{{"name", "redis"}, {"containerPort", kRedisPort}, {"protocol", "TCP"}},
                    {{"name", "bus"}, {"containerPort", kBusPort}, {"protocol", "TCP"}}})},
      {"readinessProbe", std::move(readiness)},
      {"livenessProbe", std::move(liveness)},
      {"resources", makeResources(cluster.spec.resources)},
      {"volumeMounts", makeVolumeMounts(tls)},
  };
}

json makeVolumes(const api::RedisCluster& cluster, const TlsServing& tls) {
  json volumes =
      json::array({{{"name", kConfigVolume}, {"configMap", {{"name", configMapName(cluster)}}}}});
  if (tls.stage != TlsStage::kOff) {
    // Mounted whole (no subPath), so a renewed certificate reaches the running pod.
    volumes.push_back({{"name", kTlsVolume}, {"secret", {{"secretName", tls.secret_name}}}});
  }
  // With storage, "data" comes from the volumeClaimTemplates instead.
  if (!cluster.spec.storage) {
    volumes.push_back({{"name", kDataVolume}, {"emptyDir", json::object()}});
  }
  return volumes;
}

json makeVolumeClaimTemplate(const api::RedisCluster& cluster) {
  const api::StorageSpec& storage = *cluster.spec.storage;
  json spec = {{"accessModes", json::array({"ReadWriteOnce"})},
               {"resources", {{"requests", {{"storage", storage.size}}}}}};
  // Left out when empty: storageClassName "" would mean "no class" (static PVs only), not the
  // default class.
  if (!storage.storage_class_name.empty()) spec["storageClassName"] = storage.storage_class_name;
  return {{"metadata", {{"name", kDataVolume}, {"labels", makeClusterLabels(cluster)}}},
          {"spec", std::move(spec)}};
}

json makePodTemplate(const api::RedisCluster& cluster, int shard, const TlsServing& tls) {
  json spec = {{"affinity", makeAffinity(cluster, shard)},
               {"terminationGracePeriodSeconds", 30},
               {"containers", json::array({makeContainer(cluster, tls)})},
               {"volumes", makeVolumes(cluster, tls)}};
  const api::PlacementSpec& placement = cluster.spec.placement;
  if (!placement.node_selector.empty()) spec["nodeSelector"] = placement.node_selector;
  if (placement.tolerations.is_array()) spec["tolerations"] = placement.tolerations;
  if (placement.topology_spread_constraints.is_array()) {
    spec["topologySpreadConstraints"] = placement.topology_spread_constraints;
  }
  if (!placement.priority_class_name.empty()) {
    spec["priorityClassName"] = placement.priority_class_name;
  }
  return {{"metadata", makePodMetadata(cluster, shard, tls)}, {"spec", std::move(spec)}};
}

}  // namespace

nlohmann::json makeShardStatefulSet(const api::RedisCluster& cluster, int shard) {
  return makeShardStatefulSet(cluster, shard, finalTlsServing(cluster));
}

nlohmann::json makeShardStatefulSet(const api::RedisCluster& cluster, int shard,
                                    const TlsServing& tls) {
  json spec = {
      {"replicas", 1 + cluster.spec.replicas_per_master},
      {"serviceName", headlessServiceName(cluster)},
      {"podManagementPolicy", "Parallel"},
      {"updateStrategy", {{"type", "OnDelete"}}},
      {"selector", {{"matchLabels", makeShardSelector(cluster, shard)}}},
      {"template", makePodTemplate(cluster, shard, tls)},
  };
  if (cluster.spec.storage) {
    spec["volumeClaimTemplates"] = json::array({makeVolumeClaimTemplate(cluster)});
    // Scale-in happens only after the operator has drained and forgotten the node; a claim left
    // behind would bring a stale nodes.conf back with the next scale-out. Deleting the
    // RedisCluster keeps the data.
    spec["persistentVolumeClaimRetentionPolicy"] = {{"whenScaled", "Delete"},
                                                    {"whenDeleted", "Retain"}};
  }
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata",
           makeObjectMeta(cluster, shardName(cluster, shard), makeShardLabels(cluster, shard))},
          {"spec", std::move(spec)}};
}

}  // namespace slotkeeper::resources
