#include "resources/tls_serving.h"

#include "resources/config_map.h"
#include "resources/metadata.h"

namespace slotkeeper::resources {

std::string_view tlsStageName(TlsStage stage) {
  switch (stage) {
    case TlsStage::kOff:
      return "off";
    case TlsStage::kAdding:
      return "adding";
    case TlsStage::kOn:
      return "on";
    case TlsStage::kRemoving:
      return "removing";
  }
  return "off";
}

std::optional<TlsStage> parseTlsStage(std::string_view name) {
  for (TlsStage stage : {TlsStage::kOff, TlsStage::kAdding, TlsStage::kOn, TlsStage::kRemoving}) {
    if (tlsStageName(stage) == name) return stage;
  }
  return std::nullopt;
}

TlsServing finalTlsServing(const api::RedisCluster& cluster) {
  if (!cluster.spec.tls.has_value()) return {};
  return {TlsStage::kOn, cluster.spec.tls->secret_name,
          cluster.spec.tls->require_client_certificates};
}

int portServing(TlsStage stage, bool tls) {
  switch (stage) {
    case TlsStage::kOff:
      return tls ? 0 : kRedisPort;
    case TlsStage::kAdding:
      return tls ? kSecondPort : kRedisPort;
    case TlsStage::kOn:
      return tls ? kRedisPort : 0;
    case TlsStage::kRemoving:
      return tls ? kRedisPort : kSecondPort;
  }
  return 0;
}

std::vector<std::string> makeTlsArguments(const TlsServing& tls) {
  if (tls.stage == TlsStage::kOff) return {};
  const bool dual = tls.stage == TlsStage::kAdding || tls.stage == TlsStage::kRemoving;
  // A dual pod starts with the bus of the stage it came from: the pods it joins still use it.
  const bool tls_bus = tls.stage != TlsStage::kAdding;
  std::vector<std::string> args = {"--port", std::to_string(portServing(tls.stage, false)),
                                   "--tls-port", std::to_string(portServing(tls.stage, true))};
  for (const auto& [key, value] : makeTlsFileSettings()) {
    args.push_back("--" + key);
    args.push_back(value);
  }
  // Clients that have not moved to TLS yet present no certificate.
  const bool require = tls.require_client_certificates && tls.stage == TlsStage::kOn;
  args.insert(args.end(), {"--tls-auth-clients", require ? "yes" : "optional", "--tls-cluster",
                           tls_bus ? "yes" : "no", "--tls-replication", tls_bus ? "yes" : "no"});
  if (dual) args.insert(args.end(), {"--cluster-port", std::to_string(kBusPort)});
  return args;
}

std::vector<std::pair<std::string, std::string>> makeBusSwitchSettings(TlsStage stage, bool tls) {
  const std::string value = tls ? "yes" : "no";
  // Replication first: a replica whose master announces its other port reconnects at once.
  return {{"tls-replication", value},
          {"tls-cluster", value},
          {"cluster-announce-tls-port", std::to_string(portServing(stage, true))},
          {"cluster-announce-port", std::to_string(portServing(stage, false))}};
}

}  // namespace slotkeeper::resources
