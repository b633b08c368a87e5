// FakeRedisCluster against the engine's own client helpers and parsers: replies must parse the
// way real Redis replies do, and cluster commands must change only what Redis would change.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "redis/key_slot.h"
#include "unit/support/fake_redis_cluster.h"
#include "unit/support/manual_clock.h"

namespace slotkeeper::test {
namespace {

using redis::ClusterNodeEntry;
using redis::NodeClient;
using redis::OpenSlot;
using redis::Reply;

std::unique_ptr<NodeClient> connectTo(FakeRedisCluster& cluster, const std::string& address) {
  auto client = cluster.connect(address);
  EXPECT_TRUE(client.isOk()) << client.status().toString();
  return client.isOk() ? std::move(client).value() : nullptr;
}

const ClusterNodeEntry* entryFor(const std::vector<ClusterNodeEntry>& entries,
                                 const std::string& id) {
  for (const auto& e : entries) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

// A key whose slot is `slot`, found by trying names.
std::string keyInSlot(int slot, int nth = 0) {
  int found = 0;
  for (int i = 0;; ++i) {
    std::string key = "k" + std::to_string(i);
    if (redis::keyHashSlot(key) == slot && found++ == nth) return key;
  }
}

TEST(FakeRedisCluster, AFreshNodeIsAnEmptyMasterThatKnowsOnlyItself) {
  FakeRedisCluster cluster;
  const std::string id = cluster.addNode("10.0.0.1:7000");
  EXPECT_EQ(id.size(), 40u);
  auto client = connectTo(cluster, "10.0.0.1:7000");
  ASSERT_NE(client, nullptr);

  auto entries = client->clusterNodes();
  ASSERT_TRUE(entries.isOk()) << entries.status().toString();
  ASSERT_EQ(entries->size(), 1u);
  const ClusterNodeEntry& me = entries->front();
  EXPECT_TRUE(me.myself);
  EXPECT_TRUE(me.master);
  EXPECT_EQ(me.id, id);
  EXPECT_EQ(me.address(), "10.0.0.1:7000");
  EXPECT_EQ(me.cport, 17000);
  EXPECT_TRUE(me.slots.empty());

  auto myid = client->clusterMyId();
  ASSERT_TRUE(myid.isOk());
  EXPECT_EQ(*myid, id);
  auto info = client->clusterInfo();
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->state, "fail");
  EXPECT_EQ(info->known_nodes, 1);
  auto replication = client->infoReplication();
  ASSERT_TRUE(replication.isOk()) << replication.status().toString();
  EXPECT_EQ(replication->role, "master");
  auto keys = client->dbSize();
  ASSERT_TRUE(keys.isOk());
  EXPECT_EQ(*keys, 0);
  EXPECT_TRUE(client->ping().isOk());
}

TEST(FakeRedisCluster, MeetIntroducesBothNodesAtOnce) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(2);
  auto a = connectTo(cluster, addresses[0]);
  ASSERT_TRUE(a->clusterMeet("10.0.0.1", 7001).isOk());
  EXPECT_EQ(cluster.knownIds(addresses[0]), std::set<std::string>{cluster.idOf(addresses[1])});
  EXPECT_EQ(cluster.knownIds(addresses[1]), std::set<std::string>{cluster.idOf(addresses[0])});
  auto entries = a->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  const ClusterNodeEntry* b = entryFor(*entries, cluster.idOf(addresses[1]));
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->myself);
  EXPECT_TRUE(b->master);
  EXPECT_TRUE(b->connected);
  EXPECT_EQ(b->address(), addresses[1]);
}

TEST(FakeRedisCluster, MeetCanTakeGossipRoundsAndShowsAHandshakeMeanwhile) {
  FakeRedisCluster cluster({.auto_propagate = true, .meet_rounds = 2});
  auto addresses = cluster.addNodes(2);
  auto a = connectTo(cluster, addresses[0]);
  ASSERT_TRUE(a->clusterMeet("10.0.0.1", 7001).isOk());

  auto entries = a->clusterNodes();
  ASSERT_TRUE(entries.isOk()) << entries.status().toString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_TRUE(std::any_of(entries->begin(), entries->end(),
                          [](const ClusterNodeEntry& e) { return e.handshake; }));
  EXPECT_TRUE(cluster.knownIds(addresses[0]).empty());

  cluster.propagate();
  EXPECT_TRUE(cluster.knownIds(addresses[0]).empty());
  cluster.propagate();
  EXPECT_EQ(cluster.knownIds(addresses[0]).size(), 1u);
  EXPECT_EQ(cluster.knownIds(addresses[1]).size(), 1u);
  entries = a->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  EXPECT_TRUE(std::none_of(entries->begin(), entries->end(),
                           [](const ClusterNodeEntry& e) { return e.handshake; }));
}

