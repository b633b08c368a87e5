// A container's environment as Kubernetes defines it: env (value with $(VAR) expansion,
// valueFrom fieldRef / secretKeyRef / configMapKeyRef / resourceFieldRef) and envFrom,
// on top of the agent-supplied base (PATH, HOSTNAME, in-cluster API address...).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "container_command.h"
#include "pod_api.h"

namespace slotkeeper::agent {

// What the downward API can see of a pod beyond its own object.
struct PodFacts {
  std::string pod_ip;
  std::string host_ip;
  std::string node_cpu = "4";  // node allocatable: resourceFieldRef limits default to it
  std::string node_memory = "8Gi";
};

// Value of a downward-API fieldPath ("metadata.name", "status.podIP",
// "metadata.labels['app']", ...); kInvalidArgument for unsupported paths.
Result<std::string> fieldRefValue(const nlohmann::json& pod, const std::string& field_path,
                                  const PodFacts& facts);

// Quantity ("500m", "1Gi", "2", "1e3") as a number of base units (cores, bytes).
std::optional<double> parseQuantity(const std::string& text);

// Value of resourceFieldRef {resource: limits.memory, divisor: 1Mi} for `container`.
Result<std::string> resourceFieldValue(const nlohmann::json& container,
                                       const nlohmann::json& resource_field_ref,
                                       const PodFacts& facts);

// Ordered NAME=value list with last-wins on duplicate names (as the kubelet does).
class EnvList {
 public:
  void set(const std::string& name, std::string value);
  const std::map<std::string, std::string>& asMap() const { return values_; }
  std::vector<std::string> asStrings() const;  // "NAME=value" in definition order

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::string> values_;
};

// Builds the environment: `base` first, then envFrom, then env. Values expand $(VAR) against
// what is defined so far and then have mount paths rewritten. A missing non-optional
// Secret/ConfigMap or key is kFailedPrecondition (the kubelet's CreateContainerConfigError).
Result<EnvList> resolveContainerEnv(const nlohmann::json& pod, const nlohmann::json& container,
                                    const PodFacts& facts, const EnvList& base,
                                    const PathRewriter& paths, PodApi& api);

}  // namespace slotkeeper::agent
