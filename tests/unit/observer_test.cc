// The observer against FakeRedisCluster: it reads every node it can reach, follows the peers
// they list, and reports what it cannot reach from what the peers say.
#include "engine/observer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/converge.h"
#include "unit/support/engine_harness.h"

namespace slotkeeper::test {
namespace {

using topology::ObservedCluster;
using topology::ObservedNode;

const ObservedNode* find(const ObservedCluster& cluster, const std::string& address) {
  for (const auto& node : cluster.nodes) {
    if (node.address == address) return &node;
  }
  return nullptr;
}

TEST(Observer, ReadsEveryMemberOfAFormedClusterFromOneAddress) {
  FakeRedisCluster cluster;
  auto nodes = cluster.addNodes(6);
  cluster.formCluster({nodes[0], nodes[1], nodes[2]},
                      {{nodes[3], nodes[0]}, {nodes[4], nodes[1]}, {nodes[5], nodes[2]}});
  for (const auto& [key, value] : makeDataset(600))
    ASSERT_TRUE(cluster.writeKey(key, value).isOk());

  auto observed = engine::observeCluster(cluster, {nodes[0]});
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  ASSERT_EQ(observed->nodes.size(), 6u);
  for (const auto& address : nodes) {
    const ObservedNode* node = find(*observed, address);
    ASSERT_NE(node, nullptr) << address;
    EXPECT_TRUE(node->reachable) << address;
    EXPECT_EQ(node->id, cluster.idOf(address));
    EXPECT_EQ(node->is_master, !cluster.isReplica(address)) << address;
    EXPECT_EQ(node->master_id, cluster.masterIdOf(address)) << address;
    EXPECT_EQ(node->slots, cluster.slotsOf(address)) << address;
    EXPECT_EQ(node->keys, cluster.keyCount(address)) << address;
    EXPECT_GT(node->keys, 0) << address;
    EXPECT_TRUE(node->open_slots.empty());
    EXPECT_FALSE(node->marked_failed);
    std::vector<std::string> peers = node->peer_ids;
    std::sort(peers.begin(), peers.end());
    const auto known = cluster.knownIds(address);
    EXPECT_EQ(peers, std::vector<std::string>(known.begin(), known.end())) << address;
    EXPECT_EQ(peers.size(), 5u) << address;
  }
}

TEST(Observer, FollowsPeersOfPeers) {
  // a knows b, b knows c; nobody has gossiped, so a has never heard of c.
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto nodes = cluster.addNodes(3);
  for (int i = 0; i < 2; ++i) {
    auto client = cluster.connect(nodes[static_cast<size_t>(i)]);
    ASSERT_TRUE(client.isOk());
    ASSERT_TRUE((*client)->clusterMeet("10.0.0.1", 7001 + i).isOk());
  }
  ASSERT_EQ(cluster.knownIds(nodes[0]).size(), 1u);

  auto observed = engine::observeCluster(cluster, {nodes[0]});
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  ASSERT_EQ(observed->nodes.size(), 3u);
  for (const auto& address : nodes) {
    const ObservedNode* node = find(*observed, address);
    ASSERT_NE(node, nullptr) << address;
    EXPECT_TRUE(node->reachable);
  }
  EXPECT_EQ(find(*observed, nodes[0])->peer_ids.size(), 1u);
  EXPECT_EQ(find(*observed, nodes[1])->peer_ids.size(), 2u);
}

TEST(Observer, ReportsAnUnreachableNodeFromWhatItsPeersSay) {
  FakeRedisCluster cluster;
  auto nodes = cluster.addNodes(4);
  cluster.formCluster({nodes[0], nodes[1], nodes[2]}, {{nodes[3], nodes[2]}});
  cluster.setReachable(nodes[2], false);
  cluster.propagate();  // peers notice and flag it

  auto observed = engine::observeCluster(cluster, {nodes[0], nodes[2]});
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  ASSERT_EQ(observed->nodes.size(), 4u);
  const ObservedNode* down = find(*observed, nodes[2]);
  ASSERT_NE(down, nullptr);
  EXPECT_FALSE(down->reachable);
  EXPECT_TRUE(down->marked_failed);
  EXPECT_EQ(down->id, cluster.idOf(nodes[2]));
  EXPECT_TRUE(down->is_master);
  EXPECT_EQ(down->slots, cluster.slotsOf(nodes[2]));
  EXPECT_EQ(down->slots.count(), 5461);
  EXPECT_EQ(down->keys, 0);
  // Its replica is still there and says whom it follows.
  const ObservedNode* replica = find(*observed, nodes[3]);
  ASSERT_NE(replica, nullptr);
  EXPECT_TRUE(replica->reachable);
  EXPECT_FALSE(replica->is_master);
  EXPECT_EQ(replica->master_id, cluster.idOf(nodes[2]));
  EXPECT_FALSE(replica->marked_failed);
}

TEST(Observer, ReportsAnAddressNobodyAnswersAtAsUnreachableWithoutAnId) {
  FakeRedisCluster cluster;
  auto nodes = cluster.addNodes(3);
  cluster.formCluster(nodes);
  auto observed = engine::observeCluster(cluster, {nodes[0], "10.0.0.99:7000"});
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  const ObservedNode* ghost = find(*observed, "10.0.0.99:7000");
  ASSERT_NE(ghost, nullptr);
  EXPECT_FALSE(ghost->reachable);
  EXPECT_TRUE(ghost->id.empty());
  EXPECT_EQ(observed->nodes.size(), 4u);
}

TEST(Observer, ReportsOpenSlotsOfEachNode) {
  FakeRedisCluster cluster;
  auto nodes = cluster.addNodes(3);
  cluster.formCluster(nodes);
  auto a = cluster.connect(nodes[0]);
  auto b = cluster.connect(nodes[1]);
  ASSERT_TRUE(a.isOk() && b.isOk());
  ASSERT_TRUE((*b)->clusterSetSlotsImporting({10, 11}, cluster.idOf(nodes[0])).isOk());
  ASSERT_TRUE((*a)->clusterSetSlotsMigrating({10, 11}, cluster.idOf(nodes[1])).isOk());

  auto observed = engine::observeCluster(cluster, {nodes[0]});
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  const ObservedNode* source = find(*observed, nodes[0]);
  const ObservedNode* target = find(*observed, nodes[1]);
  ASSERT_TRUE(source != nullptr && target != nullptr);
  ASSERT_EQ(source->open_slots.size(), 2u);
  EXPECT_EQ(source->open_slots[0].kind, redis::OpenSlot::Kind::kMigrating);
  EXPECT_EQ(source->open_slots[0].peer_id, cluster.idOf(nodes[1]));
  ASSERT_EQ(target->open_slots.size(), 2u);
  EXPECT_EQ(target->open_slots[1].slot, 11);
  EXPECT_EQ(target->open_slots[1].kind, redis::OpenSlot::Kind::kImporting);
  EXPECT_TRUE(find(*observed, nodes[2])->open_slots.empty());
}

TEST(Observer, SeesANodeThatMovedAtItsOldAddressAsWell) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto nodes = cluster.addNodes(3);
  cluster.formCluster(nodes);
  cluster.moveNode(nodes[2], "10.0.0.2:7002");  // peers still list the old address