TEST(FakeRedisCluster, GossipSpreadsMembershipToPeersOfPeers) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto addresses = cluster.addNodes(3);
  auto a = connectTo(cluster, addresses[0]);
  auto c = connectTo(cluster, addresses[2]);
  ASSERT_TRUE(a->clusterMeet("10.0.0.1", 7001).isOk());
  ASSERT_TRUE(c->clusterMeet("10.0.0.1", 7001).isOk());
  EXPECT_EQ(cluster.knownIds(addresses[0]).size(), 1u);
  cluster.propagate();
  for (const auto& address : addresses) {
    EXPECT_EQ(cluster.knownIds(address).size(), 2u) << address;
  }
}

TEST(FakeRedisCluster, AddSlotsReachOtherViewsOnlyByGossip) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto addresses = cluster.addNodes(2);
  auto a = connectTo(cluster, addresses[0]);
  auto b = connectTo(cluster, addresses[1]);
  ASSERT_TRUE(a->clusterMeet("10.0.0.1", 7001).isOk());
  ASSERT_TRUE(a->clusterAddSlotsRange({{0, 8191}}).isOk());
  ASSERT_TRUE(b->clusterAddSlotsRange({{8192, 16383}}).isOk());
  EXPECT_EQ(cluster.ownerInViewOf(addresses[1], 0), "");
  auto info = a->clusterInfo();
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state, "fail");
  EXPECT_EQ(info->slots_assigned, 8192);

  cluster.propagate();
  EXPECT_EQ(cluster.ownerInViewOf(addresses[1], 0), cluster.idOf(addresses[0]));
  EXPECT_TRUE(cluster.viewsAgree());
  info = a->clusterInfo();
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state, "ok");
  EXPECT_EQ(info->size, 2);
  auto entries = b->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  const ClusterNodeEntry* owner_a = entryFor(*entries, cluster.idOf(addresses[0]));
  ASSERT_NE(owner_a, nullptr);
  EXPECT_EQ(owner_a->slots, (std::vector<SlotRange>{{0, 8191}}));

  // Redis's own refusals.
  Status busy = b->clusterAddSlotsRange({{5, 5}});
  EXPECT_NE(busy.message().find("Slot 5 is already busy"), std::string::npos) << busy.toString();
  ASSERT_TRUE(a->clusterDelSlotsRange({{0, 9}}).isOk());
  Status unassigned = a->clusterDelSlotsRange({{0, 0}});
  EXPECT_NE(unassigned.message().find("already unassigned"), std::string::npos);
  EXPECT_EQ(cluster.slotsOf(addresses[0]).count(), 8182);
}

TEST(FakeRedisCluster, FormedClusterSplitsSlotsEvenlyWithReplicas) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(6);
  cluster.formCluster(
      {addresses[0], addresses[1], addresses[2]},
      {{addresses[3], addresses[0]}, {addresses[4], addresses[1]}, {addresses[5], addresses[2]}});
  EXPECT_EQ(cluster.slotsOf(addresses[0]).count(), 5462);
  EXPECT_EQ(cluster.slotsOf(addresses[1]).count(), 5461);
  EXPECT_TRUE(cluster.isReplica(addresses[3]));
  EXPECT_EQ(cluster.masterIdOf(addresses[3]), cluster.idOf(addresses[0]));
  EXPECT_TRUE(cluster.viewsAgree());

  auto replica = connectTo(cluster, addresses[3]);
  auto entries = replica->clusterNodes();
  ASSERT_TRUE(entries.isOk()) << entries.status().toString();
  EXPECT_EQ(entries->size(), 6u);
  const ClusterNodeEntry* me = entryFor(*entries, cluster.idOf(addresses[3]));
  ASSERT_NE(me, nullptr);
  EXPECT_TRUE(me->replica);
  EXPECT_EQ(me->master_id, cluster.idOf(addresses[0]));
  auto replication = replica->infoReplication();
  ASSERT_TRUE(replication.isOk());
  EXPECT_EQ(replication->role, "slave");
  EXPECT_EQ(replication->master_port, 7000);
  EXPECT_EQ(replication->master_link_status, "up");
  auto master = connectTo(cluster, addresses[0]);
  auto master_side = master->infoReplication();
  ASSERT_TRUE(master_side.isOk());
  ASSERT_EQ(master_side->replicas.size(), 1u);
  EXPECT_EQ(master_side->replicas[0].port, 7003);
}

