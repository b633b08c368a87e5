// parseClusterInfo and parseReplicationInfo against replies captured from redis-server 7.0, and
// against malformed replies, which must be errors naming the bad line.
#include <gtest/gtest.h>

#include <string>

#include "redis/cluster_nodes.h"

namespace slotkeeper::redis {
namespace {

// A node that owns 202 slots and has just met a second, empty master.
constexpr char kClusterInfoFail[] =
    "cluster_state:fail\r\n"
    "cluster_slots_assigned:202\r\n"
    "cluster_slots_ok:202\r\n"
    "cluster_slots_pfail:0\r\n"
    "cluster_slots_fail:0\r\n"
    "cluster_known_nodes:2\r\n"
    "cluster_size:1\r\n"
    "cluster_current_epoch:1\r\n"
    "cluster_my_epoch:0\r\n"
    "cluster_stats_messages_ping_sent:4\r\n"
    "cluster_stats_messages_pong_sent:5\r\n"
    "cluster_stats_messages_meet_sent:1\r\n"
    "cluster_stats_messages_sent:10\r\n"
    "cluster_stats_messages_ping_received:5\r\n"
    "cluster_stats_messages_pong_received:5\r\n"
    "cluster_stats_messages_received:10\r\n"
    "total_cluster_links_buffer_limit_exceeded:0\r\n";

TEST(ClusterInfoParser, ReadsStateSlotCountsNodesAndEpochs) {
  auto info = parseClusterInfo(kClusterInfoFail);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->state, "fail");
  EXPECT_EQ(info->slots_assigned, 202);
  EXPECT_EQ(info->slots_ok, 202);
  EXPECT_EQ(info->slots_pfail, 0);
  EXPECT_EQ(info->slots_fail, 0);
  EXPECT_EQ(info->known_nodes, 2);
  EXPECT_EQ(info->size, 1);
  EXPECT_EQ(info->current_epoch, 1);
  EXPECT_EQ(info->my_epoch, 0);
}

TEST(ClusterInfoParser, ReadsAHealthyClusterWithFailingSlots) {
  auto info = parseClusterInfo(
      "cluster_state:ok\n"
      "cluster_slots_assigned:16384\n"
      "cluster_slots_ok:10923\n"
      "cluster_slots_pfail:5461\n"
      "cluster_slots_fail:0\n"
      "cluster_known_nodes:6\n"
      "cluster_size:3\n"
      "cluster_current_epoch:9000000000\n"
      "cluster_my_epoch:8999999999\n");
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->state, "ok");
  EXPECT_EQ(info->slots_assigned, 16384);
  EXPECT_EQ(info->slots_ok, 10923);
  EXPECT_EQ(info->slots_pfail, 5461);
  EXPECT_EQ(info->known_nodes, 6);
  EXPECT_EQ(info->size, 3);
  EXPECT_EQ(info->current_epoch, 9000000000);
  EXPECT_EQ(info->my_epoch, 8999999999);
}

struct MalformedInfoCase {
  const char* name;
  std::string text;
  std::string expected_in_message;
};

std::string testName(const char* sentence) {
  std::string name;
  for (const char* p = sentence; *p != '\0'; ++p) name += *p == ' ' ? '_' : *p;
  return name;
}

class ClusterInfoMalformed : public ::testing::TestWithParam<MalformedInfoCase> {};

