#include "reconciler/tls_change.h"

#include <algorithm>

namespace slotkeeper::reconciler {
namespace {

using resources::TlsStage;

bool isDual(TlsStage stage) { return stage == TlsStage::kAdding || stage == TlsStage::kRemoving; }

bool anyIn(const std::vector<PodInfo>& pods, TlsStage stage) {
  return std::any_of(pods.begin(), pods.end(),
                     [&](const PodInfo& p) { return p.tls_stage == stage; });
}

bool reachable(const PodInfo& pod) { return !pod.ip.empty() && !pod.terminating; }

// The dual pods' common bus protocol, or `otherwise` when they disagree or none was read.
bool dualBus(const std::vector<PodInfo>& pods, const std::map<std::string, bool>& live,
             bool otherwise) {
  bool seen_tls = false, seen_plain = false;
  for (const auto& p : pods) {
    auto it = live.find(p.name);
    if (!isDual(p.tls_stage) || it == live.end()) continue;
    (it->second ? seen_tls : seen_plain) = true;
  }
  if (seen_tls == seen_plain) return otherwise;
  return seen_tls;
}

}  // namespace

std::string tlsSecretName(const api::RedisCluster& cluster, const std::vector<PodInfo>& pods) {
  if (cluster.spec.tls.has_value()) return cluster.spec.tls->secret_name;
  for (const auto& p : pods) {
    if (p.tls_stage != TlsStage::kOff && !p.tls_secret.empty()) return p.tls_secret;
  }
  return {};
}

std::map<std::string, std::string> dualPodProbes(const std::vector<PodInfo>& pods) {
  std::map<std::string, std::string> probes;
  for (const auto& p : pods) {
    if (!isDual(p.tls_stage) || !reachable(p)) continue;
    probes[p.name] = p.ip + ":" + std::to_string(resources::portServing(p.tls_stage, false));
  }
  return probes;
}

TlsChange planTlsChange(const api::RedisCluster& cluster, const std::vector<PodInfo>& pods,
                        const std::map<std::string, bool>& live_bus_tls) {
  TlsChange change;
  const bool want_tls = cluster.spec.tls.has_value();
  const bool any_on = anyIn(pods, TlsStage::kOn);
  const bool any_off = anyIn(pods, TlsStage::kOff);
  change.target_bus_tls = any_on || (!any_off && want_tls);
  change.bus_tls = any_on || (!any_off && dualBus(pods, live_bus_tls, change.target_bus_tls));
  change.secret_name = tlsSecretName(cluster, pods);
  // Some node runs the target bus already: a single-protocol pod, or a switched dual pod.
  bool on_target = change.target_bus_tls ? any_on : any_off;
  const TlsStage final_stage = want_tls ? TlsStage::kOn : TlsStage::kOff;
  for (const auto& p : pods) {
    if (p.tls_stage != final_stage) change.in_progress = true;
    if (!isDual(p.tls_stage) || !reachable(p)) continue;
    auto it = live_bus_tls.find(p.name);
    if (it == live_bus_tls.end()) {
      change.bus_unknown = change.bus_unknown || p.ready;
    } else if (it->second != change.target_bus_tls) {
      PodInfo at = p;
      at.port = resources::portServing(p.tls_stage, change.bus_tls);
      change.bus_switches.push_back({at.address(), p.tls_stage});
    } else {
      on_target = true;
    }
  }
  change.partial = on_target && change.switchPending();
  // The final template only once the bus has switched: a pod started from it runs the new bus.
  const bool old_protocol_left = want_tls ? any_off : any_on;
  if (!old_protocol_left && !change.switchPending()) {
    change.serving = resources::finalTlsServing(cluster);
  } else if (want_tls) {
    change.serving = resources::finalTlsServing(cluster);
    change.serving.stage = TlsStage::kAdding;
  } else {
    change.serving = {TlsStage::kRemoving, change.secret_name, false};
  }
  return change;
}

void assignPorts(bool bus_tls, std::vector<PodInfo>* pods) {
  for (auto& p : *pods) {
    const int port = resources::portServing(p.tls_stage, bus_tls);
    // A single-protocol pod of the other protocol (only while a change starts or is undone) is
    // left at its own port: it cannot be reached either way.
    p.port = port != 0 ? port : resources::kRedisPort;
  }
}

std::map<std::string, std::string> otherPortAliases(const std::vector<PodInfo>& pods) {
  std::map<std::string, std::string> aliases;
  for (const auto& p : pods) {
    if (!isDual(p.tls_stage) || p.ip.empty()) continue;
    const int other =
        p.port == resources::kRedisPort ? resources::kSecondPort : resources::kRedisPort;
    aliases[p.ip + ":" + std::to_string(other)] = p.address();
  }
  return aliases;
}

}  // namespace slotkeeper::reconciler