TEST(FakeRedisCluster, OpenSlotsRenderAsRedisDoesAndStableClearsThem) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const std::string a_id = cluster.idOf(addresses[0]);
  const std::string b_id = cluster.idOf(addresses[1]);
  auto a = connectTo(cluster, addresses[0]);
  auto b = connectTo(cluster, addresses[1]);
  ASSERT_TRUE(b->clusterSetSlotImporting(5, a_id).isOk());
  ASSERT_TRUE(a->clusterSetSlotMigrating(5, b_id).isOk());

  auto raw = a->clusterNodesRaw();
  ASSERT_TRUE(raw.isOk());
  EXPECT_NE(raw->find("[5->-" + b_id + "]"), std::string::npos) << *raw;
  raw = b->clusterNodesRaw();
  ASSERT_TRUE(raw.isOk());
  EXPECT_NE(raw->find("[5-<-" + a_id + "]"), std::string::npos) << *raw;
  auto entries = b->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  const ClusterNodeEntry* me = entryFor(*entries, b_id);
  ASSERT_NE(me, nullptr);
  EXPECT_EQ(me->open_slots, (std::vector<OpenSlot>{{5, OpenSlot::Kind::kImporting, a_id}}));
  // Only the node's own line carries its markers.
  EXPECT_TRUE(entryFor(*entries, a_id)->open_slots.empty());

  // Redis's refusals: only the owner migrates, the owner does not import, ids must be known.
  EXPECT_NE(b->clusterSetSlotMigrating(6, a_id).message().find("not the owner"), std::string::npos);
  EXPECT_NE(a->clusterSetSlotImporting(6, b_id).message().find("already the owner"),
            std::string::npos);
  EXPECT_NE(a->clusterSetSlotMigrating(6, "feedface").message().find("don't know about node"),
            std::string::npos);

  ASSERT_TRUE(a->clusterSetSlotsStable({5}).isOk());
  ASSERT_TRUE(b->clusterSetSlotsStable({5}).isOk());
  EXPECT_TRUE(cluster.migratingSlots(addresses[0]).empty());
  EXPECT_TRUE(cluster.importingSlots(addresses[1]).empty());
  EXPECT_EQ(cluster.ownerOf(5), a_id);
}

