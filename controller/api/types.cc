// Names of the API's enumerations as they appear in JSON.
#include "api/types.h"

#include <charconv>

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

namespace {

int parseSlot(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : -1;
}

}  // namespace

int countSlotRanges(std::string_view ranges) {
  int total = 0;
  while (!ranges.empty()) {
    const size_t comma = ranges.find(',');
    std::string_view part = ranges.substr(0, comma);
    ranges = comma == std::string_view::npos ? std::string_view() : ranges.substr(comma + 1);
    const size_t dash = part.find('-');
    const int first = parseSlot(part.substr(0, dash));
    const int last = dash == std::string_view::npos ? first : parseSlot(part.substr(dash + 1));
    if (first >= 0 && last >= first) total += last - first + 1;
  }
  return total;
}

}  // namespace slotkeeper::api
