// Condition bookkeeping: the one rule that matters is that lastTransitionTime moves only when
// the status does, so "since when has it been not Ready" stays true across reconcile passes.
#include "api/conditions.h"

#include <algorithm>
#include <ctime>
#include <regex>

namespace slotkeeper::api {

std::vector<std::string_view> allReasons() {
  return {kReasonReconciled,
          kReasonCreatingCluster,
          kReasonScalingOut,
          kReasonScalingIn,
          kReasonMigratingSlots,
          kReasonFixingOpenSlots,
          kReasonAttachingReplicas,
          kReasonWaitingForPods,
          kReasonUnprotectedMasters,
          kReasonInvalidSpec,
          kReasonClusterDown,
          kReasonOperationFailed,
          kReasonPodsUnschedulable,
          kReasonSecretUnavailable,
          kReasonRollingRestart,
          kReasonRestartingPod,
          kReasonFailingOver,
          kReasonRolloutPaused,
          kReasonRolloutBlocked,
          kReasonRolloutComplete,
          kReasonPodsFailing,
          kReasonRotatingPassword,
          kReasonPasswordRotated,
          kReasonManualFailover,
          kReasonManualFailoverRefused,
          kReasonKeyConflicts,
          kReasonInsufficientMemory,
          kReasonAuthenticationFailed,
          kReasonNodesLoading,
          kReasonNodesNotResponding};
}

bool isValidReason(std::string_view reason) {
  static const std::regex kPattern(R"(^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$)");
  return reason.size() <= 1024 && std::regex_match(reason.begin(), reason.end(), kPattern);
}

std::string formatConditionTime(std::chrono::system_clock::time_point t) {
  std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(buf, n);
}

Condition makeCondition(std::string_view type, ConditionStatus status, std::string_view reason,
                        std::string_view message, int64_t observed_generation) {
  Condition c;
  c.type = std::string(type);
  c.status = status;
  c.reason = std::string(reason);
  c.message = std::string(message);
  c.observed_generation = observed_generation;
  return c;
}

bool setCondition(std::vector<Condition>& conditions, Condition condition,
                  std::chrono::system_clock::time_point now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == condition.type; });
  if (it == conditions.end()) {
    condition.last_transition_time = formatConditionTime(now);
    conditions.push_back(std::move(condition));
    return true;
  }
  bool keep_time = it->status == condition.status && !it->last_transition_time.empty();
  condition.last_transition_time = keep_time ? it->last_transition_time : formatConditionTime(now);
  if (*it == condition) return false;
  *it = std::move(condition);
  return true;
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const Condition& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* c = findCondition(conditions, type);
  return c != nullptr && c->status == ConditionStatus::kTrue;
}

bool removeCondition(std::vector<Condition>& conditions, std::string_view type) {
  auto removed = std::erase_if(conditions, [&](const Condition& c) { return c.type == type; });
  return removed > 0;
}

}  // namespace slotkeeper::api