TEST(FakeRedisCluster, MigrateMovesKeysBetweenNodes) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const int slot = 100;  // owned by the first master
  const std::string k1 = keyInSlot(slot, 0);
  const std::string k2 = keyInSlot(slot, 1);
  cluster.putKey(addresses[0], k1, "one");
  cluster.putKey(addresses[0], k2, "two");
  auto a = connectTo(cluster, addresses[0]);
  auto b = connectTo(cluster, addresses[1]);
  ASSERT_TRUE(b->clusterSetSlotImporting(slot, cluster.idOf(addresses[0])).isOk());
  ASSERT_TRUE(a->clusterSetSlotMigrating(slot, cluster.idOf(addresses[1])).isOk());

  auto count = a->clusterCountKeysInSlot(slot);
  ASSERT_TRUE(count.isOk());
  EXPECT_EQ(*count, 2);
  auto listed = a->clusterGetKeysInSlot(slot, 10);
  ASSERT_TRUE(listed.isOk());
  EXPECT_EQ(listed->size(), 2u);

  ASSERT_TRUE(a->migrateKeys("10.0.0.1", 7001, {k1}, {}).isOk());
  EXPECT_EQ(cluster.keysOf(addresses[1]), (std::map<std::string, std::string>{{k1, "one"}}));
  EXPECT_EQ(cluster.keysOf(addresses[0]), (std::map<std::string, std::string>{{k2, "two"}}));
  // Nothing left of k1 on the source: NOKEY, which the helper counts as success.
  ASSERT_TRUE(a->migrateKeys("10.0.0.1", 7001, {k1}, {}).isOk());

  // A key already on the destination: BUSYKEY (a Conflict) unless REPLACE.
  cluster.putKey(addresses[1], k2, "stale");
  Status busy = a->migrateKeys("10.0.0.1", 7001, {k2}, {});
  EXPECT_EQ(busy.code(), StatusCode::kConflict) << busy.toString();
  EXPECT_EQ(cluster.keysOf(addresses[0]).count(k2), 1u);
  NodeClient::MigrateOptions replace;
  replace.replace = true;
  ASSERT_TRUE(a->migrateKeys("10.0.0.1", 7001, {k2}, replace).isOk());
  EXPECT_EQ(cluster.keysOf(addresses[1]).at(k2), "two");
  EXPECT_EQ(cluster.keyCount(addresses[0]), 0);

  // Keys of two slots in one MIGRATE, and an unreachable destination.
  cluster.putKey(addresses[0], keyInSlot(101), "x");
  cluster.putKey(addresses[0], keyInSlot(102), "y");
  auto cross = a->pipeline(
      {{"MIGRATE", "10.0.0.1", "7001", "", "0", "1000", "KEYS", keyInSlot(101), keyInSlot(102)}});
  ASSERT_TRUE(cross.isOk());
  EXPECT_TRUE((*cross)[0].isErrorWithPrefix("CROSSSLOT"));
  cluster.setReachable(addresses[1], false);
  Status down = a->migrateKeys("10.0.0.1", 7001, {keyInSlot(101)}, {});
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.toString();
}

TEST(FakeRedisCluster, MigrateToANodeThatDoesNotServeTheSlotIsRefusedByTheTarget) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const std::string key = keyInSlot(200);
  cluster.putKey(addresses[0], key, "v");
  auto a = connectTo(cluster, addresses[0]);
  // No IMPORTING on the target: its RESTORE-ASKING is redirected.
  Status s = a->migrateKeys("10.0.0.1", 7001, {key}, {});
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("Target instance replied with error: MOVED 200 10.0.0.1:7000"),
            std::string::npos)
      << s.toString();
  EXPECT_EQ(cluster.keysOf(addresses[0]).count(key), 1u);
}

TEST(FakeRedisCluster, KeyedCommandsAreRedirectedLikeRedis) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const int slot = 300;
  const std::string present = keyInSlot(slot, 0);
  const std::string absent = keyInSlot(slot, 1);
  cluster.putKey(addresses[0], present, "here");
  auto a = connectTo(cluster, addresses[0]);
  auto b = connectTo(cluster, addresses[1]);

  auto moved = b->pipeline({{"GET", present}});
  ASSERT_TRUE(moved.isOk());
  EXPECT_EQ((*moved)[0].str, "MOVED 300 10.0.0.1:7000");

  ASSERT_TRUE(b->clusterSetSlotImporting(slot, cluster.idOf(addresses[0])).isOk());
  ASSERT_TRUE(a->clusterSetSlotMigrating(slot, cluster.idOf(addresses[1])).isOk());
  // The migrating owner answers for keys it has and sends the rest to the importer.
  auto replies = a->pipeline({{"GET", present}, {"GET", absent}});
  ASSERT_TRUE(replies.isOk());
  EXPECT_EQ((*replies)[0].str, "here");
  EXPECT_EQ((*replies)[1].str, "ASK 300 10.0.0.1:7001");
  // The importer answers only after ASKING, and only for that one command.
  replies = b->pipeline({{"ASKING"}, {"SET", absent, "new"}, {"GET", absent}});
  ASSERT_TRUE(replies.isOk());
  EXPECT_EQ((*replies)[1].str, "OK");
  EXPECT_TRUE((*replies)[2].isErrorWithPrefix("MOVED"));

  // dumpKeys sends ASKING before each DUMP: missing keys come back as nullopt on both sides.
  auto source_dump = a->dumpKeys({present, absent});
  ASSERT_TRUE(source_dump.isOk()) << source_dump.status().toString();
  EXPECT_TRUE((*source_dump)[0].has_value());
  EXPECT_FALSE((*source_dump)[1].has_value());
  auto target_dump = b->dumpKeys({present, absent});
  ASSERT_TRUE(target_dump.isOk()) << target_dump.status().toString();
  EXPECT_FALSE((*target_dump)[0].has_value());
  EXPECT_TRUE((*target_dump)[1].has_value());
}

