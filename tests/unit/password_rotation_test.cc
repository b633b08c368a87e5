// planPasswordRotation(): the steps that roll a changed password into running nodes, decided
// from what each node reports, so a rotation resumes wherever it stood.
#include "reconciler/password_rotation.h"

#include <gtest/gtest.h>

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;
using Step = PasswordRotation::Step;
using std::chrono::seconds;

const auto kNow = std::chrono::system_clock::time_point(seconds(1'800'000'000));

std::map<std::string, NodePasswords> nodes(std::vector<std::string> passwords,
                                           const std::string& masterauth, int count = 3) {
  std::map<std::string, NodePasswords> out;
  for (int i = 0; i < count; ++i) {
    NodePasswords n;
    for (const auto& p : passwords) n.hashes.push_back(sha256Hex(p));
    n.masterauth = masterauth;
    out["127.0.0." + std::to_string(i + 1) + ":6379"] = n;
  }
  return out;
}

TEST(PasswordRotation, Sha256MatchesWhatRedisListsForAPassword) {
  // ACL GETUSER of a user with password "foobar" lists this hash.
  EXPECT_EQ(sha256Hex("foobar"),
            "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
}

TEST(PasswordRotation, NothingToDoWhenEveryNodeHasOnlyTheSecretsPassword) {
  PasswordRotation r =
      planPasswordRotation(nodes({"new"}, "new"), "new", nullptr, seconds(60), kNow);
  EXPECT_EQ(r.step, Step::kNone);
  EXPECT_FALSE(r.finished);
  EXPECT_TRUE(r.status.is_null());
}

TEST(PasswordRotation, AddsTheNewPasswordFirstOnTheNodesThatLackIt) {
  auto state = nodes({"old"}, "old");
  state["127.0.0.1:6379"].hashes.push_back(sha256Hex("new"));
  PasswordRotation r = planPasswordRotation(state, "new", nullptr, seconds(60), kNow);
  EXPECT_EQ(r.step, Step::kAddNew);
  EXPECT_EQ(r.addresses, (std::vector<std::string>{"127.0.0.2:6379", "127.0.0.3:6379"}));
  EXPECT_EQ(r.status["state"], "AddingNewPassword");
}

TEST(PasswordRotation, SwitchesReplicationOnceEveryNodeAcceptsTheNewPassword) {
  auto state = nodes({"old", "new"}, "old");
  state["127.0.0.3:6379"].masterauth = "new";
  PasswordRotation r =
      planPasswordRotation(state, "new", json{{"state", "AddingNewPassword"}}, seconds(60), kNow);
  EXPECT_EQ(r.step, Step::kSwitchReplication);
  EXPECT_EQ(r.addresses.size(), 2u);
}

TEST(PasswordRotation, KeepsTheOldPasswordForTheGracePeriodThenRemovesIt) {
  auto state = nodes({"old", "new"}, "new");
  PasswordRotation wait = planPasswordRotation(
      state, "new", json{{"state", "SwitchingReplication"}}, seconds(60), kNow);
  EXPECT_EQ(wait.step, Step::kWaitGrace);
  EXPECT_EQ(wait.wait, std::chrono::milliseconds(60000));
  EXPECT_EQ(wait.status["state"], "GracePeriod");
  EXPECT_EQ(wait.status["oldPasswordRemovesAt"], "2027-01-15T08:01:00Z");

  // Later passes count from the recorded moment, not from their own.
  PasswordRotation later =
      planPasswordRotation(state, "new", wait.status, seconds(60), kNow + seconds(30));
  EXPECT_EQ(later.step, Step::kWaitGrace);
  EXPECT_EQ(later.wait, std::chrono::milliseconds(30000));
  PasswordRotation remove =
      planPasswordRotation(state, "new", later.status, seconds(60), kNow + seconds(61));
  EXPECT_EQ(remove.step, Step::kRemoveOld);
  EXPECT_EQ(remove.addresses.size(), 3u);
}

TEST(PasswordRotation, SaysWhenTheOldPasswordIsGone) {
  PasswordRotation r = planPasswordRotation(
      nodes({"new"}, "new"), "new", json{{"state", "RemovingOldPassword"}}, seconds(60), kNow);
  EXPECT_EQ(r.step, Step::kNone);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.status, json({{"oldPasswordRemovedAt", "2027-01-15T08:00:00Z"}}));
  // And says it once: the next pass keeps the record without finishing again.
  PasswordRotation next =
      planPasswordRotation(nodes({"new"}, "new"), "new", r.status, seconds(60), kNow + seconds(5));
  EXPECT_FALSE(next.finished);
  EXPECT_EQ(next.status, r.status);
}

TEST(PasswordRotation, ANodeWithoutAnyPasswordGetsTheNewOne) {
  PasswordRotation r = planPasswordRotation(nodes({}, ""), "new", nullptr, seconds(0), kNow);
  EXPECT_EQ(r.step, Step::kAddNew);
  EXPECT_EQ(r.addresses.size(), 3u);
}

}  // namespace
}  // namespace slotkeeper::reconciler
