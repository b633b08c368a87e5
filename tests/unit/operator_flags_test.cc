#include <gtest/gtest.h>

#include "operator/flags.h"

namespace slotkeeper::op {
namespace {

TEST(OperatorFlags, DefaultsWatchAllNamespacesWithLeaderElection) {
  auto flags = parseOperatorFlags({});
  ASSERT_TRUE(flags.isOk());
  EXPECT_TRUE(flags->namespaces.empty());
  EXPECT_TRUE(flags->leader_elect);
  EXPECT_EQ(flags->http_address, "127.0.0.1:8080");
  EXPECT_EQ(flags->leader_election_id, "slotkeeper-leader");
}

TEST(OperatorFlags, LeaseNameIsAFlagSoTwoReleasesCanShareANamespace) {
  auto flags = parseOperatorFlags({"--leader-election-id=team-a-slotkeeper"});
  ASSERT_TRUE(flags.isOk()) << flags.status().toString();
  EXPECT_EQ(flags->leader_election_id, "team-a-slotkeeper");
}

TEST(OperatorFlags, AcceptsSpaceAndEqualsForms) {
  auto flags = parseOperatorFlags({"--namespaces=a,b", "--leader-elect", "false", "--workers=8"});
  ASSERT_TRUE(flags.isOk()) << flags.status().toString();
  EXPECT_EQ(flags->namespaces, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(flags->leader_elect);
  EXPECT_EQ(flags->workers, 8);
}

TEST(OperatorFlags, BadValuesAreRefusedNamingTheFlag) {
  for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--workers", "0"}, "--workers"},
           {{"--leader-elect", "yes"}, "true or false"},
           {{"--bogus", "1"}, "unknown flag '--bogus'"},
           {{"--kubeconfig"}, "needs a value"},
           {{"--leader-election-id", "Bad_Name"}, "not a valid Lease name"}}) {
    auto flags = parseOperatorFlags(args);
    ASSERT_FALSE(flags.isOk());
    EXPECT_NE(flags.status().message().find(needle), std::string::npos) << flags.status().message();
  }
}

}  // namespace
}  // namespace slotkeeper::op