TEST(FakeRedisCluster, SetSlotNodeRefusesToStrandKeysAndBumpsTheImportersEpoch) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const std::string a_id = cluster.idOf(addresses[0]);
  const std::string b_id = cluster.idOf(addresses[1]);
  const int slot = 7;
  const std::string key = keyInSlot(slot);
  cluster.putKey(addresses[0], key, "v");
  auto a = connectTo(cluster, addresses[0]);
  auto b = connectTo(cluster, addresses[1]);
  ASSERT_TRUE(b->clusterSetSlotImporting(slot, a_id).isOk());
  ASSERT_TRUE(a->clusterSetSlotMigrating(slot, b_id).isOk());

  Status refused = a->clusterSetSlotNode(slot, b_id);
  EXPECT_NE(refused.message().find("still hold keys"), std::string::npos) << refused.toString();

  ASSERT_TRUE(a->migrateKeys("10.0.0.1", 7001, {key}, {}).isOk());
  const int64_t max_epoch_before =
      std::max({cluster.configEpochOf(addresses[0]), cluster.configEpochOf(addresses[1]),
                cluster.configEpochOf(addresses[2])});
  ASSERT_TRUE(b->clusterSetSlotNode(slot, b_id).isOk());
  EXPECT_GT(cluster.configEpochOf(addresses[1]), max_epoch_before);
  EXPECT_TRUE(cluster.importingSlots(addresses[1]).empty());
  // The higher epoch wins in gossip: every view, the source's included, moves to b.
  EXPECT_EQ(cluster.ownerOf(slot), b_id);
  for (const auto& address : addresses) {
    EXPECT_EQ(cluster.ownerInViewOf(address, slot), b_id) << address;
  }
  // The source still has its MIGRATING marker until it is told (or made STABLE).
  EXPECT_EQ(cluster.migratingSlots(addresses[0]).size(), 1u);
  ASSERT_TRUE(a->clusterSetSlotNode(slot, b_id).isOk());
  EXPECT_TRUE(cluster.migratingSlots(addresses[0]).empty());
  EXPECT_TRUE(cluster.viewsAgree());
}

TEST(FakeRedisCluster, WithoutGossipViewsDisagreeUntilPropagated) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const std::string b_id = cluster.idOf(addresses[1]);
  auto a = connectTo(cluster, addresses[0]);
  auto b = connectTo(cluster, addresses[1]);
  ASSERT_TRUE(b->clusterSetSlotImporting(1, cluster.idOf(addresses[0])).isOk());
  ASSERT_TRUE(b->clusterSetSlotNode(1, b_id).isOk());
  EXPECT_EQ(cluster.ownerInViewOf(addresses[1], 1), b_id);
  EXPECT_EQ(cluster.ownerInViewOf(addresses[2], 1), cluster.idOf(addresses[0]));
  EXPECT_FALSE(cluster.viewsAgree());
  // One round is enough here: everyone hears b directly.
  EXPECT_TRUE(cluster.gossipRound());
  EXPECT_EQ(cluster.ownerInViewOf(addresses[2], 1), b_id);
  EXPECT_TRUE(cluster.viewsAgree());
}

TEST(FakeRedisCluster, ALoserOfASlotWithKeysDropsThemWhenANewerClaimArrives) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  const std::string key = keyInSlot(9);
  cluster.putKey(addresses[0], key, "v");
  auto b = connectTo(cluster, addresses[1]);
  // b claims slot 9 without a migration (as after a failover elsewhere) with a newer epoch.
  ASSERT_TRUE(b->clusterSetSlotImporting(9, cluster.idOf(addresses[0])).isOk());
  ASSERT_TRUE(b->clusterSetSlotNode(9, cluster.idOf(addresses[1])).isOk());
  cluster.propagate();
  EXPECT_EQ(cluster.ownerInViewOf(addresses[0], 9), cluster.idOf(addresses[1]));
  EXPECT_EQ(cluster.keyCount(addresses[0]), 0);
}

