// Naming and labelling of the objects owned by a RedisCluster.
#include "resources/metadata.h"

#include <charconv>

namespace slotkeeper::resources {

std::string configMapName(const api::RedisCluster& cluster) { return cluster.name + "-config"; }

std::string headlessServiceName(const api::RedisCluster& cluster) {
  return cluster.name + "-headless";
}

std::string shardName(const api::RedisCluster& cluster, int shard) {
  return cluster.name + "-shard-" + std::to_string(shard);
}

std::string shardPodName(const api::RedisCluster& cluster, int shard, int ordinal) {
  return shardName(cluster, shard) + "-" + std::to_string(ordinal);
}

nlohmann::json makeClusterLabels(const api::RedisCluster& cluster) {
  return {{kLabelName, kAppName},
          {kLabelInstance, cluster.name},
          {kLabelManagedBy, kManagerName},
          {kLabelCluster, cluster.name}};
}

nlohmann::json makeShardLabels(const api::RedisCluster& cluster, int shard) {
  nlohmann::json labels = makeClusterLabels(cluster);
  labels[std::string(kLabelShard)] = std::to_string(shard);
  return labels;
}

nlohmann::json makeClusterSelector(const api::RedisCluster& cluster) {
  return {{kLabelCluster, cluster.name}};
}

nlohmann::json makeShardSelector(const api::RedisCluster& cluster, int shard) {
  return {{kLabelCluster, cluster.name}, {kLabelShard, std::to_string(shard)}};
}

std::string selectorString(const api::RedisCluster& cluster) {
  return std::string(kLabelCluster) + "=" + cluster.name;
}

nlohmann::json makeOwnerReference(const api::RedisCluster& cluster) {
  return {{"apiVersion", api::kApiVersion},
          {"kind", api::kKind},
          {"name", cluster.name},
          {"uid", cluster.uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

nlohmann::json makeObjectMeta(const api::RedisCluster& cluster, std::string_view name,
                              nlohmann::json labels) {
  return {{"name", name},
          {"namespace", cluster.ns},
          {"labels", std::move(labels)},
          {"ownerReferences", nlohmann::json::array({makeOwnerReference(cluster)})}};
}

std::optional<int> shardFromLabels(const nlohmann::json& labels) {
  if (!labels.is_object()) return std::nullopt;
  auto it = labels.find(kLabelShard);
  if (it == labels.end() || !it->is_string()) return std::nullopt;
  const std::string& text = it->get_ref<const std::string&>();
  int shard = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), shard);
  if (ec != std::errc() || end != text.data() + text.size() || shard < 0) return std::nullopt;
  return shard;
}

}  // namespace slotkeeper::resources