  auto observed = engine::observeCluster(cluster, {nodes[0], nodes[1], "10.0.0.2:7002"});
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  const ObservedNode* moved = find(*observed, "10.0.0.2:7002");
  const ObservedNode* old = find(*observed, nodes[2]);
  ASSERT_TRUE(moved != nullptr && old != nullptr);
  EXPECT_TRUE(moved->reachable);
  EXPECT_FALSE(old->reachable);
  EXPECT_EQ(old->id, moved->id);
  EXPECT_EQ(old->slots, moved->slots);
}

TEST(Observer, ObserveDesiredCarriesFailureDomains) {
  FakeRedisCluster cluster;
  auto nodes = cluster.addNodes(3);
  cluster.formCluster(nodes);
  topology::DesiredShape shape = shapeOf(nodes, 3, 0);
  shape.nodes[1].failure_domain = "zone-b";
  auto observed = engine::observeDesired(cluster, shape);
  ASSERT_TRUE(observed.isOk()) << observed.status().toString();
  EXPECT_EQ(find(*observed, nodes[1])->failure_domain, "zone-b");
  EXPECT_EQ(find(*observed, nodes[0])->failure_domain, "");
}

TEST(Observer, SlotOwnersFromAFakeNodeMatchItsView) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto nodes = cluster.addNodes(3);
  cluster.formCluster(nodes);
  auto b = cluster.connect(nodes[1]);
  ASSERT_TRUE(b.isOk());
  ASSERT_TRUE((*b)->clusterSetSlotImporting(0, cluster.idOf(nodes[0])).isOk());
  ASSERT_TRUE((*b)->clusterSetSlotNode(0, cluster.idOf(nodes[1])).isOk());
  for (const auto& address : {nodes[0], nodes[1]}) {
    auto client = cluster.connect(address);
    ASSERT_TRUE(client.isOk());
    auto entries = (*client)->clusterNodes();
    ASSERT_TRUE(entries.isOk());
    auto owners = engine::slotOwnersFrom(*entries);
    for (int s : {0, 1, 5461, 5462, 16383}) {
      EXPECT_EQ(owners[static_cast<size_t>(s)], cluster.ownerInViewOf(address, s))
          << address << " slot " << s;
    }
  }
  // Without gossip the two views differ on slot 0.
  EXPECT_NE(cluster.ownerInViewOf(nodes[0], 0), cluster.ownerInViewOf(nodes[1], 0));
}

}  // namespace
}  // namespace slotkeeper::test
