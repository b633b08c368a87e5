#include "reconciler/membership.h"

#include <gtest/gtest.h>

namespace slotkeeper::reconciler {
namespace {

PodInfo pod(int shard, int ordinal, bool ready = true) {
  PodInfo p;
  p.name = "rc-shard-" + std::to_string(shard) + "-" + std::to_string(ordinal);
  p.shard = shard;
  p.ordinal = ordinal;
  p.ip = "127.20." + std::to_string(shard) + "." + std::to_string(ordinal + 1);
  p.node_name = "node-" + std::to_string(ordinal);
  p.failure_domain = p.node_name;
  p.ready = ready;
  return p;
}

TEST(Membership, PodInfoReadsShardOrdinalIpNodeAndReadiness) {
  nlohmann::json object = {
      {"metadata",
       {{"name", "rc-shard-2-1"}, {"labels", {{std::string(resources::kLabelShard), "2"}}}}},
      {"spec", {{"nodeName", "node-b"}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", "127.20.0.9"},
        {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  auto info = podInfoFrom(object);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->shard, 2);
  EXPECT_EQ(info->ordinal, 1);
  EXPECT_EQ(info->address(), "127.20.0.9:6379");
  EXPECT_EQ(info->node_name, "node-b");
  EXPECT_TRUE(info->ready);

  object["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_FALSE(podInfoFrom(object)->ready) << "a terminating pod is never ready";
  object["metadata"]["labels"] = nlohmann::json::object();
  EXPECT_FALSE(podInfoFrom(object).isOk());
}

TEST(Membership, PodInfoReadsRevisionUidCreationAndWhyTheContainerWaits) {
  nlohmann::json object = {
      {"metadata",
       {{"name", "rc-shard-0-1"},
        {"uid", "u-1"},
        {"creationTimestamp", "2026-01-01T00:00:00Z"},
        {"labels",
         {{std::string(resources::kLabelShard), "0"},
          {"controller-revision-hash", "rc-shard-0-5d4c"}}}}},
      {"status",
       {{"phase", "Pending"},
        {"containerStatuses",
         {{{"name", "redis"},
           {"state",
            {{"waiting", {{"reason", "ErrImagePull"}, {"message", "no such image"}}}}}}}}}}};
  auto info = podInfoFrom(object);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->uid, "u-1");
  EXPECT_EQ(info->revision, "rc-shard-0-5d4c");
  ASSERT_TRUE(info->created.has_value());
  EXPECT_EQ(info->waiting_reason, "ErrImagePull");
  EXPECT_EQ(info->waiting_message, "no such image");
  EXPECT_FALSE(info->ready);
}

TEST(Membership, ScaleOutGrowsStatefulSetsAtOnceAndWaitsForTheNewPods) {
  std::vector<PodInfo> pods;
  for (int s = 0; s < 3; ++s) {
    pods.push_back(pod(s, 0));
    pods.push_back(pod(s, 1));
  }
  auto change = planShapeChange(4, 1, {{0, 2}, {1, 2}, {2, 2}}, pods);
  EXPECT_EQ(change.statefulset_replicas, (std::map<int, int>{{0, 2}, {1, 2}, {2, 2}, {3, 2}}));
  EXPECT_EQ(change.waiting_for, (std::vector<std::string>{"shard-3-0", "shard-3-1"}));
  EXPECT_EQ(change.desired.nodes.size(), 6u);
  EXPECT_EQ(change.desired.masters, 4);
}

TEST(Membership, FewerReplicasKeepsPodsUntilTheEngineHasForgottenThem) {
  std::vector<PodInfo> pods;
  for (int s = 0; s < 3; ++s) {
    for (int o = 0; o < 3; ++o) pods.push_back(pod(s, o));
  }
  auto change = planShapeChange(3, 1, {{0, 3}, {1, 3}, {2, 3}}, pods);
  // StatefulSets stay at 3 pods while the engine detaches ordinal 2 ...
  EXPECT_EQ(change.statefulset_replicas, (std::map<int, int>{{0, 3}, {1, 3}, {2, 3}}));
  EXPECT_TRUE(change.waiting_for.empty());
  ASSERT_EQ(change.desired.nodes.size(), 6u);
  for (const auto& n : change.desired.nodes) {
    EXPECT_EQ(n.address.find(".3:"), std::string::npos) << "ordinal 2 is not desired";
  }
  // ... and only afterwards shrink.
  auto cleanup = planCleanup(3, 1, {{0, 3}, {1, 3}, {2, 3}});
  EXPECT_EQ(cleanup.statefulset_replicas, (std::map<int, int>{{0, 2}, {1, 2}, {2, 2}}));
  EXPECT_TRUE(cleanup.shards_to_delete.empty());
}

TEST(Membership, ScaleInLeavesTheExtraShardToTheEngineThenDeletesIt) {
  std::vector<PodInfo> pods;
  for (int s = 0; s < 4; ++s) pods.push_back(pod(s, 0));
  auto change = planShapeChange(3, 0, {{0, 1}, {1, 1}, {2, 1}, {3, 1}}, pods);
  EXPECT_EQ(change.statefulset_replicas.count(3), 0u) << "shard 3 is not touched while draining";
  ASSERT_EQ(change.desired.nodes.size(), 3u);
  for (const auto& n : change.desired.nodes) {
    EXPECT_LT(n.shard, 3);
  }
  auto cleanup = planCleanup(3, 0, {{0, 1}, {1, 1}, {2, 1}, {3, 1}});
  EXPECT_EQ(cleanup.shards_to_delete, (std::vector<int>{3}));
}

TEST(Membership, APodThatIsNotReadyIsWaitedForAndLeftOutOfTheShape) {
  auto change = planShapeChange(3, 0, {{0, 1}, {1, 1}, {2, 1}}, {pod(0, 0), pod(1, 0, false)});
  EXPECT_EQ(change.waiting_for, (std::vector<std::string>{"rc-shard-1-0", "shard-2-0"}));
  EXPECT_EQ(change.desired.nodes.size(), 1u);
}

}  // namespace
}  // namespace slotkeeper::reconciler
