// Conditions: lastTransitionTime moves only with the status, and changes are reported so that
// status is written only when something changed.
#include <gtest/gtest.h>

#include <set>

#include "api/conditions.h"

namespace slotkeeper::api {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point kT0 = system_clock::from_time_t(1714979289);  // 2024-05-06T07:08:09Z

TEST(Conditions, FormatsTimeLikeMetav1Time) {
  EXPECT_EQ(formatConditionTime(kT0), "2024-05-06T07:08:09Z");
  EXPECT_EQ(formatConditionTime(kT0 + std::chrono::milliseconds(999)), "2024-05-06T07:08:09Z");
}

TEST(Conditions, NewTypeIsAppendedWithNowAsTransitionTime) {
  std::vector<Condition> conditions;
  EXPECT_TRUE(setCondition(conditions,
                           makeCondition(kConditionReady, ConditionStatus::kFalse,
                                         kReasonWaitingForPods, "0/6 pods ready", 1),
                           kT0));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].type, "Ready");
  EXPECT_EQ(conditions[0].reason, "WaitingForPods");
  EXPECT_EQ(conditions[0].last_transition_time, "2024-05-06T07:08:09Z");
  EXPECT_EQ(conditions[0].observed_generation, 1);
}

TEST(Conditions, SameStatusKeepsTransitionTimeAndIdenticalIsNoChange) {
  std::vector<Condition> conditions;
  (void)setCondition(conditions,
                     makeCondition(kConditionReady, ConditionStatus::kFalse, kReasonWaitingForPods,
                                   "0/6 pods ready", 1),
                     kT0);
  // Same status, new message: a change, but the transition time stays.
  EXPECT_TRUE(setCondition(conditions,
                           makeCondition(kConditionReady, ConditionStatus::kFalse,
                                         kReasonMigratingSlots, "moving slots", 2),
                           kT0 + seconds(30)));
  EXPECT_EQ(conditions[0].last_transition_time, "2024-05-06T07:08:09Z");
  EXPECT_EQ(conditions[0].reason, "MigratingSlots");
  EXPECT_EQ(conditions[0].observed_generation, 2);
  // Exactly the same again later: nothing to write.
  EXPECT_FALSE(setCondition(conditions,
                            makeCondition(kConditionReady, ConditionStatus::kFalse,
                                          kReasonMigratingSlots, "moving slots", 2),
                            kT0 + seconds(60)));
  EXPECT_EQ(conditions[0].last_transition_time, "2024-05-06T07:08:09Z");
}

TEST(Conditions, StatusChangeMovesTransitionTimeAndOtherTypesStay) {
  std::vector<Condition> conditions;
  (void)setCondition(
      conditions,
      makeCondition(kConditionProgressing, ConditionStatus::kTrue, kReasonScalingOut, "3 -> 4", 1),
      kT0);
  (void)setCondition(
      conditions,
      makeCondition(kConditionReady, ConditionStatus::kFalse, kReasonMigratingSlots, "", 1), kT0);
  EXPECT_TRUE(setCondition(
      conditions,
      makeCondition(kConditionReady, ConditionStatus::kTrue, kReasonReconciled, "4 masters", 1),
      kT0 + seconds(90)));
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditions[0].type, "Progressing");  // order is kept
  EXPECT_EQ(conditions[0].last_transition_time, "2024-05-06T07:08:09Z");
  EXPECT_EQ(conditions[1].last_transition_time, "2024-05-06T07:09:39Z");
  EXPECT_TRUE(isConditionTrue(conditions, kConditionReady));
  EXPECT_TRUE(isConditionTrue(conditions, kConditionProgressing));
  EXPECT_FALSE(isConditionTrue(conditions, kConditionDegraded));
  ASSERT_NE(findCondition(conditions, kConditionReady), nullptr);
  EXPECT_EQ(findCondition(conditions, kConditionReady)->message, "4 masters");
  EXPECT_EQ(findCondition(conditions, kConditionDegraded), nullptr);

  EXPECT_TRUE(removeCondition(conditions, kConditionProgressing));
  EXPECT_FALSE(removeCondition(conditions, kConditionProgressing));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].type, "Ready");
}

TEST(Conditions, MissingTransitionTimeIsFilledEvenWithoutStatusChange) {
  std::vector<Condition> conditions = {{"Ready", ConditionStatus::kTrue, "Reconciled", "", "", 1}};
  EXPECT_TRUE(setCondition(
      conditions, makeCondition(kConditionReady, ConditionStatus::kTrue, kReasonReconciled, "", 1),
      kT0));
  EXPECT_EQ(conditions[0].last_transition_time, "2024-05-06T07:08:09Z");
}

TEST(Conditions, ReasonsAreUniqueCamelCaseAndAcceptedByTheCrdPattern) {
  std::set<std::string_view> seen;
  for (std::string_view reason : allReasons()) {
    EXPECT_TRUE(isValidReason(reason)) << reason;
    EXPECT_TRUE(reason[0] >= 'A' && reason[0] <= 'Z') << reason;
    EXPECT_EQ(reason.find_first_of(" -_.:,"), std::string_view::npos) << reason;
    EXPECT_TRUE(seen.insert(reason).second) << "duplicate " << reason;
  }
  for (std::string_view required :
       {kReasonReconciled, kReasonScalingOut, kReasonScalingIn, kReasonMigratingSlots,
        kReasonAttachingReplicas, kReasonWaitingForPods, kReasonUnprotectedMasters,
        kReasonInvalidSpec, kReasonClusterDown}) {
    EXPECT_TRUE(seen.contains(required)) << required;
  }
  EXPECT_FALSE(isValidReason(""));
  EXPECT_FALSE(isValidReason("Scaling out"));
  EXPECT_FALSE(isValidReason("1Reason"));
}

}  // namespace
}  // namespace slotkeeper::api
