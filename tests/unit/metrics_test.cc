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

TEST(OperatorMetrics, KubeRequestsAreCountedByVerbAndCode) {
  OperatorMetrics m;
  m.countKubeRequest("GET", 200);
  m.countKubeRequest("GET", 200);
  m.countKubeRequest("PATCH", 409);
  m.countKubeRequest("WATCH", 0);
  const std::string text = m.render();
  EXPECT_TRUE(hasLine(text, R"(slotkeeper_kube_requests_total{code="200",verb="GET"} 2)")) << text;
  EXPECT_TRUE(hasLine(text, R"(slotkeeper_kube_requests_total{code="409",verb="PATCH"} 1)"));
  EXPECT_TRUE(hasLine(text, R"(slotkeeper_kube_requests_total{code="0",verb="WATCH"} 1)"));
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
  const std::string labels = R"({namespace="shop",rediscluster="cache"})";
  EXPECT_TRUE(hasLine(m.render(), "slotkeeper_reconcile_errors_total" + labels + " 0"))
      << "the error counter starts at zero with the first pass";
  m.observeReconcile("shop", "cache", 0.3, true);
  const std::string text = m.render();
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

// --- per-node series ---

std::vector<NodeSample> twoNodes(const std::string& first_role, int64_t evicted) {
  NodeSample master;
  master.pod = "cache-shard-0-0";
  master.role = first_role;
  master.memory = redis::MemoryInfo{1000, 4000};
  master.load = redis::LoadInfo{7, 120, evicted, 3};
  master.keys = 42;
  master.slots = 5461;
  master.replication_offset = 900;
  NodeSample replica;
  replica.pod = "cache-shard-0-1";
  replica.role = "replica";
  replica.link_up = true;
  replica.lag_bytes = 12;
  replica.lag_seconds = 1;
  return {master, replica};
}

const std::string kMaster =
    R"({namespace="shop",pod="cache-shard-0-0",rediscluster="cache",role="master",shard="0"})";
const std::string kReplica =
    R"({namespace="shop",pod="cache-shard-0-1",rediscluster="cache",role="replica",shard="0"})";

TEST(NodeMetrics, EveryNodeHasItsSeriesLabelledByPodShardAndRole) {
  OperatorMetrics m;
  const auto c = clusterNamed("shop", "cache");
  m.observeNodes(c, twoNodes("master", 5));
  const std::string text = m.render();
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_memory_used_bytes" + kMaster + " 1000")) << text;
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_memory_max_bytes" + kMaster + " 4000"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_connected_clients" + kMaster + " 7"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_ops_per_second" + kMaster + " 120"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_keys" + kMaster + " 42"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_slots" + kMaster + " 5461"));
  EXPECT_EQ(text.find("slotkeeper_node_slots" + kReplica), std::string::npos) << text;
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_replication_offset_bytes" + kMaster + " 900"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_evicted_keys_total" + kMaster + " 5"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_expired_keys_total" + kMaster + " 3"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_master_link_up" + kReplica + " 1"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_replication_lag_bytes" + kReplica + " 12"));
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_replication_lag_seconds" + kReplica + " 1"));
  EXPECT_EQ(text.find("slotkeeper_node_master_link_up" + kMaster), std::string::npos)
      << "a master has no link to a master";
  EXPECT_NE(text.find("slotkeeper_node_last_observed_timestamp_seconds" + kReplica),
            std::string::npos);
}

// Redis's counters start again from 0 when the node restarts; the series keeps going up.
TEST(NodeMetrics, RedisCountersBecomeCountersThatSurviveANodeRestart) {
  OperatorMetrics m;
  const auto c = clusterNamed("shop", "cache");
  m.observeNodes(c, twoNodes("master", 5));
  m.observeNodes(c, twoNodes("master", 8));
  EXPECT_TRUE(hasLine(m.render(), "slotkeeper_node_evicted_keys_total" + kMaster + " 8"));
  m.observeNodes(c, twoNodes("master", 2));  // restarted, evicted 2 since
  EXPECT_TRUE(hasLine(m.render(), "slotkeeper_node_evicted_keys_total" + kMaster + " 10"));
}

TEST(NodeMetrics, AFailoverMovesTheSeriesToTheNewRoleAndDeletionDropsThemAll) {
  OperatorMetrics m;
  const auto c = clusterNamed("shop", "cache");
  m.observeNodes(c, twoNodes("master", 0));
  auto swapped = twoNodes("replica", 0);
  swapped[1].role = "master";
  m.observeNodes(c, swapped);
  std::string text = m.render();
  EXPECT_EQ(text.find("slotkeeper_node_keys" + kMaster), std::string::npos) << text;
  const std::string demoted =
      R"({namespace="shop",pod="cache-shard-0-0",rediscluster="cache",role="replica",shard="0"})";
  EXPECT_TRUE(hasLine(text, "slotkeeper_node_keys" + demoted + " 42")) << text;

  m.forgetCluster("shop", "cache");
  text = m.render();
  EXPECT_EQ(text.find("pod=\"cache-shard-0"), std::string::npos) << text;
}

TEST(NodeMetrics, SamplesTakeEachNodesReadingsByItsAddress) {
  api::NodeStatus master;
  master.pod = "cache-shard-0-0";
  master.ip = "127.0.0.1";
  master.role = "master";
  master.slots = "0-5460,5462";
  api::NodeStatus replica;
  replica.pod = "cache-shard-0-1";
  replica.ip = "127.0.0.10";
  replica.role = "replica";
  replica.link_status = "up";
  replica.lag_bytes = 4;
  NodeReadings r;
  r.memory["127.0.0.10:6379"] = {2000, 0};
  r.keys["127.0.0.1:6379"] = 5;
  redis::ReplicationInfo repl;
  repl.role = "slave";
  repl.slave_repl_offset = 77;
  r.replication["127.0.0.10:6379"] = repl;
  auto samples = samplesFrom({master, replica}, r);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_FALSE(samples[0].memory.has_value()) << "127.0.0.10's reading is not 127.0.0.1's";
  EXPECT_EQ(samples[0].keys, 5);
  EXPECT_EQ(samples[0].slots, 5462);
  EXPECT_FALSE(samples[1].slots.has_value()) << "a replica serves no slot of its own";
  EXPECT_EQ(samples[1].memory->used_memory, 2000);
  EXPECT_EQ(samples[1].replication_offset, 77);
  EXPECT_TRUE(samples[1].link_up);
  EXPECT_EQ(samples[1].lag_bytes, 4);
}

}  // namespace
}  // namespace slotkeeper::metrics
