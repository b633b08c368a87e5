// Names of the API's enumerations as they appear in JSON.
#include "api/types.h"

namespace slotkeeper::api {

std::string_view podAntiAffinityName(PodAntiAffinity mode) {
  return mode == PodAntiAffinity::kPreferred ? "preferred" : "required";
}

std::string_view conditionStatusName(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      break;
  }
  return "Unknown";
}

std::string_view failureDomainName(FailureDomain domain) {
  return domain == FailureDomain::kZone ? "zone" : "node";
}

std::string_view failureDomainTopologyKey(FailureDomain domain) {
  return domain == FailureDomain::kZone ? "topology.kubernetes.io/zone" : "kubernetes.io/hostname";
}

}  // namespace slotkeeper::api