TEST(FakeRedisCluster, ReplicateCopiesTheMastersKeysAndFollowsItsWrites) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(4);
  cluster.formCluster({addresses[0], addresses[1], addresses[2]});
  auto fresh = connectTo(cluster, addresses[3]);
  ASSERT_TRUE(fresh->clusterMeet("10.0.0.1", 7000).isOk());
  ASSERT_TRUE(cluster.writeKey("before", "1").isOk());
  const std::string owner = cluster.addressOfId(cluster.ownerOf(redis::keyHashSlot("before")));

  // A master holding slots refuses; an empty one follows.
  auto a = connectTo(cluster, addresses[0]);
  Status refused = a->clusterReplicate(cluster.idOf(addresses[1]));
  EXPECT_NE(refused.message().find("must be empty"), std::string::npos) << refused.toString();
  ASSERT_TRUE(fresh->clusterReplicate(cluster.idOf(owner)).isOk());
  EXPECT_TRUE(cluster.isReplica(addresses[3]));
  EXPECT_EQ(cluster.keysOf(addresses[3]), cluster.keysOf(owner));
  cluster.putKey(owner, "after{before}", "2");
  EXPECT_EQ(cluster.keysOf(addresses[3]).count("after{before}"), 1u);
  // Every member learns the new role by gossip.
  for (const auto& address : addresses) {
    auto client = connectTo(cluster, address);
    auto entries = client->clusterNodes();
    ASSERT_TRUE(entries.isOk());
    const ClusterNodeEntry* e = entryFor(*entries, cluster.idOf(addresses[3]));
    ASSERT_NE(e, nullptr) << address;
    EXPECT_TRUE(e->replica) << address;
  }
  // A replica does not take SETSLOT.
  EXPECT_NE(fresh->clusterSetSlotStable(0).message().find("only with masters"), std::string::npos);
}

TEST(FakeRedisCluster, ForgetDropsANodeAndItsSlotsAndKeepsItForgotten) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(4);
  cluster.formCluster({addresses[0], addresses[1], addresses[2]}, {{addresses[3], addresses[0]}});
  const std::string replica_id = cluster.idOf(addresses[3]);
  auto replica = connectTo(cluster, addresses[3]);
  EXPECT_NE(replica->clusterForget(cluster.idOf(addresses[0])).message().find("my master"),
            std::string::npos);

  for (int i = 0; i < 3; ++i) {
    auto member = connectTo(cluster, addresses[static_cast<size_t>(i)]);
    ASSERT_TRUE(member->clusterForget(replica_id).isOk());
    // The replica still knows the rest, but the ban keeps gossip from bringing it back.
    for (int j = 0; j <= i; ++j) {
      EXPECT_EQ(cluster.knownIds(addresses[static_cast<size_t>(j)]).count(replica_id), 0u);
    }
  }
  auto member = connectTo(cluster, addresses[0]);
  EXPECT_NE(member->clusterForget(replica_id).message().find("Unknown node"), std::string::npos);
  // A master with keys refuses a soft reset; the replica becomes an empty, lonely master.
  ASSERT_TRUE(cluster.writeKey("k", "v").isOk());
  auto owner = connectTo(cluster, cluster.addressOfId(cluster.ownerOf(redis::keyHashSlot("k"))));
  EXPECT_NE(owner->clusterResetSoft().message().find("containing keys"), std::string::npos);
  ASSERT_TRUE(replica->clusterResetSoft().isOk());
  EXPECT_FALSE(cluster.isReplica(addresses[3]));
  EXPECT_TRUE(cluster.knownIds(addresses[3]).empty());
  EXPECT_EQ(cluster.keyCount(addresses[3]), 0);
  EXPECT_TRUE(cluster.slotsOf(addresses[3]).empty());
  // Meeting it again on purpose brings it back.
  ASSERT_TRUE(member->clusterMeet("10.0.0.1", 7003).isOk());
  EXPECT_EQ(cluster.knownIds(addresses[2]).count(replica_id), 1u);
}