TEST_P(ClusterInfoMalformed, IsAnInternalErrorNamingTheProblem) {
  auto info = parseClusterInfo(GetParam().text);
  ASSERT_FALSE(info.isOk()) << GetParam().name;
  EXPECT_EQ(info.status().code(), StatusCode::kInternal);
  EXPECT_NE(info.status().message().find(GetParam().expected_in_message), std::string::npos)
      << info.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClusterInfoMalformed,
    ::testing::Values(MalformedInfoCase{"a reply without cluster state is rejected",
                                        "cluster_slots_assigned:0\r\ncluster_known_nodes:1\r\n",
                                        "no cluster_state"},
                      MalformedInfoCase{"an empty reply is rejected", "", "no cluster_state"},
                      MalformedInfoCase{"a non numeric slot count is rejected",
                                        "cluster_state:ok\r\ncluster_slots_assigned:many\r\n",
                                        "line 2: non-numeric cluster_slots_assigned 'many'"},
                      MalformedInfoCase{"a slot count with trailing garbage is rejected",
                                        "cluster_state:ok\r\ncluster_slots_ok:12abc\r\n",
                                        "non-numeric cluster_slots_ok '12abc'"},
                      MalformedInfoCase{
                          "an epoch that overflows is rejected",
                          "cluster_state:ok\r\ncluster_current_epoch:99999999999999999999\r\n",
                          "non-numeric cluster_current_epoch"},
                      MalformedInfoCase{"a line without a colon is rejected",
                                        "cluster_state:ok\r\nthis is not a field\r\n",
                                        "CLUSTER INFO line 2: expected 'key:value'"}),
    [](const auto& info) { return testName(info.param.name); });

// A master with one replica streaming and one still waiting for its snapshot.
constexpr char kMasterReplication[] =
    "# Replication\r\n"
    "role:master\r\n"
    "connected_slaves:2\r\n"
    "slave0:ip=127.77.88.3,port=7000,state=online,offset=1234,lag=1\r\n"
    "slave1:ip=127.77.88.4,port=7001,state=wait_bgsave,offset=0,lag=0\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:02e3242f1950ba80d9edef28b1915ad8b3a41241\r\n"
    "master_replid2:0000000000000000000000000000000000000000\r\n"
    "master_repl_offset:1250\r\n"
    "second_repl_offset:-1\r\n"
    "repl_backlog_active:1\r\n"
    "repl_backlog_size:1048576\r\n"
    "repl_backlog_first_byte_offset:1\r\n"
    "repl_backlog_histlen:1250\r\n";

TEST(ReplicationInfoParser, ReadsAMastersReplicasWithStateOffsetAndLag) {
  auto info = parseReplicationInfo(kMasterReplication);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->role, "master");
  EXPECT_EQ(info->master_repl_offset, 1250);
  ASSERT_EQ(info->replicas.size(), 2u);
  EXPECT_EQ(info->replicas[0].ip, "127.77.88.3");
  EXPECT_EQ(info->replicas[0].port, 7000);
  EXPECT_EQ(info->replicas[0].state, "online");
  EXPECT_EQ(info->replicas[0].offset, 1234);
  EXPECT_EQ(info->replicas[0].lag_seconds, 1);
  EXPECT_EQ(info->replicas[1].ip, "127.77.88.4");
  EXPECT_EQ(info->replicas[1].port, 7001);
  EXPECT_EQ(info->replicas[1].state, "wait_bgsave");
  EXPECT_EQ(info->master_host, "");
}

TEST(ReplicationInfoParser, ReadsAReplicaWhoseLinkIsUp) {
  auto info = parseReplicationInfo(
      "# Replication\r\n"
      "role:slave\r\n"
      "master_host:127.77.88.1\r\n"
      "master_port:7000\r\n"
      "master_link_status:up\r\n"
      "master_last_io_seconds_ago:1\r\n"
      "master_sync_in_progress:0\r\n"
      "slave_read_repl_offset:14\r\n"
      "slave_repl_offset:14\r\n"
      "slave_priority:100\r\n"
      "slave_read_only:1\r\n"
      "replica_announced:1\r\n"
      "connected_slaves:0\r\n"
      "master_repl_offset:14\r\n");
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->role, "slave");
  EXPECT_EQ(info->master_host, "127.77.88.1");
  EXPECT_EQ(info->master_port, 7000);
  EXPECT_EQ(info->master_link_status, "up");
  EXPECT_EQ(info->master_last_io_seconds_ago, 1);
  EXPECT_FALSE(info->master_sync_in_progress);
  EXPECT_EQ(info->slave_repl_offset, 14);
  EXPECT_EQ(info->master_repl_offset, 14);
  // "slave_priority" and "slave_read_only" are settings, not replica entries.
  EXPECT_TRUE(info->replicas.empty());
}

