// kubectl-slotkeeper's arguments and views, from a RedisCluster status.
#include <gtest/gtest.h>

#include "plugin/views.h"

namespace slotkeeper::plugin {
namespace {

api::NodeStatus node(const std::string& pod, int shard, const std::string& role,
                     const std::string& slots, const std::string& id,
                     const std::string& master_id = "") {
  api::NodeStatus n;
  n.pod = pod;
  n.shard = shard;
  n.role = role;
  n.slots = slots;
  n.node_id = id;
  n.master_id = master_id;
  return n;
}

api::RedisCluster cluster() {
  api::RedisCluster c;
  c.ns = "shop";
  c.name = "cache";
  c.status.masters = 2;
  c.status.ready_replicas = 1;
  c.status.cluster_state = "ok";
  c.status.slots_ok = 16384;
  auto replica = node("cache-shard-0-1", 0, "replica", "", "r0", "m0");
  replica.link_status = "up";
  replica.lag_seconds = 7;
  replica.lag_bytes = 120;
  c.status.nodes = {node("cache-shard-0-0", 0, "master", "0-8191", "m0"), replica,
                    node("cache-shard-1-0", 1, "master", "8192-16000,16001-16383", "m1")};
  return c;
}

TEST(PluginViews, CountsSlotsAndBucketsLagLikeTheRunbooks) {
  EXPECT_EQ(api::countSlotRanges("0-5460,5462"), 5462);
  EXPECT_EQ(api::countSlotRanges(""), 0);
  EXPECT_EQ(api::countSlotRanges("7-3,x,10"), 1) << "malformed parts count for nothing";
  EXPECT_EQ(lagBucket(0), "0");
  EXPECT_EQ(lagBucket(3), "1-5");
  EXPECT_EQ(lagBucket(5), "1-5");
  EXPECT_EQ(lagBucket(6), "5-30");
  EXPECT_EQ(lagBucket(31), "30+");
}

TEST(PluginViews, TheSlotTableHasOneRowPerMasterWithItsShare) {
  const std::string out = renderSlots(cluster());
  EXPECT_NE(out.find("RedisCluster shop/cache: 2 masters, 1 linked replicas, cluster_state ok"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("0      cache-shard-0-0  8192   50.0%  0-8191"), std::string::npos) << out;
  EXPECT_NE(out.find("1      cache-shard-1-0  8192   50.0%  8192-16000,16001-16383"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("cache-shard-0-1"), std::string::npos) << "replicas hold no slots";
  EXPECT_NE(out.find("unassigned slots: 0"), std::string::npos);
}

TEST(PluginViews, TheNodeTableNamesEachReplicasMasterPodAndLag) {
  const std::string out = renderNodes(cluster());
  EXPECT_NE(out.find("cache-shard-0-1  0      replica  cache-shard-0-0  -      up    5-30     120"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("cache-shard-1-0  1      master   -                8192"), std::string::npos)
      << out;
}

TEST(PluginArgs, ParsesCommandsAndFlagsAndRefusesTheRest) {
  auto a = parsePluginArgs({"watch", "cache", "-n", "shop", "--interval", "5", "--count", "3"});
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_EQ(a->command, "watch");
  EXPECT_EQ(a->name, "cache");
  EXPECT_EQ(a->ns, "shop");
  EXPECT_EQ(a->interval_seconds, 5);
  EXPECT_EQ(a->count, 3);
  EXPECT_FALSE(parsePluginArgs({"slots"}).isOk());
  EXPECT_FALSE(parsePluginArgs({"migrate", "cache"}).isOk());
  EXPECT_FALSE(parsePluginArgs({"nodes", "cache", "--interval", "0"}).isOk());
  EXPECT_FALSE(parsePluginArgs({"nodes", "cache", "--frobnicate"}).isOk());
  EXPECT_EQ(parsePluginArgs({"--help"})->command, "help");
}

}  // namespace
}  // namespace slotkeeper::plugin