TEST(FakeRedisCluster, AMasterDrainedByGossipFollowsItsSuccessorUnlessTold) {
  for (bool allow : {true, false}) {
    // Eight masters of 2048 slots and a fresh node; the first master is drained to it and is
    // told the new owner before the new owner itself is.
    FakeRedisCluster cluster;
    auto addresses = cluster.addNodes(9);
    cluster.formCluster(std::vector<std::string>(addresses.begin(), addresses.begin() + 8));
    auto fresh = connectTo(cluster, addresses[8]);
    ASSERT_TRUE(fresh->clusterMeet("10.0.0.1", 7000).isOk());
    auto a = connectTo(cluster, addresses[0]);
    if (!allow) {
      ASSERT_TRUE(a->configSet("cluster-allow-replica-migration", "no").isOk());
    }
    std::vector<int> slots = cluster.slotsOf(addresses[0]).slots();
    ASSERT_EQ(slots.size(), 2048u);
    ASSERT_TRUE(fresh->clusterSetSlotsImporting(slots, cluster.idOf(addresses[0])).isOk());
    ASSERT_TRUE(a->clusterSetSlotsMigrating(slots, cluster.idOf(addresses[8])).isOk());
    ASSERT_TRUE(a->clusterSetSlotsNode(slots, cluster.idOf(addresses[8])).isOk());
    EXPECT_EQ(cluster.isReplica(addresses[0]), allow);
    if (allow) {
      EXPECT_EQ(cluster.masterIdOf(addresses[0]), cluster.idOf(addresses[8]));
    }
  }
}

TEST(FakeRedisCluster, ClusterBumpEpochAndFailover) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(4);
  cluster.formCluster({addresses[0], addresses[1], addresses[2]}, {{addresses[3], addresses[0]}});
  auto a = connectTo(cluster, addresses[0]);
  auto bumped = a->command({"CLUSTER", "BUMPEPOCH"});
  ASSERT_TRUE(bumped.isOk());
  EXPECT_EQ(bumped->str, "BUMPED 4");
  bumped = a->command({"CLUSTER", "BUMPEPOCH"});
  ASSERT_TRUE(bumped.isOk());
  EXPECT_EQ(bumped->str, "STILL 4");

  const SlotSet slots = cluster.slotsOf(addresses[0]);
  auto replica = connectTo(cluster, addresses[3]);
  EXPECT_FALSE(a->clusterFailover(NodeClient::FailoverMode::kDefault).isOk());
  ASSERT_TRUE(replica->clusterFailover(NodeClient::FailoverMode::kDefault).isOk());
  EXPECT_FALSE(cluster.isReplica(addresses[3]));
  EXPECT_EQ(cluster.slotsOf(addresses[3]), slots);
  // The old master hears of it and follows the new one.
  EXPECT_EQ(cluster.masterIdOf(addresses[0]), cluster.idOf(addresses[3]));
  EXPECT_TRUE(cluster.viewsAgree());
}

TEST(FakeRedisCluster, AnUnreachableNodeRefusesConnectionsAndIsFlaggedByPeers) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  auto a = connectTo(cluster, addresses[0]);
  auto c = connectTo(cluster, addresses[2]);
  cluster.setReachable(addresses[2], false);
  EXPECT_EQ(cluster.connect(addresses[2]).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(c->ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cluster.connect("10.9.9.9:1").status().code(), StatusCode::kUnavailable);

  cluster.propagate();
  auto entries = a->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  const ClusterNodeEntry* e = entryFor(*entries, cluster.idOf(addresses[2]));
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->fail);
  EXPECT_FALSE(e->connected);
  auto info = a->clusterInfo();
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state, "fail");
  EXPECT_EQ(info->slots_fail, 5461);

  cluster.setReachable(addresses[2], true);
  cluster.propagate();
  info = a->clusterInfo();
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state, "ok");
}

TEST(FakeRedisCluster, UnknownCommandsAreNamedInTheError) {
  FakeRedisCluster cluster;
  cluster.addNode("10.0.0.1:7000");
  auto client = connectTo(cluster, "10.0.0.1:7000");
  auto replies =
      client->pipeline({{"FLUSHALL"}, {"CLUSTER", "SHARDS"}, {"CLIENT", "SETNAME", "x"}});
  ASSERT_TRUE(replies.isOk());
  EXPECT_TRUE((*replies)[0].isError());
  EXPECT_NE((*replies)[0].str.find("FLUSHALL"), std::string::npos) << (*replies)[0].str;
  EXPECT_NE((*replies)[1].str.find("CLUSTER SHARDS"), std::string::npos) << (*replies)[1].str;
  EXPECT_EQ((*replies)[2].str, "OK");
  Status s = client->configSet("cluster-allow-replica-migration", "no");
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(cluster.configValue("10.0.0.1:7000", "cluster-allow-replica-migration"), "no");
}

