// Headless Service builder.
#include "resources/headless_service.h"

#include "resources/metadata.h"

namespace slotkeeper::resources {

nlohmann::json makeHeadlessService(const api::RedisCluster& cluster) {
  nlohmann::json ports = nlohmann::json::array({
      {{"name", "redis"}, {"port", kRedisPort}, {"targetPort", kRedisPort}, {"protocol", "TCP"}},
      {{"name", "bus"}, {"port", kBusPort}, {"targetPort", kBusPort}, {"protocol", "TCP"}},
  });
  return {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata",
       makeObjectMeta(cluster, headlessServiceName(cluster), makeClusterLabels(cluster))},
      {"spec",
       {{"clusterIP", "None"},
        {"publishNotReadyAddresses", true},
        {"selector", makeClusterSelector(cluster)},
        {"ports", std::move(ports)}}},
  };
}

}  // namespace slotkeeper::resources
