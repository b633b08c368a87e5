#include "resources/operator_user.h"

#include "resources/metadata.h"

namespace slotkeeper::resources {

std::string operatorUserSecretName(const api::RedisCluster& cluster) {
  return cluster.name + "-operator-user";
}

nlohmann::json makeOperatorUserSecret(const api::RedisCluster& cluster,
                                      const std::string& password) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           makeObjectMeta(cluster, operatorUserSecretName(cluster), makeClusterLabels(cluster))},
          {"type", "Opaque"},
          // The API server stores it base64-encoded under data, as it does for any Secret.
          {"stringData", {{std::string(kOperatorUserPasswordKey), password}}}};
}

}  // namespace slotkeeper::resources