TEST(FakeRedisCluster, FaultsReplaceMatchingCommands) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  cluster.addFault({.address = addresses[0],
                    .words = {"cluster", "info"},
                    .skip = 1,
                    .times = 1,
                    .fault = {Reply::error("LOADING Redis is loading"), false}});
  auto a = connectTo(cluster, addresses[0]);
  EXPECT_TRUE(a->clusterInfo().isOk());
  auto loading = a->clusterInfo();
  EXPECT_EQ(loading.status().code(), StatusCode::kUnavailable) << loading.status().toString();
  EXPECT_TRUE(a->clusterInfo().isOk());
  EXPECT_EQ(cluster.faultsInjected(), 1);

  // A dropped connection fails the whole round trip after the commands before it have run.
  cluster.setCommandHook([](const std::string&, const redis::Command& cmd) {
    std::optional<CommandFault> fault;
    if (cmd[0] == "DBSIZE") fault = CommandFault{Reply{}, true};
    return fault;
  });
  auto replies =
      a->pipeline({{"CONFIG", "SET", "x", "1"}, {"DBSIZE"}, {"CONFIG", "SET", "y", "2"}});
  EXPECT_EQ(replies.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cluster.configValue(addresses[0], "x"), "1");
  EXPECT_EQ(cluster.configValue(addresses[0], "y"), "");
  EXPECT_EQ(cluster.commandCount({"CONFIG", "SET"}, addresses[0]), 1);
}

TEST(FakeRedisCluster, ANodeOnANewAddressIsLearnedByGossip) {
  FakeRedisCluster cluster({.auto_propagate = false, .meet_rounds = 0});
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  cluster.moveNode(addresses[2], "10.0.0.9:7002");
  auto a = connectTo(cluster, addresses[0]);
  auto entries = a->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  EXPECT_EQ(entryFor(*entries, cluster.idOf("10.0.0.9:7002"))->address(), addresses[2]);
  cluster.propagate();
  entries = a->clusterNodes();
  ASSERT_TRUE(entries.isOk());
  EXPECT_EQ(entryFor(*entries, cluster.idOf("10.0.0.9:7002"))->address(), "10.0.0.9:7002");
}

TEST(FakeRedisCluster, ParallelClientsOnThreadsAreSafe) {
  FakeRedisCluster cluster;
  auto addresses = cluster.addNodes(3);
  cluster.formCluster(addresses);
  std::vector<std::future<int>> workers;
  for (int t = 0; t < 4; ++t) {
    workers.push_back(std::async(std::launch::async, [&cluster, t] {
      int written = 0;
      for (int i = 0; i < 200; ++i) {
        std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
        auto owner = cluster.addressOfId(cluster.ownerOf(redis::keyHashSlot(key)));
        auto client = cluster.connect(owner);
        if (!client.isOk()) continue;
        auto reply = (*client)->command({"SET", key, "v"});
        if (reply.isOk() && (*client)->clusterNodes().isOk()) ++written;
      }
      return written;
    }));
  }
  int total = 0;
  for (auto& w : workers) total += w.get();
  EXPECT_EQ(total, 800);
  int64_t keys = 0;
  for (const auto& address : addresses) keys += cluster.keyCount(address);
  EXPECT_EQ(keys, 800);
}

TEST(ManualClock, SleepingAdvancesTimeAndRunsTheHookWithoutWaiting) {
  FakeRedisCluster cluster({.auto_propagate = true, .meet_rounds = 3});
  auto addresses = cluster.addNodes(2);
  ManualClock clock([&](Clock::Duration) { cluster.propagate(); });
  auto a = connectTo(cluster, addresses[0]);
  ASSERT_TRUE(a->clusterMeet("10.0.0.1", 7001).isOk());
  const auto start = clock.now();
  const auto real_start = std::chrono::steady_clock::now();
  while (cluster.knownIds(addresses[0]).empty()) clock.sleepFor(std::chrono::seconds(10));
  EXPECT_EQ(clock.sleeps(), 3);
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(30));
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, std::chrono::seconds(1));
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(clock.sleeps(), 3);
  EXPECT_EQ(clock.slept(), std::chrono::seconds(30));
  EXPECT_EQ(clock.elapsed(), std::chrono::seconds(31));
}

}  // namespace
}  // namespace slotkeeper::test
