// Status conditions (metav1.Condition semantics) and the CamelCase reasons the operator uses for
// both conditions and Events, so that `kubectl describe` and status tell the same story.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"

namespace slotkeeper::api {

// Condition types.
inline constexpr std::string_view kConditionReady = "Ready";
inline constexpr std::string_view kConditionProgressing = "Progressing";
inline constexpr std::string_view kConditionDegraded = "Degraded";

// Reasons (conditions and Events).
inline constexpr std::string_view kReasonReconciled = "Reconciled";
inline constexpr std::string_view kReasonCreatingCluster = "CreatingCluster";
inline constexpr std::string_view kReasonScalingOut = "ScalingOut";
inline constexpr std::string_view kReasonScalingIn = "ScalingIn";
inline constexpr std::string_view kReasonMigratingSlots = "MigratingSlots";
inline constexpr std::string_view kReasonFixingOpenSlots = "FixingOpenSlots";
inline constexpr std::string_view kReasonAttachingReplicas = "AttachingReplicas";
inline constexpr std::string_view kReasonWaitingForPods = "WaitingForPods";
inline constexpr std::string_view kReasonUnprotectedMasters = "UnprotectedMasters";
inline constexpr std::string_view kReasonInvalidSpec = "InvalidSpec";
inline constexpr std::string_view kReasonClusterDown = "ClusterDown";
inline constexpr std::string_view kReasonOperationFailed = "OperationFailed";
inline constexpr std::string_view kReasonPodsUnschedulable = "PodsUnschedulable";
inline constexpr std::string_view kReasonSecretUnavailable = "SecretUnavailable";
// A spec.users entry could not be given to the nodes (its Secret, or rules Redis refused).
inline constexpr std::string_view kReasonUsersNotApplied = "UsersNotApplied";
// Rolling restarts (a changed pod template reaching the pods).
inline constexpr std::string_view kReasonRollingRestart = "RollingRestart";
inline constexpr std::string_view kReasonRestartingPod = "RestartingPod";
inline constexpr std::string_view kReasonFailingOver = "FailingOver";
inline constexpr std::string_view kReasonRolloutPaused = "RolloutPaused";
inline constexpr std::string_view kReasonRolloutBlocked = "RolloutBlocked";
inline constexpr std::string_view kReasonRolloutComplete = "RolloutComplete";
inline constexpr std::string_view kReasonPodsFailing = "PodsFailing";
// Password rotation.
inline constexpr std::string_view kReasonRotatingPassword = "RotatingPassword";
inline constexpr std::string_view kReasonPasswordRotated = "PasswordRotated";
// A failover asked for by annotation.
inline constexpr std::string_view kReasonManualFailover = "ManualFailover";
inline constexpr std::string_view kReasonManualFailoverRefused = "ManualFailoverRefused";
// A settle after a failover found keys on both sides (an Event).
inline constexpr std::string_view kReasonKeyConflicts = "KeyConflicts";
// A plan's targets lack the memory for the keys it would bring them.
inline constexpr std::string_view kReasonInsufficientMemory = "InsufficientMemory";
// Nodes that cannot be read although their pods run: the password is refused, the data set is
// loading, or the connection is taken but no reply comes in time (stopped, paused, overloaded).
inline constexpr std::string_view kReasonAuthenticationFailed = "AuthenticationFailed";
inline constexpr std::string_view kReasonNodesLoading = "NodesLoading";
inline constexpr std::string_view kReasonNodesNotResponding = "NodesNotResponding";

// Every reason above, for tests and for checks that a reason is one of ours.
std::vector<std::string_view> allReasons();

// Whether `reason` matches metav1.Condition's reason pattern (CamelCase, the CRD enforces it).
bool isValidReason(std::string_view reason);

// RFC 3339 in UTC with whole seconds, as metav1.Time is written ("2024-01-02T03:04:05Z").
std::string formatConditionTime(std::chrono::system_clock::time_point t);

// A condition with everything but lastTransitionTime, which setCondition() decides.
Condition makeCondition(std::string_view type, ConditionStatus status, std::string_view reason,
                        std::string_view message, int64_t observed_generation);

// Puts `condition` into `conditions`, replacing the one of the same type (or appending).
// lastTransitionTime is kept when the status did not change and set to `now` when it did (or the
// type is new), as metav1.Condition defines it. Returns whether anything changed, so that
// status is written only when it did.
bool setCondition(std::vector<Condition>& conditions, Condition condition,
                  std::chrono::system_clock::time_point now);

// The condition of that type, or nullptr.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);

// True only when the condition exists and its status is True.
bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type);

// Removes the condition of that type; returns whether there was one.
bool removeCondition(std::vector<Condition>& conditions, std::string_view type);

}  // namespace slotkeeper::api
