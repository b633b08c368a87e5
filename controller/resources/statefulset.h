// The StatefulSet of one shard: a master and its replicas, never on the same Kubernetes node.
#pragma once

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "resources/tls_serving.h"

namespace slotkeeper::resources {

inline constexpr std::string_view kContainerName = "redis";
inline constexpr std::string_view kDataVolume = "data";
inline constexpr std::string_view kConfigVolume = "config";
inline constexpr std::string_view kTlsVolume = "tls";
inline constexpr std::string_view kPasswordEnv = "REDIS_PASSWORD";
inline constexpr std::string_view kPodIpEnv = "POD_IP";

// apps/v1 <name>-shard-<i> with 1 + replicasPerMaster pods:
//  - serviceName <name>-headless, podManagementPolicy Parallel (a shard's pods start together;
//    the operator, not start order, decides who is master);
//  - updateStrategy OnDelete: the StatefulSet controller must never restart a master on its own
//    (it would take the shard's slots down, or lose them with emptyDir); the operator replaces
//    outdated pods itself, failing over first. Outdated = the pod's controller-revision-hash
//    differs from the StatefulSet's updateRevision;
//  - pod anti-affinity among the shard's pods on the failure domain's topology key
//    (kubernetes.io/hostname, or topology.kubernetes.io/zone), required or preferred per
//    spec.podAntiAffinity, added to spec.affinity; spec.nodeSelector, tolerations,
//    topologySpreadConstraints, priorityClassName, podLabels and podAnnotations as given;
//  - container "redis": redis-server /etc/redis/redis.conf --cluster-announce-ip $(POD_IP), plus
//    --requirepass/--masterauth $(REDIS_PASSWORD) from the Secret when spec.passwordSecret is
//    set; tcp readiness and liveness probes on 6379; spec.resources;
//  - /etc/redis from the ConfigMap, /data from a PVC "data" (volumeClaimTemplates, when
//    spec.storage is set; claims of scaled-away pods are deleted so a returning ordinal starts
//    clean, claims outlive the StatefulSet) or an emptyDir;
//  - no securityContext: the redis image runs as its own user, and the local test agent runs
//    containers as plain processes, where runAsNonRoot and friends have no meaning.
//  - with TLS (`tls`, see tls_serving.h): the Secret mounted at /etc/redis-tls, the ports and
//    TLS settings on the command line, and the stage in the pod annotation kAnnotationTlsStage.
nlohmann::json makeShardStatefulSet(const api::RedisCluster& cluster, int shard,
                                    const TlsServing& tls);
// The same with the cluster's final TLS serving (spec.tls or none).
nlohmann::json makeShardStatefulSet(const api::RedisCluster& cluster, int shard);

}  // namespace slotkeeper::resources
