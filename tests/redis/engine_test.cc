// The topology engine against real redis-server processes: form, add replicas, load data, scale
// out, add a second replica per master, scale in — reading every outcome back from the nodes.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/clock.h"
#include "engine/converge.h"
#include "engine/observer.h"
#include "redis/hiredis_client.h"
#include "redis/support/cluster_data.h"
#include "redis/support/redis_fixture.h"

namespace slotkeeper::test {
namespace {

using topology::DesiredNode;
using topology::DesiredShape;

DesiredShape shapeOf(const RedisServers& servers, int masters, int replicas,
                     const std::vector<int>& indexes) {
  DesiredShape shape{masters, replicas, {}};
  for (int i : indexes) shape.nodes.push_back(DesiredNode{servers.address(i), "", -1});
  return shape;
}

std::vector<int> range(int from, int to) {
  std::vector<int> out;
  for (int i = from; i < to; ++i) out.push_back(i);
  return out;
}

Status applyShape(redis::NodeConnector& connector, const DesiredShape& shape) {
  RealClock clock;
  engine::ConvergeOptions options;
  auto report = engine::converge(connector, clock, shape, options);
  return report.isOk() ? Status::ok() : report.status();
}

std::vector<int> sortedCounts(const std::map<std::string, int>& by_master) {
  std::vector<int> counts;
  for (const auto& [id, n] : by_master) {
    if (n > 0) counts.push_back(n);
  }
  std::sort(counts.begin(), counts.end());
  return counts;
}

// redis-cli's own verdict: all slots covered, no open slot, every node agrees.
void expectRedisCliCheckClean(const std::string& address) {
  int code = -1;
  std::string out = runCommand("redis-cli --cluster check " + address, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[OK] All nodes agree about slots configuration."), std::string::npos) << out;
  EXPECT_NE(out.find("[OK] All 16384 slots covered."), std::string::npos) << out;
  EXPECT_EQ(out.find("[WARNING]"), std::string::npos) << out;
  EXPECT_EQ(out.find("[ERR]"), std::string::npos) << out;
}

// Every master has exactly `replicas` replicas, each of which reports its link up.
void expectReplicasLinkedUp(RedisServers& servers, redis::NodeConnector& connector,
                            const std::vector<int>& indexes, int masters, int replicas) {
  auto seed = connector.connect(servers.address(indexes.front()));
  ASSERT_TRUE(seed.isOk());
  auto entries = (*seed)->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  std::map<std::string, int> replicas_of;
  int master_count = 0;
  std::vector<std::string> replica_addresses;
  for (const auto& e : *entries) {
    if (e.master && !e.slots.empty()) ++master_count;
    if (e.replica) {
      ++replicas_of[e.master_id];
      replica_addresses.push_back(e.address());
    }
  }
  EXPECT_EQ(master_count, masters);
  for (const auto& e : *entries) {
    if (e.master && !e.slots.empty()) {
      EXPECT_EQ(replicas_of[e.id], replicas) << e.address();
    }
  }
  for (const auto& address : replica_addresses) {
    bool up = waitUntil(
        [&] {
          auto c = connector.connect(address);
          if (!c.isOk()) return false;
          auto info = (*c)->infoReplication();
          return info.isOk() && info->master_link_status == "up";
        },
        std::chrono::seconds(30));
    EXPECT_TRUE(up) << address << " never reported master_link_status:up";
  }
}

// The CLI caps every MIGRATE at half of this, read from the nodes it is given.
TEST(Engine, ReadsTheSmallestNodeTimeoutAmongTheNodesThatAnswer) {
  RedisServers servers({.count = 2, .extra_config = {"cluster-node-timeout 7000"}});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::HiredisConnector connector(servers.connectOptions());
  const std::vector<std::string> both = {servers.address(0), servers.address(1)};
  EXPECT_EQ(engine::readSmallestNodeTimeout(connector, both), std::chrono::milliseconds(7000));
  auto second = servers.client(1);
  ASSERT_TRUE(second.isOk());
  ASSERT_TRUE((*second)->configSet("cluster-node-timeout", "3000").isOk());
  EXPECT_EQ(engine::readSmallestNodeTimeout(connector, both), std::chrono::milliseconds(3000));
  servers.stop(1);
  EXPECT_EQ(engine::readSmallestNodeTimeout(connector, both), std::chrono::milliseconds(7000))
      << "the stopped node is skipped";
  servers.stop(0);
  EXPECT_EQ(engine::readSmallestNodeTimeout(connector, both), std::chrono::milliseconds(0))
      << "no node answers: no cap";
}

TEST(Engine, FormsScalesOutAddsReplicasAndScalesInWithoutLosingAKey) {
  RedisServers servers({.count = 12});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::HiredisConnector connector(servers.connectOptions());
  const std::string seed = servers.address(0);

  // 3 masters from 3 empty nodes: 5462/5461/5461.
  ASSERT_TRUE(applyShape(connector, shapeOf(servers, 3, 0, range(0, 3))).isOk());
  auto counts = slotCountsByMaster(connector, seed);
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(sortedCounts(*counts), (std::vector<int>{5461, 5461, 5462}));
  expectRedisCliCheckClean(seed);

  // One replica each.
  Status s = applyShape(connector, shapeOf(servers, 3, 1, range(0, 6)));
  ASSERT_TRUE(s.isOk()) << s.toString();
  expectReplicasLinkedUp(servers, connector, range(0, 6), 3, 1);

  Dataset data = makeDataset(100000);
  ASSERT_TRUE(loadDataset(connector, seed, data).isOk());

  // A 4th master (and its replica): 4096 slots each, every key still there with its value.
  s = applyShape(connector, shapeOf(servers, 4, 1, range(0, 8)));
  ASSERT_TRUE(s.isOk()) << s.toString();
  counts = slotCountsByMaster(connector, seed);
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(sortedCounts(*counts), (std::vector<int>{4096, 4096, 4096, 4096}));
  auto verified = verifyDataset(connector, seed, data);
  ASSERT_TRUE(verified.isOk()) << verified.status().toString();
  EXPECT_EQ(verified->checked, 100000);
  EXPECT_TRUE(verified->allPresent())
      << verified->missing << " missing, " << verified->wrong_value << " wrong, "
      << verified->lost_ttl << " lost TTL; e.g. " << verified->examples.front();
  EXPECT_EQ(verified->total_keys_on_masters, 100000);
  expectRedisCliCheckClean(seed);

  // Two replicas per master.
  s = applyShape(connector, shapeOf(servers, 4, 2, range(0, 12)));
  ASSERT_TRUE(s.isOk()) << s.toString();
  expectReplicasLinkedUp(servers, connector, range(0, 12), 4, 2);

  // Back to 3 masters: drop one master and its two replicas from the membership.
  auto seed_client = connector.connect(seed);
  ASSERT_TRUE(seed_client.isOk());
  auto entries = (*seed_client)->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  std::string dropped_master;
  for (const auto& e : *entries) {
    if (e.master && e.address() != seed) dropped_master = e.id;
  }
  std::vector<int> keep;
  std::vector<std::string> dropped_addresses;
  for (int i = 0; i < servers.size(); ++i) {
    bool drop = false;
    for (const auto& e : *entries) {
      if (e.address() == servers.address(i) &&
          (e.id == dropped_master || e.master_id == dropped_master)) {
        drop = true;
      }
    }
    if (drop) {
      dropped_addresses.push_back(servers.address(i));
    } else {
      keep.push_back(i);
    }
  }
  ASSERT_EQ(keep.size(), 9u);
  s = applyShape(connector, shapeOf(servers, 3, 2, keep));
  ASSERT_TRUE(s.isOk()) << s.toString();
  counts = slotCountsByMaster(connector, seed);
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(sortedCounts(*counts), (std::vector<int>{5461, 5461, 5462}));
  expectReplicasLinkedUp(servers, connector, keep, 3, 2);
  verified = verifyDataset(connector, seed, data);
  ASSERT_TRUE(verified.isOk()) << verified.status().toString();
  EXPECT_TRUE(verified->allPresent()) << verified->missing << " missing";
  EXPECT_EQ(verified->total_keys_on_masters, 100000);
  expectRedisCliCheckClean(seed);
  // The removed nodes are gone from every remaining node's view.
  for (int i : keep) {
    auto c = connector.connect(servers.address(i));
    ASSERT_TRUE(c.isOk());
    auto view = (*c)->clusterNodes();
    ASSERT_TRUE(view.isOk());
    for (const auto& e : *view) {
      EXPECT_EQ(std::count(dropped_addresses.begin(), dropped_addresses.end(), e.address()), 0)
          << servers.address(i) << " still lists " << e.address();
    }
  }
}

}  // namespace
}  // namespace slotkeeper::test
