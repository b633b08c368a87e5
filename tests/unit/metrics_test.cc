#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace slotkeeper::metrics {
namespace {

api::RedisCluster clusterNamed(const std::string& ns, const std::string& name) {
  api::RedisCluster c;
  c.ns = ns;
  c.name = name;
  return c;
}

bool hasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(OperatorMetrics, ClusterGaugesCarryNamespaceAndName) {
  OperatorMetrics m;
  api::RedisClusterStatus s;
  s.masters = 3;
  s.ready_replicas = 0;
  s.unprotected_masters = 3;
  s.slots_assigned = 16384;
  s.slots_ok = 16384;
  s.cluster_state = "ok";
  s.outdated_pods = 2;
  m.observeCluster(clusterNamed("shop", "cache"), s, 0, 0, 0, false);
  const std::string text = m.render();
  const std::string labels = R"({namespace="shop",rediscluster="cache"})";
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_masters" + labels + " 3")) << text;
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_masters_without_replica" + labels + " 3"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_pods_outdated" + labels + " 2"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_slots_ok" + labels + " 16384"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_state_ok" + labels + " 1"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_migration_in_progress" + labels + " 0"));
  // Counters exist from the first observation, so rate() and increase() see a starting zero.
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_slots_migrated_total" + labels + " 0"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_keys_migrated_total" + labels + " 0"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_key_conflicts_total" + labels + " 0"));
}

TEST(OperatorMetrics, MigrationCountersAddTheDeltaOfEachReport) {
  OperatorMetrics m;
  api::RedisClusterStatus s;
  s.cluster_state = "ok";
  const auto c = clusterNamed("shop", "cache");
  m.observeCluster(c, s, 0, 0, 0, true);
  m.observeCluster(c, s, 2048, 10000, 0, true);
  m.observeCluster(c, s, 2048, 5000, 3, true);
  m.observeCluster(c, s, 0, 0, 0, false);
  const std::string text = m.render();
  const std::string labels = R"({namespace="shop",rediscluster="cache"})";
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_slots_migrated_total" + labels + " 4096")) << text;
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_keys_migrated_total" + labels + " 15000"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_key_conflicts_total" + labels + " 3"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_cluster_migration_in_progress" + labels + " 0"));
}

TEST(OperatorMetrics, ForgettingAClusterDropsEverySeriesAndIgnoresItsLastPass) {
  OperatorMetrics m;
  api::RedisClusterStatus s;
  s.cluster_state = "fail";
  s.slots_assigned = 16384;
  m.observeCluster(clusterNamed("shop", "gone"), s, 0, 0, 0, false);
  m.observeReconcile("shop", "gone", 0.1, false);
  m.observeCluster(clusterNamed("shop", "kept"), s, 0, 0, 0, false);
  m.forgetCluster("shop", "gone");
  // The manager reports the pass that found the object deleted after the reconciler forgot it.
  m.observeReconcile("shop", "gone", 0.1, false);
  const std::string text = m.render();
  EXPECT_EQ(text.find(R"(rediscluster="gone")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(slotkeeper_cluster_state_ok{namespace="shop",rediscluster="kept"} 0)"),
            std::string::npos);

  // A cluster created again under the same name is tracked again.
  m.observeCluster(clusterNamed("shop", "gone"), s, 0, 0, 0, false);
  m.observeReconcile("shop", "gone", 0.1, false);
  EXPECT_NE(
      m.render().find(R"(slotkeeper_reconcile_total{namespace="shop",rediscluster="gone"} 1)"),
      std::string::npos);
}

TEST(OperatorMetrics, AClusterBeingCreatedHasNoHealthSeriesUntilItHasFormed) {
  OperatorMetrics m;
  const auto c = clusterNamed("shop", "new");
  api::RedisClusterStatus creating;  // pods starting: nothing observed yet
  creating.cluster_state = "unknown";
  m.observeCluster(c, creating, 0, 0, 0, true);
  creating.cluster_state = "fail";  // nodes up but not joined: no slot assigned anywhere
  m.observeCluster(c, creating, 0, 0, 0, true);
  std::string text = m.render();
  EXPECT_EQ(text.find(R"(slotkeeper_cluster_state_ok{namespace="shop",rediscluster="new"})"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"(slotkeeper_cluster_slots_ok{namespace="shop",rediscluster="new"})"),
            std::string::npos);

  api::RedisClusterStatus formed;
  formed.cluster_state = "ok";
  formed.slots_assigned = formed.slots_ok = 16384;
  m.observeCluster(c, formed, 0, 0, 0, false);
  EXPECT_TRUE(
      hasLine(m.render(), R"(slotkeeper_cluster_state_ok{namespace="shop",rediscluster="new"} 1)"));

  // Once formed, nodes that cannot be read count as down, not as unknown.
  api::RedisClusterStatus unreadable;
  unreadable.cluster_state = "unknown";
  m.observeCluster(c, unreadable, 0, 0, 0, false);
  text = m.render();
  EXPECT_TRUE(
      hasLine(text, R"(slotkeeper_cluster_state_ok{namespace="shop",rediscluster="new"} 0)"))
      << text;
  EXPECT_TRUE(
      hasLine(text, R"(slotkeeper_cluster_slots_ok{namespace="shop",rediscluster="new"} 0)"));
}

TEST(OperatorMetrics, OperatorSeriesAndBuildInfo) {
  OperatorMetrics m;
  m.setLeader(true);
  m.setQueueDepth(2);
  m.observeReconcile("shop", "cache", 0.2, false);
  m.observeReconcile("shop", "cache", 0.3, true);
  const std::string text = m.render();
  const std::string labels = R"({namespace="shop",rediscluster="cache"})";
  EXPECT_TRUE(hasLine(text, "slotkeeper_leader 1")) << text;
  EXPECT_TRUE(hasLine(text, "slotkeeper_workqueue_depth 2"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_reconcile_total" + labels + " 2"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_reconcile_errors_total" + labels + " 1"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_reconcile_duration_seconds_count" + labels + " 2"));
  EXPECT_NE(
      text.find(std::string("slotkeeper_build_info{version=\"") + SLOTKEEPER_VERSION + "\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("# TYPE slotkeeper_reconcile_duration_seconds histogram"), std::string::npos);
}

}  // namespace
}  // namespace slotkeeper::metrics