TEST(ReplicationInfoParser, ReadsAReplicaThatIsStillSyncing) {
  auto info = parseReplicationInfo(
      "# Replication\n"
      "role:slave\n"
      "master_host:::1\n"
      "master_port:7000\n"
      "master_link_status:down\n"
      "master_last_io_seconds_ago:-1\n"
      "master_sync_in_progress:1\n"
      "slave_repl_offset:0\n"
      "master_sync_total_bytes:-1\n"
      "master_link_down_since_seconds:-1\n");
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->master_host, "::1");  // only the first colon separates key from value
  EXPECT_EQ(info->master_link_status, "down");
  EXPECT_EQ(info->master_last_io_seconds_ago, -1);
  EXPECT_TRUE(info->master_sync_in_progress);
}

class ReplicationInfoMalformed : public ::testing::TestWithParam<MalformedInfoCase> {};

TEST_P(ReplicationInfoMalformed, IsAnInternalErrorNamingTheProblem) {
  auto info = parseReplicationInfo(GetParam().text);
  ASSERT_FALSE(info.isOk()) << GetParam().name;
  EXPECT_EQ(info.status().code(), StatusCode::kInternal);
  EXPECT_NE(info.status().message().find(GetParam().expected_in_message), std::string::npos)
      << info.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReplicationInfoMalformed,
    ::testing::Values(
        MalformedInfoCase{"a reply without a role is rejected",
                          "# Replication\r\nconnected_slaves:0\r\n", "no valid role"},
        MalformedInfoCase{"an unknown role is rejected", "role:sentinel\r\n",
                          "no valid role (got 'sentinel')"},
        MalformedInfoCase{"a replica entry without a port is rejected",
                          "role:master\r\nslave0:ip=127.0.0.1,state=online,offset=1,lag=0\r\n",
                          "line 2: replica entry without ip and port"},
        MalformedInfoCase{"a replica entry with a non numeric offset is rejected",
                          "role:master\r\nslave0:ip=127.0.0.1,port=7001,state=online,offset=x,"
                          "lag=0\r\n",
                          "non-numeric replica offset 'x'"},
        MalformedInfoCase{"a replica entry with a non numeric lag is rejected",
                          "role:master\r\nslave0:ip=127.0.0.1,port=7001,state=online,offset=1,"
                          "lag=\r\n",
                          "non-numeric replica lag ''"},
        MalformedInfoCase{"a replica entry field without equals is rejected",
                          "role:master\r\nslave0:ip=127.0.0.1,port=7001,online\r\n",
                          "expected 'name=value', got 'online'"},
        MalformedInfoCase{"a non numeric master port is rejected",
                          "role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:redis\r\n",
                          "line 3: non-numeric master_port 'redis'"},
        MalformedInfoCase{"a non numeric replication offset is rejected",
                          "role:master\r\nmaster_repl_offset:1.5\r\n",
                          "non-numeric master_repl_offset '1.5'"},
        MalformedInfoCase{"a line without a colon is rejected", "role:master\r\ngarbage\r\n",
                          "INFO replication line 2: expected 'key:value'"}),
    [](const auto& info) { return testName(info.param.name); });

// INFO clients and INFO stats of Redis 7.0, abridged, read together as the operator does.
TEST(LoadInfoParser, ReadsClientsOpsAndEvictionsFromClientsAndStats) {
  const std::string text =
      "# Clients\r\nconnected_clients:12\r\ncluster_connections:10\r\nblocked_clients:0\r\n"
      "\r\n# Stats\r\ntotal_connections_received:40\r\ninstantaneous_ops_per_sec:1534\r\n"
      "expired_keys:7\r\nevicted_keys:3\r\ninstantaneous_input_kbps:1.25\r\n";
  auto info = parseLoadInfo(text);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->connected_clients, 12);
  EXPECT_EQ(info->ops_per_sec, 1534);
  EXPECT_EQ(info->expired_keys, 7);
  EXPECT_EQ(info->evicted_keys, 3);
  auto bad = parseLoadInfo("connected_clients:many\r\n");
  EXPECT_FALSE(bad.isOk());
}

}  // namespace
}  // namespace slotkeeper::redis
