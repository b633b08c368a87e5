// Switching a running cluster between plaintext and TLS without taking it down. Pure.
//
// The pods first roll onto a dual stage that serves both protocols (the client port keeps its
// protocol, port 6380 serves the other). Once no pod is left in the old single-protocol stage
// and the cluster is at rest, the operator switches the dual pods' cluster bus and replication
// (tls-cluster, tls-replication) live, all within one pass, and only then gives the templates
// the final stage and rolls the pods onto it. Every
// step is read back from the pods (their template's stage) and the nodes (their live
// tls-cluster), so an operator restarted half way picks up where the change stands.
//
// While a switch is partly done the nodes disagree on the bus protocol and on the ports they
// announce, so no topology change or rolling restart proceeds until it is complete.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/types.h"
#include "reconciler/membership.h"
#include "resources/tls_serving.h"

namespace slotkeeper::reconciler {

struct TlsChange {
  // The protocol of the cluster bus now, which the operator speaks to every node (at the port
  // serving it): TLS when a pod serves TLS only, plaintext when a pod serves plaintext only,
  // else what the dual pods run.
  bool bus_tls = false;
  // The protocol the bus should use: bus_tls while a single-protocol pod pins it, else spec.tls.
  bool target_bus_tls = false;
  resources::TlsServing serving;  // what the pod templates should serve now
  // The Secret with the TLS material the pods mount: spec.tls's, or while TLS is being removed,
  // the one the pods still mount. Empty when no pod needs one.
  std::string secret_name;
  // Dual pods whose live bus is not target_bus_tls yet (told to switch), and whether some dual
  // pod's bus could not be read (the switch waits for it).
  struct BusSwitch {
    std::string address;
    resources::TlsStage stage = resources::TlsStage::kAdding;
    bool operator==(const BusSwitch&) const = default;
  };
  std::vector<BusSwitch> bus_switches;
  bool bus_unknown = false;
  // Some nodes run the target bus and some dual pod does not (or may not): the bus is split, and
  // the switch must be completed before anything else. A switch that has not begun waits for
  // the cluster to be at rest instead (every pod a member, no slot moving).
  bool partial = false;
  // Some pod runs another stage than the final one.
  bool in_progress = false;

  bool switchPending() const { return !bus_switches.empty() || bus_unknown; }
};

// The TLS Secret the cluster's pods need (see TlsChange::secret_name).
std::string tlsSecretName(const api::RedisCluster& cluster, const std::vector<PodInfo>& pods);

// Dual pods to read the live bus protocol of, and where: their plaintext port, which serves
// whatever their bus runs ("ip:port" by pod name).
std::map<std::string, std::string> dualPodProbes(const std::vector<PodInfo>& pods);

// The change as it stands; `live_bus_tls` holds the dual pods' tls-cluster by pod name (absent:
// not read). Sets nothing on the pods: see assignPorts.
TlsChange planTlsChange(const api::RedisCluster& cluster, const std::vector<PodInfo>& pods,
                        const std::map<std::string, bool>& live_bus_tls);

// Gives each pod the port that serves `bus_tls`'s protocol, before the pods' addresses are used.
void assignPorts(bool bus_tls, std::vector<PodInfo>* pods);

// The other port of each dual pod mapped to its address: peers that have not heard of a switch
// yet list the pod there (for the observer).
std::map<std::string, std::string> otherPortAliases(const std::vector<PodInfo>& pods);

}  // namespace slotkeeper::reconciler
