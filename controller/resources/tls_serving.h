// How the pods of a cluster serve TLS, and the redis-server arguments for it. A cluster moves
// between plaintext and TLS through a dual stage, in which each pod serves both protocols: the
// client port keeps the protocol it had and the second port serves the other one, so clients
// that follow the change never lose the cluster. The cluster bus (tls-cluster) and replication
// (tls-replication) of dual pods are switched live by the operator once no pod is left in the
// old single-protocol stage.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/types.h"

namespace slotkeeper::resources {

enum class TlsStage {
  kOff,       // plaintext on 6379 only
  kAdding,    // plaintext on 6379, TLS on 6380; starts with a plaintext bus
  kOn,        // TLS on 6379 only (plaintext refused); TLS bus
  kRemoving,  // TLS on 6379, plaintext on 6380; starts with a TLS bus
};

// On the pod template (absent on plaintext clusters): the stage its pods start in.
inline constexpr std::string_view kAnnotationTlsStage = "redis.slotkeeper.io/tls";
// The port a dual pod serves its second protocol on.
inline constexpr int kSecondPort = 6380;

std::string_view tlsStageName(TlsStage stage);  // "off", "adding", "on", "removing"
std::optional<TlsStage> parseTlsStage(std::string_view name);

// What a shard's pod template serves.
struct TlsServing {
  TlsStage stage = TlsStage::kOff;
  std::string secret_name;  // mounted at kTlsDir unless kOff
  bool require_client_certificates = false;
};

// The serving a cluster has once no change is under way: kOn with spec.tls, kOff without.
TlsServing finalTlsServing(const api::RedisCluster& cluster);

// The port of a pod in `stage` serving TLS (tls) or plaintext; 0 when it serves none.
int portServing(TlsStage stage, bool tls);

// The redis-server arguments after redis.conf (which sets port 6379 and nothing of TLS). Dual
// stages fix the bus port (cluster-port), which would otherwise follow whichever port the bus
// protocol uses once tls-cluster is switched.
std::vector<std::string> makeTlsArguments(const TlsServing& tls);

// The CONFIG SET that switches a dual pod's cluster bus and replication to TLS (`tls`) or
// plaintext. The ports it announces are set too, though they equal its own: Redis 7.0 does not
// recompute the port a node gives for itself (in CLUSTER SLOTS, say) when tls-cluster changes,
// and would keep sending clients of the new protocol to the old one's port.
std::vector<std::pair<std::string, std::string>> makeBusSwitchSettings(TlsStage stage, bool tls);

}  // namespace slotkeeper::resources
