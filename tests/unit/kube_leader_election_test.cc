#include <gtest/gtest.h>

#include "common/clock.h"
#include "kube/leader_election.h"
#include "kube/timefmt.h"

namespace slotkeeper::kube {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

LeaseRecord heldBy(const std::string& holder, int64_t duration = 15) {
  LeaseRecord record;
  record.holder_identity = holder;
  record.lease_duration_seconds = duration;
  return record;
}

TEST(LeaseDecision, NoLeaseMeansCreate) {
  FakeClock clock;
  EXPECT_EQ(decideLeaseAction(std::nullopt, "me", clock.now(), clock.now()), LeaseAction::kCreate);
}

TEST(LeaseDecision, OurOwnLeaseIsRenewedEvenIfLate) {
  FakeClock clock;
  const auto observed = clock.now();
  clock.advance(seconds(60));
  EXPECT_EQ(decideLeaseAction(heldBy("me"), "me", observed, clock.now()), LeaseAction::kRenew);
}

TEST(LeaseDecision, AReleasedLeaseIsTakenOverAtOnce) {
  FakeClock clock;
  EXPECT_EQ(decideLeaseAction(heldBy(""), "me", clock.now(), clock.now()), LeaseAction::kTakeOver);
}

TEST(LeaseDecision, ALiveLeaseOfAnotherHolderIsRespectedUntilItExpires) {
  FakeClock clock;
  const auto observed = clock.now();
  clock.advance(seconds(14));
  EXPECT_EQ(decideLeaseAction(heldBy("other", 15), "me", observed, clock.now()),
            LeaseAction::kWait);
  clock.advance(seconds(1));
  EXPECT_EQ(decideLeaseAction(heldBy("other", 15), "me", observed, clock.now()),
            LeaseAction::kTakeOver);
}

TEST(LeaseDecision, ExpiryCountsFromLocalObservationNotRenewTime) {
  // A renewTime far in the past (skewed clock on the holder) must not make a
  // lease that we just saw change look expired.
  FakeClock clock;
  LeaseRecord record = heldBy("other", 15);
  record.renew_time = system_clock::time_point{seconds(1)};
  EXPECT_EQ(decideLeaseAction(record, "me", clock.now(), clock.now()), LeaseAction::kWait);
}

TEST(LeaseRecordBuilder, CreateStartsAtZeroTransitions) {
  const auto now = system_clock::time_point{seconds(1700000000)};
  LeaseRecord next =
      makeNextLeaseRecord(std::nullopt, LeaseAction::kCreate, "me", seconds(15), now);
  EXPECT_EQ(next.holder_identity, "me");
  EXPECT_EQ(next.lease_duration_seconds, 15);
  EXPECT_EQ(next.acquire_time, now);
  EXPECT_EQ(next.renew_time, now);
  EXPECT_EQ(next.lease_transitions, 0);
}

TEST(LeaseRecordBuilder, RenewKeepsAcquireTimeAndTransitions) {
  const auto acquired = system_clock::time_point{seconds(1700000000)};
  LeaseRecord current = heldBy("me");
  current.acquire_time = acquired;
  current.lease_transitions = 4;
  const auto now = acquired + seconds(30);
  LeaseRecord next = makeNextLeaseRecord(current, LeaseAction::kRenew, "me", seconds(15), now);
  EXPECT_EQ(next.acquire_time, acquired);
  EXPECT_EQ(next.renew_time, now);
  EXPECT_EQ(next.lease_transitions, 4);
}

TEST(LeaseRecordBuilder, TakeOverBumpsTransitions) {
  LeaseRecord current = heldBy("other");
  current.lease_transitions = 2;
  const auto now = system_clock::time_point{seconds(1700000100)};
  LeaseRecord next = makeNextLeaseRecord(current, LeaseAction::kTakeOver, "me", seconds(10), now);
  EXPECT_EQ(next.holder_identity, "me");
  EXPECT_EQ(next.lease_transitions, 3);
  EXPECT_EQ(next.acquire_time, now);
  EXPECT_EQ(next.lease_duration_seconds, 10);
}

TEST(LeaseCodec, RoundTripsThroughLeaseSpec) {
  LeaseRecord record = heldBy("pod-a_1234", 15);
  record.acquire_time =
      system_clock::time_point{seconds(1700000000)} + std::chrono::microseconds(5);
  record.renew_time = system_clock::time_point{seconds(1700000010)};
  record.lease_transitions = 7;
  nlohmann::json lease = {{"spec", leaseSpecFromRecord(record)}};
  EXPECT_EQ(lease["spec"]["acquireTime"], "2023-11-14T22:13:20.000005Z");
  EXPECT_EQ(leaseRecordFromLease(lease), record);
}

TEST(LeaseCodec, MissingOrMistypedFieldsKeepDefaults) {
  EXPECT_EQ(leaseRecordFromLease(nlohmann::json::object()), LeaseRecord{});
  EXPECT_EQ(leaseRecordFromLease(nlohmann::json::array()), LeaseRecord{});
  nlohmann::json lease = {
      {"spec", {{"holderIdentity", 5}, {"leaseDurationSeconds", "x"}, {"renewTime", "yesterday"}}}};
  LeaseRecord record = leaseRecordFromLease(lease);
  EXPECT_EQ(record.holder_identity, "");
  EXPECT_EQ(record.lease_duration_seconds, 0);
  EXPECT_FALSE(record.renew_time.has_value());
}

}  // namespace
}  // namespace slotkeeper::kube
