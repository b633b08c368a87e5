// HiredisNodeClient and the typed NodeClient helpers against real redis-server processes:
// cluster admin commands, slot migration, authentication, timeouts and reconnects. A few
// cases use a scripted fake instead, where a real server cannot produce the situation.
#include "redis/hiredis_client.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>

#include "redis/support/redis_fixture.h"

namespace slotkeeper::test {
namespace {

using redis::Command;
using redis::HiredisNodeClient;
using redis::NodeClient;
using redis::OpenSlot;
using redis::Reply;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kGossipTimeout{20000};

std::unique_ptr<HiredisNodeClient> mustConnect(const RedisServers& servers, int i) {
  auto client = servers.client(i);
  EXPECT_TRUE(client.isOk()) << client.status().toString();
  return client.isOk() ? std::move(client).value() : nullptr;
}

const redis::ClusterNodeEntry* findById(const std::vector<redis::ClusterNodeEntry>& nodes,
                                        const std::string& id) {
  for (const auto& node : nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

const redis::ClusterNodeEntry* findMyself(const std::vector<redis::ClusterNodeEntry>& nodes) {
  for (const auto& node : nodes) {
    if (node.myself) return &node;
  }
  return nullptr;
}

// True when `client` knows `peer_id`, past the handshake, with `slots` slots.
bool knowsPeer(NodeClient& client, const std::string& peer_id, int slots) {
  auto nodes = client.clusterNodes();
  if (!nodes.isOk()) return false;
  const auto* peer = findById(*nodes, peer_id);
  if (peer == nullptr || peer->handshake || !peer->connected) return false;
  int owned = 0;
  for (const auto& r : peer->slots) owned += r.size();
  return owned == slots;
}

int keySlot(NodeClient& client, const std::string& key) {
  auto reply = client.command({"CLUSTER", "KEYSLOT", key});
  EXPECT_TRUE(reply.isOk()) << reply.status().toString();
  return reply.isOk() ? static_cast<int>(reply->integer) : -1;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Single nodes.

TEST(HiredisClient, PingsAndReadsItsOwnIdentityFromClusterNodes) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  auto client = mustConnect(servers, 0);
  ASSERT_NE(client, nullptr);

  EXPECT_TRUE(client->ping().isOk());
  EXPECT_EQ(client->address(), servers.address(0));
  auto id = client->clusterMyId();
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_EQ(id->size(), 40u);

  auto nodes = client->clusterNodes();
  ASSERT_TRUE(nodes.isOk()) << nodes.status().toString();
  ASSERT_EQ(nodes->size(), 1u);
  const auto& me = (*nodes)[0];
  EXPECT_EQ(me.id, *id);
  EXPECT_TRUE(me.myself);
  EXPECT_TRUE(me.master);
  EXPECT_EQ(me.ip, servers.ip(0));
  EXPECT_EQ(me.port, 7000);
  EXPECT_EQ(me.cport, 17000);
  EXPECT_TRUE(me.slots.empty());

  auto db_size = client->dbSize();
  ASSERT_TRUE(db_size.isOk());
  EXPECT_EQ(*db_size, 0);
  auto replication = client->infoReplication();
  ASSERT_TRUE(replication.isOk()) << replication.status().toString();
  EXPECT_EQ(replication->role, "master");
  EXPECT_TRUE(replication->replicas.empty());
  auto load = client->infoLoad();
  ASSERT_TRUE(load.isOk()) << load.status().toString();
  EXPECT_GE(load->connected_clients, 1);  // this client
  EXPECT_EQ(load->evicted_keys, 0);
}

TEST(HiredisClient, AddAndDeleteSlotRangesShowInClusterInfoAndNodes) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  auto client = mustConnect(servers, 0);
  ASSERT_NE(client, nullptr);

  ASSERT_TRUE(client->clusterAddSlotsRange({{0, 100}, {200, 16383}}).isOk());
  auto info = client->clusterInfo();
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->slots_assigned, 16384 - 99);
  EXPECT_EQ(info->known_nodes, 1);
  auto nodes = client->clusterNodes();
  ASSERT_TRUE(nodes.isOk());
  EXPECT_EQ((*nodes)[0].slots, (std::vector<SlotRange>{{0, 100}, {200, 16383}}));

  ASSERT_TRUE(client->clusterDelSlotsRange({{0, 100}}).isOk());
  info = client->clusterInfo();
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->slots_assigned, 16384 - 200);

  // A slot that is already assigned: Redis refuses, and its words reach the caller.
  Status busy = client->clusterAddSlotsRange({{300, 300}});
  EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(busy.message(), "already busy")) << busy.message();
  EXPECT_TRUE(contains(busy.message(), "CLUSTER ADDSLOTSRANGE")) << busy.message();

  // Bad ranges are refused before anything is sent.
  EXPECT_EQ(client->clusterAddSlotsRange({{10, 5}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->clusterAddSlotsRange({{0, 16384}}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(client->clusterAddSlotsRange({}).isOk());
}

TEST(HiredisClient, ErrorRepliesBecomeStatusesThatKeepRedisText) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  auto client = mustConnect(servers, 0);
  ASSERT_NE(client, nullptr);

  // No slot is served yet, so any key is CLUSTERDOWN: transient, retry with backoff.
  auto down = client->command({"GET", "somekey"});
  ASSERT_FALSE(down.isOk());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(down.status().message(), "CLUSTERDOWN")) << down.status().message();
  EXPECT_TRUE(contains(down.status().message(), servers.address(0))) << down.status().message();

  auto unknown = client->command({"NOSUCHCOMMAND"});
  ASSERT_FALSE(unknown.isOk());
  EXPECT_EQ(unknown.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(unknown.status().message(), "unknown command"))
      << unknown.status().message();

  // pipeline() hands error replies back as values, in order, next to good ones.
  auto replies = client->pipeline({{"PING"}, {"NOSUCHCOMMAND"}, {"ECHO", "hi"}});
  ASSERT_TRUE(replies.isOk()) << replies.status().toString();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].str, "PONG");
  EXPECT_TRUE((*replies)[1].isErrorWithPrefix("ERR"));
  EXPECT_EQ((*replies)[2].type, Reply::Type::kString);
  EXPECT_EQ((*replies)[2].str, "hi");

  // A malformed id for REPLICATE.
  Status replicate = client->clusterReplicate("0000000000000000000000000000000000000000");
  EXPECT_EQ(replicate.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(replicate.message(), "Unknown node")) << replicate.message();
}

TEST(HiredisClient, ArgumentsAreBinarySafe) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  auto client = mustConnect(servers, 0);
  ASSERT_NE(client, nullptr);
  const std::string with_nul("a\0b\r\nc", 6);
  auto echo = client->command({"ECHO", with_nul});
  ASSERT_TRUE(echo.isOk()) << echo.status().toString();
  EXPECT_EQ(echo->str, with_nul);
}

// ---------------------------------------------------------------------------------------------
// Two nodes: A owns every slot, B is an empty master that has met A.

class TwoNodeCluster : public ::testing::Test {
 protected:
  void SetUp() override { formCluster({.count = 2}); }

  void formCluster(RedisServersOptions options) {
    servers_ = std::make_unique<RedisServers>(std::move(options));
    ASSERT_TRUE(servers_->status().isOk()) << servers_->status().toString();
    a_ = mustConnect(*servers_, 0);
    b_ = mustConnect(*servers_, 1);
    ASSERT_TRUE(a_ && b_);
    auto a_id = a_->clusterMyId();
    auto b_id = b_->clusterMyId();
    ASSERT_TRUE(a_id.isOk() && b_id.isOk());
    a_id_ = *a_id;
    b_id_ = *b_id;
    ASSERT_TRUE(a_->clusterAddSlotsRange({{0, kSlotCount - 1}}).isOk());
    ASSERT_TRUE(a_->clusterMeet(servers_->ip(1), servers_->port(1)).isOk());
    ASSERT_TRUE(waitUntil([&] { return knowsPeer(*b_, a_id_, kSlotCount); }, kGossipTimeout))
        << "B never learned that A owns every slot";
    ASSERT_TRUE(waitUntil([&] { return knowsPeer(*a_, b_id_, 0); }, kGossipTimeout));
    for (HiredisNodeClient* node : {a_.get(), b_.get()}) {
      ASSERT_TRUE(waitUntil(
          [&] {
            auto info = node->clusterInfo();
            return info.isOk() && info->state == "ok";
          },
          kGossipTimeout))
          << node->address() << " never reported cluster_state:ok";
    }
  }

  // Writes `keys` on A (which owns their slots) with value "value-of-<key>".
  void writeOnA(const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
      auto reply = a_->command({"SET", key, "value-of-" + key});
      ASSERT_TRUE(reply.isOk()) << reply.status().toString();
    }
  }

  void openSlotFromAToB(int slot) {
    ASSERT_TRUE(b_->clusterSetSlotImporting(slot, a_id_).isOk());
    ASSERT_TRUE(a_->clusterSetSlotMigrating(slot, b_id_).isOk());
  }

  // GET on B for a key of a slot B is importing: only allowed after ASKING.
  std::optional<std::string> getOnB(const std::string& key) {
    auto replies = b_->pipeline({{"ASKING"}, {"GET", key}});
    EXPECT_TRUE(replies.isOk()) << replies.status().toString();
    if (!replies.isOk() || (*replies)[1].type != Reply::Type::kString) return std::nullopt;
    return (*replies)[1].str;
  }

  std::unique_ptr<RedisServers> servers_;
  std::unique_ptr<HiredisNodeClient> a_;
  std::unique_ptr<HiredisNodeClient> b_;
  std::string a_id_;
  std::string b_id_;
};

TEST_F(TwoNodeCluster, MeetMakesEachNodeSeeTheOtherAtItsOwnAddress) {
  auto a_view = a_->clusterNodes();
  auto b_view = b_->clusterNodes();
  ASSERT_TRUE(a_view.isOk() && b_view.isOk());
  EXPECT_EQ(a_view->size(), 2u);
  EXPECT_EQ(b_view->size(), 2u);
  const auto* b_in_a = findById(*a_view, b_id_);
  const auto* a_in_b = findById(*b_view, a_id_);
  ASSERT_TRUE(b_in_a && a_in_b);
  // bind-source-addr at work: peers are seen at their own 127.A.B.n, not at 127.0.0.1.
  EXPECT_EQ(b_in_a->address(), servers_->address(1));
  EXPECT_EQ(a_in_b->address(), servers_->address(0));
  EXPECT_EQ(a_in_b->slots, (std::vector<SlotRange>{{0, kSlotCount - 1}}));
  EXPECT_TRUE(a_in_b->master);

  auto info = b_->clusterInfo();
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->known_nodes, 2);
  EXPECT_EQ(info->slots_assigned, kSlotCount);

  int code = -1;
  std::string out = runCommand("redis-cli --cluster check " + servers_->address(0), &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "[OK] All 16384 slots covered.")) << out;
}

TEST_F(TwoNodeCluster, SetSlotImportingAndMigratingShowAsOpenSlotsUntilStable) {
  openSlotFromAToB(42);
  auto a_view = a_->clusterNodes();
  auto b_view = b_->clusterNodes();
  ASSERT_TRUE(a_view.isOk() && b_view.isOk());
  const auto* a_self = findMyself(*a_view);
  const auto* b_self = findMyself(*b_view);
  ASSERT_TRUE(a_self && b_self);
  EXPECT_EQ(a_self->open_slots, (std::vector<OpenSlot>{{42, OpenSlot::Kind::kMigrating, b_id_}}));
  EXPECT_EQ(b_self->open_slots, (std::vector<OpenSlot>{{42, OpenSlot::Kind::kImporting, a_id_}}));

  ASSERT_TRUE(a_->clusterSetSlotStable(42).isOk());
  ASSERT_TRUE(b_->clusterSetSlotStable(42).isOk());
  a_view = a_->clusterNodes();
  b_view = b_->clusterNodes();
  ASSERT_TRUE(a_view.isOk() && b_view.isOk());
  EXPECT_TRUE(findMyself(*a_view)->open_slots.empty());
  EXPECT_TRUE(findMyself(*b_view)->open_slots.empty());
}

TEST_F(TwoNodeCluster, PipelinedSetSlotsCoverThousandsOfSlotsAndNameTheFailingOne) {
  std::vector<int> slots;
  for (int s = 0; s < 4500; ++s) slots.push_back(s);  // three round trips
  ASSERT_TRUE(b_->clusterSetSlotsImporting(slots, a_id_).isOk());
  auto b_view = b_->clusterNodes();
  ASSERT_TRUE(b_view.isOk());
  const auto& open = findMyself(*b_view)->open_slots;
  ASSERT_EQ(open.size(), 4500u);
  EXPECT_EQ(open.front(), (OpenSlot{0, OpenSlot::Kind::kImporting, a_id_}));
  EXPECT_EQ(open.back(), (OpenSlot{4499, OpenSlot::Kind::kImporting, a_id_}));

  // B owns none of them, so it cannot migrate them away.
  Status not_owner = b_->clusterSetSlotsMigrating({7000, 7001}, a_id_);
  EXPECT_EQ(not_owner.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(not_owner.message(), "CLUSTER SETSLOT 7000 MIGRATING"))
      << not_owner.message();
  EXPECT_TRUE(contains(not_owner.message(), "not the owner")) << not_owner.message();
}

TEST_F(TwoNodeCluster, CountsAndListsTheKeysOfASlot) {
  const std::vector<std::string> keys = {"{user1}:a", "{user1}:b", "{user1}:c"};
  writeOnA(keys);
  int slot = keySlot(*a_, keys[0]);
  int empty_slot = (slot + 1) % kSlotCount;

  auto count = a_->clusterCountKeysInSlot(slot);
  ASSERT_TRUE(count.isOk()) << count.status().toString();
  EXPECT_EQ(*count, 3);
  auto counts = a_->clusterCountKeysInSlots({slot, empty_slot, slot});
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(*counts, (std::vector<int64_t>{3, 0, 3}));

  auto listed = a_->clusterGetKeysInSlot(slot, 10);
  ASSERT_TRUE(listed.isOk()) << listed.status().toString();
  std::sort(listed->begin(), listed->end());
  EXPECT_EQ(*listed, keys);
  auto limited = a_->clusterGetKeysInSlot(slot, 2);
  ASSERT_TRUE(limited.isOk());
  EXPECT_EQ(limited->size(), 2u);

  auto db_size = a_->dbSize();
  ASSERT_TRUE(db_size.isOk());
  EXPECT_EQ(*db_size, 3);
}

TEST_F(TwoNodeCluster, MigrateMovesKeysToTheImportingNodeAndNoKeyIsSuccess) {
  // One key holds a NUL and CRLF: keys travel as binary-safe arguments.
  const std::vector<std::string> keys = {"{mig}:1", "{mig}:2", std::string("{mig}:\0\r\n", 9)};
  writeOnA(keys);
  int slot = keySlot(*a_, keys[0]);
  openSlotFromAToB(slot);

  Status moved = a_->migrateKeys(servers_->ip(1), servers_->port(1), keys, {});
  ASSERT_TRUE(moved.isOk()) << moved.toString();

  auto left_on_a = a_->clusterCountKeysInSlot(slot);
  auto now_on_b = b_->clusterCountKeysInSlot(slot);
  ASSERT_TRUE(left_on_a.isOk() && now_on_b.isOk());
  EXPECT_EQ(*left_on_a, 0);
  EXPECT_EQ(*now_on_b, 3);
  for (const auto& key : keys) EXPECT_EQ(getOnB(key), "value-of-" + key);
  // The source answers ASK for keys it no longer holds; dumpKeys reads that as "missing here".
  auto gone = a_->dumpKeys(keys);
  ASSERT_TRUE(gone.isOk()) << gone.status().toString();
  EXPECT_EQ(*gone, (std::vector<std::optional<std::string>>(3, std::nullopt)));
  // The importing target serves DUMP because dumpKeys sends ASKING first.
  auto arrived = b_->dumpKeys(keys);
  ASSERT_TRUE(arrived.isOk()) << arrived.status().toString();
  EXPECT_TRUE(std::all_of(arrived->begin(), arrived->end(), [](const auto& p) { return p; }));

  // The same batch again (a retry after a crash): nothing left to move is not an error.
  EXPECT_TRUE(a_->migrateKeys(servers_->ip(1), servers_->port(1), keys, {}).isOk());
  EXPECT_TRUE(a_->migrateKeys(servers_->ip(1), servers_->port(1), {}, {}).isOk());

  // Finish the move: B owns the slot, A's marker is gone.
  ASSERT_TRUE(b_->clusterSetSlotNode(slot, b_id_).isOk());
  ASSERT_TRUE(a_->clusterSetSlotNode(slot, b_id_).isOk());
  auto a_view = a_->clusterNodes();
  ASSERT_TRUE(a_view.isOk());
  EXPECT_TRUE(findMyself(*a_view)->open_slots.empty());
  EXPECT_EQ(findById(*a_view, b_id_)->slots, (std::vector<SlotRange>{{slot, slot}}));
}

TEST_F(TwoNodeCluster, BusyKeyOnTheTargetIsAConflictAndReplaceOverwritesIt) {
  const std::string key = "{busy}:k";
  writeOnA({key});
  int slot = keySlot(*a_, key);
  openSlotFromAToB(slot);
  auto planted = b_->pipeline({{"ASKING"}, {"SET", key, "stale copy"}});
  ASSERT_TRUE(planted.isOk());
  ASSERT_FALSE((*planted)[1].isError()) << (*planted)[1].str;

  Status busy = a_->migrateKeys(servers_->ip(1), servers_->port(1), {key}, {});
  EXPECT_EQ(busy.code(), StatusCode::kConflict) << busy.toString();
  EXPECT_TRUE(contains(busy.message(), "BUSYKEY")) << busy.message();

  // The caller compares payloads on both sides before it decides that REPLACE is safe.
  auto source = a_->dumpKeys({key, "{elsewhere}:missing"});
  auto target = b_->dumpKeys({key});
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  ASSERT_TRUE(target.isOk()) << target.status().toString();
  ASSERT_TRUE((*source)[0].has_value());
  ASSERT_TRUE((*target)[0].has_value());
  EXPECT_NE(*(*source)[0], *(*target)[0]);
  EXPECT_FALSE((*source)[1].has_value());

  NodeClient::MigrateOptions replace;
  replace.replace = true;
  ASSERT_TRUE(a_->migrateKeys(servers_->ip(1), servers_->port(1), {key}, replace).isOk());
  EXPECT_EQ(getOnB(key), "value-of-" + key);
}

TEST_F(TwoNodeCluster, ReplicateAttachesAReplicaAndBothSidesReportTheLink) {
  writeOnA({"{repl}:k"});
  ASSERT_TRUE(b_->clusterReplicate(a_id_).isOk());

  bool linked = waitUntil(
      [&] {
        auto replica = b_->infoReplication();
        return replica.isOk() && replica->master_link_status == "up";
      },
      kGossipTimeout);
  ASSERT_TRUE(linked) << "B never reported master_link_status:up";
  auto replica_side = b_->infoReplication();
  ASSERT_TRUE(replica_side.isOk());
  EXPECT_EQ(replica_side->role, "slave");
  EXPECT_EQ(replica_side->master_host, servers_->ip(0));
  EXPECT_EQ(replica_side->master_port, 7000);
  EXPECT_FALSE(replica_side->master_sync_in_progress);

  // A write after the sync moves the offsets; the replica acknowledges it within a second.
  writeOnA({"{repl}:after-sync"});
  ASSERT_TRUE(waitUntil(
      [&] {
        auto master = a_->infoReplication();
        return master.isOk() && master->replicas.size() == 1 &&
               master->replicas[0].state == "online" && master->master_repl_offset > 0 &&
               master->replicas[0].offset == master->master_repl_offset;
      },
      kGossipTimeout))
      << "A never reported B online and caught up";
  auto master_side = a_->infoReplication();
  ASSERT_TRUE(master_side.isOk());
  EXPECT_EQ(master_side->role, "master");
  EXPECT_EQ(master_side->replicas[0].ip, servers_->ip(1));
  EXPECT_EQ(master_side->replicas[0].port, 7000);
  EXPECT_GE(master_side->replicas[0].lag_seconds, 0);

  // Both views of the cluster agree that B is A's replica.
  for (HiredisNodeClient* node : {a_.get(), b_.get()}) {
    ASSERT_TRUE(waitUntil(
        [&] {
          auto nodes = node->clusterNodes();
          if (!nodes.isOk()) return false;
          const auto* b = findById(*nodes, b_id_);
          return b != nullptr && b->replica && b->master_id == a_id_;
        },
        kGossipTimeout))
        << node->address() << " does not list B as A's replica";
  }
}

TEST_F(TwoNodeCluster, MigrateToANodeThatIsNotImportingIsRefused) {
  const std::string key = "{refused}:k";
  writeOnA({key});
  Status refused = a_->migrateKeys(servers_->ip(1), servers_->port(1), {key}, {});
  EXPECT_FALSE(refused.isOk());
  EXPECT_NE(refused.code(), StatusCode::kConflict);
  EXPECT_TRUE(contains(refused.message(), "MIGRATE to " + servers_->address(1)))
      << refused.message();
  auto still_on_a = a_->dumpKeys({key});
  ASSERT_TRUE(still_on_a.isOk());
  EXPECT_TRUE((*still_on_a)[0].has_value());
}

// ---------------------------------------------------------------------------------------------
// Passwords.

TEST(HiredisClientAuth, RightPasswordWorksWrongOneIsUnauthenticated) {
  RedisServers servers({.count = 1, .password = "s3cret"});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();

  auto good = servers.client(0);
  ASSERT_TRUE(good.isOk()) << good.status().toString();
  EXPECT_TRUE((*good)->ping().isOk());

  redis::ConnectOptions wrong = servers.connectOptions();
  wrong.password = "not-it";
  auto refused = HiredisNodeClient::connect(servers.address(0), wrong);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(contains(refused.status().message(), "WRONGPASS")) << refused.status().message();
  EXPECT_TRUE(contains(refused.status().message(), servers.address(0)));
  EXPECT_FALSE(contains(refused.status().message(), "not-it")) << "password leaked";

  redis::ConnectOptions none = servers.connectOptions();
  none.password.clear();
  auto anonymous = HiredisNodeClient::connect(servers.address(0), none);
  ASSERT_TRUE(anonymous.isOk());
  Status noauth = (*anonymous)->ping();
  EXPECT_EQ(noauth.code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(contains(noauth.message(), "NOAUTH")) << noauth.message();
}

TEST(HiredisClientAuth, APasswordForAServerWithoutOneIsTolerated) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::ConnectOptions options = servers.connectOptions();
  options.password = "rolled-out-later";
  auto client = HiredisNodeClient::connect(servers.address(0), options);
  ASSERT_TRUE(client.isOk()) << client.status().toString();
  EXPECT_TRUE((*client)->ping().isOk());
}

// The steps of a password rotation on a real server, with a client that knows both passwords.
TEST(HiredisClientAuth, FallsBackToThePreviousPasswordAndSeesTheRotationSteps) {
  RedisServers servers({.count = 1, .password = "old-one"});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::ConnectOptions both = servers.connectOptions();
  both.password = "new-one";
  both.fallback_password = "old-one";
  auto client = HiredisNodeClient::connect(servers.address(0), both);
  ASSERT_TRUE(client.isOk()) << client.status().toString();
  auto hashes = (*client)->aclPasswordHashes("default");
  ASSERT_TRUE(hashes.isOk()) << hashes.status().toString();
  ASSERT_EQ(hashes->size(), 1u);

  ASSERT_TRUE((*client)->aclSetUser("default", {"on", ">new-one"}).isOk());
  hashes = (*client)->aclPasswordHashes("default");
  ASSERT_TRUE(hashes.isOk());
  EXPECT_EQ(hashes->size(), 2u) << "the old password stays next to the new one";
  ASSERT_TRUE((*client)->configSet("masterauth", "new-one").isOk());
  auto masterauth = (*client)->configGet("masterauth");
  ASSERT_TRUE(masterauth.isOk());
  EXPECT_EQ(*masterauth, "new-one");

  redis::ConnectOptions old_only = servers.connectOptions();
  old_only.password = "old-one";
  EXPECT_TRUE(HiredisNodeClient::connect(servers.address(0), old_only).isOk());
  ASSERT_TRUE((*client)->aclSetUser("default", {"resetpass", ">new-one"}).isOk());
  auto refused = HiredisNodeClient::connect(servers.address(0), old_only);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(HiredisNodeClient::connect(servers.address(0), both).isOk())
      << "the new password works first";
}

class PasswordCluster : public TwoNodeCluster {
 protected:
  void SetUp() override { formCluster({.count = 2, .password = "s3cret"}); }
};

TEST_F(PasswordCluster, MigrateAuthenticatesToTheTarget) {
  const std::string key = "{auth}:k";
  writeOnA({key});
  int slot = keySlot(*a_, key);
  openSlotFromAToB(slot);

  Status without = a_->migrateKeys(servers_->ip(1), servers_->port(1), {key}, {});
  EXPECT_EQ(without.code(), StatusCode::kUnauthenticated) << without.toString();

  NodeClient::MigrateOptions with_password;
  with_password.password = "s3cret";
  Status moved = a_->migrateKeys(servers_->ip(1), servers_->port(1), {key}, with_password);
  ASSERT_TRUE(moved.isOk()) << moved.toString();
  EXPECT_EQ(getOnB(key), "value-of-" + key);
}

// ---------------------------------------------------------------------------------------------
// Failures of the connection: no hang, a clear kUnavailable, and a reconnect afterwards.

TEST(HiredisClientFailures, AStoppedServerIsUnavailableAtOnce) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  auto client = mustConnect(servers, 0);
  ASSERT_NE(client, nullptr);
  servers.stop(0);

  auto started = std::chrono::steady_clock::now();
  Status ping = client->ping();
  EXPECT_EQ(ping.code(), StatusCode::kUnavailable) << ping.toString();
  EXPECT_TRUE(contains(ping.message(), servers.address(0))) << ping.message();
  Status again = client->ping();  // now a reconnect attempt, refused
  EXPECT_EQ(again.code(), StatusCode::kUnavailable) << again.toString();
  EXPECT_TRUE(contains(again.message(), "refused")) << again.message();
  EXPECT_FALSE(redis::isNoReply(again)) << "refused is down, not unanswered";

  redis::HiredisConnector connector(servers.connectOptions());
  auto fresh = connector.connect(servers.address(0));
  ASSERT_FALSE(fresh.isOk());
  EXPECT_EQ(fresh.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(3));
}

TEST(HiredisClientFailures, AServerThatStopsAnsweringTimesOutAndTheNextCallReconnects) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::ConnectOptions options = servers.connectOptions();
  options.command_timeout = milliseconds(300);
  auto connected = HiredisNodeClient::connect(servers.address(0), options);
  ASSERT_TRUE(connected.isOk()) << connected.status().toString();
  auto& client = *connected;

  servers.pause(0);
  auto started = std::chrono::steady_clock::now();
  Status timed_out = client->ping();
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(timed_out.code(), StatusCode::kUnavailable) << timed_out.toString();
  EXPECT_TRUE(contains(timed_out.message(), "300 ms")) << timed_out.message();
  EXPECT_TRUE(redis::isNoReply(timed_out)) << timed_out.toString();
  EXPECT_LT(waited, seconds(2));

  // The late PONG to the timed-out PING must not be taken as the answer to the next command.
  servers.resume(0);
  auto echo = client->command({"ECHO", "after"});
  ASSERT_TRUE(echo.isOk()) << echo.status().toString();
  EXPECT_EQ(echo->str, "after");
}

TEST(HiredisClientFailures, ReconnectsAfterTheServerRestartsWithTheSameNodeId) {
  RedisServers servers({.count = 1});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  auto client = mustConnect(servers, 0);
  ASSERT_NE(client, nullptr);
  auto id_before = client->clusterMyId();
  ASSERT_TRUE(id_before.isOk());

  servers.kill(0);
  EXPECT_EQ(client->ping().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(servers.start(0).isOk());

  EXPECT_TRUE(client->ping().isOk());
  auto id_after = client->clusterMyId();
  ASSERT_TRUE(id_after.isOk());
  EXPECT_EQ(*id_after, *id_before);  // nodes.conf survived in the fixture's directory
}

// ---------------------------------------------------------------------------------------------
// The fixture itself.

TEST(RedisServersFixture, GivesEveryServerItsOwnLoopbackAddressAndCleansUp) {
  std::string dir;
  std::vector<pid_t> pids;
  {
    RedisServers servers({.count = 2});
    ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
    auto added = servers.addNode();
    ASSERT_TRUE(added.isOk()) << added.status().toString();
    EXPECT_EQ(*added, 2);
    ASSERT_EQ(servers.size(), 3);
    for (int i = 0; i < servers.size(); ++i) {
      EXPECT_EQ(servers.ip(i).rfind("127.", 0), 0u) << servers.ip(i);
      EXPECT_NE(servers.ip(i), "127.0.0.1");
      EXPECT_EQ(servers.address(i), servers.ip(i) + ":7000");
      EXPECT_TRUE(servers.running(i));
      EXPECT_TRUE(std::filesystem::exists(servers.logPath(i)));
      pids.push_back(servers.pid(i));
    }
    EXPECT_NE(servers.ip(0), servers.ip(1));
    EXPECT_NE(servers.ip(1), servers.ip(2));
    auto third = mustConnect(servers, 2);
    ASSERT_NE(third, nullptr);
    EXPECT_TRUE(third->ping().isOk());
    dir = servers.dir();
  }
  for (pid_t pid : pids) EXPECT_EQ(::kill(pid, 0), -1) << "pid " << pid << " still runs";
  if (std::getenv("SK_KEEP_TEST_DIRS") == nullptr) {
    EXPECT_FALSE(std::filesystem::exists(dir));
  }
}

TEST(RedisServersFixture, RunCommandReturnsOutputAndExitCode) {
  int code = -1;
  EXPECT_EQ(runCommand("echo out; echo err >&2; exit 3", &code), "out\nerr\n");
  EXPECT_EQ(code, 3);
}

// ---------------------------------------------------------------------------------------------
// The typed helpers over a scripted fake: batching and error mapping that a single real server
// cannot easily be made to show.

class ScriptedClient : public NodeClient {
 public:
  const std::string& address() const override { return address_; }
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands) override {
    batches.push_back(commands);
    std::vector<Reply> replies;
    for (const auto& cmd : commands) replies.push_back(answer(cmd));
    return replies;
  }

  std::function<Reply(const Command&)> answer = [](const Command&) { return Reply::status("OK"); };
  std::vector<std::vector<Command>> batches;

 private:
  std::string address_ = "10.1.2.3:6379";
};

TEST(NodeClientHelpers, SetSlotsSendsBatchesOfAtMost2000AndStopsAtTheFirstFailingSlot) {
  ScriptedClient client;
  std::vector<int> slots;
  for (int s = 0; s < 4500; ++s) slots.push_back(s);
  ASSERT_TRUE(client.clusterSetSlotsNode(slots, "n1").isOk());
  ASSERT_EQ(client.batches.size(), 3u);
  EXPECT_EQ(client.batches[0].size(), 2000u);
  EXPECT_EQ(client.batches[2].size(), 500u);
  EXPECT_EQ(client.batches[2].back(), (Command{"CLUSTER", "SETSLOT", "4499", "NODE", "n1"}));

  ScriptedClient failing;
  failing.answer = [](const Command& cmd) {
    return cmd[2] == "2100" || cmd[2] == "2200" ? Reply::error("ERR I don't know about node n1")
                                                : Reply::status("OK");
  };
  Status status = failing.clusterSetSlotsNode(slots, "n1");
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(status.message(), "CLUSTER SETSLOT 2100 NODE")) << status.message();
  EXPECT_TRUE(contains(status.message(), "I don't know about node")) << status.message();
  EXPECT_EQ(failing.batches.size(), 2u) << "no batch may follow a failed one";
}

TEST(NodeClientHelpers, RedisErrorCodesMapToRetryClasses) {
  struct Case {
    const char* error;
    StatusCode code;
  };
  for (const Case& c :
       {Case{"MOVED 3999 127.0.0.1:6381", StatusCode::kUnavailable},
        Case{"ASK 3999 127.0.0.1:6381", StatusCode::kUnavailable},
        Case{"CLUSTERDOWN The cluster is down", StatusCode::kUnavailable},
        Case{"TRYAGAIN Multiple keys request during rehashing of slot", StatusCode::kUnavailable},
        Case{"LOADING Redis is loading the dataset in memory", StatusCode::kUnavailable},
        Case{"NOAUTH Authentication required.", StatusCode::kUnauthenticated},
        Case{"WRONGPASS invalid username-password pair", StatusCode::kUnauthenticated},
        Case{"ERR Unknown node abc", StatusCode::kFailedPrecondition}}) {
    ScriptedClient client;
    client.answer = [&](const Command&) { return Reply::error(c.error); };
    auto reply = client.command({"CLUSTER", "REPLICATE", "abc"});
    ASSERT_FALSE(reply.isOk()) << c.error;
    EXPECT_EQ(reply.status().code(), c.code) << c.error;
    EXPECT_TRUE(contains(reply.status().message(), c.error)) << reply.status().message();
    EXPECT_TRUE(contains(reply.status().message(), "10.1.2.3:6379"));
  }
}

TEST(NodeClientHelpers, MigrateSendsAuthBeforeKeysAndMapsTargetErrors) {
  ScriptedClient client;
  client.answer = [](const Command&) { return Reply::status("NOKEY"); };
  NodeClient::MigrateOptions options;
  options.timeout = milliseconds(1500);
  options.replace = true;
  options.password = "pw";
  ASSERT_TRUE(client.migrateKeys("10.0.0.9", 7000, {"k1", "k2"}, options).isOk());
  EXPECT_EQ(client.batches.at(0).at(0), (Command{"MIGRATE", "10.0.0.9", "7000", "", "0", "1500",
                                                 "REPLACE", "AUTH", "pw", "KEYS", "k1", "k2"}));

  struct Case {
    const char* error;
    StatusCode code;
  };
  for (const Case& c :
       {Case{"ERR Target instance replied with error: BUSYKEY Target key name already exists.",
             StatusCode::kConflict},
        Case{"IOERR error or timeout connecting to the client", StatusCode::kUnavailable},
        Case{"ERR Target instance replied with error: NOAUTH Authentication required.",
             StatusCode::kUnauthenticated},
        Case{"ERR Target instance replied with error: CLUSTERDOWN The cluster is down",
             StatusCode::kUnavailable},
        Case{"ERR syntax error", StatusCode::kFailedPrecondition}}) {
    ScriptedClient failing;
    failing.answer = [&](const Command&) { return Reply::error(c.error); };
    Status status = failing.migrateKeys("10.0.0.9", 7000, {"k1"}, options);
    EXPECT_EQ(status.code(), c.code) << c.error;
    EXPECT_TRUE(contains(status.message(), c.error)) << status.message();
    EXPECT_FALSE(contains(status.message(), "pw ")) << "password leaked: " << status.message();
  }
}

TEST(NodeClientHelpers, ErrorsNeverEchoConfigValues) {
  ScriptedClient client;
  client.answer = [](const Command&) { return Reply::error("ERR CONFIG SET failed"); };
  Status status = client.configSet("masterauth", "hunter2");
  EXPECT_FALSE(status.isOk());
  EXPECT_TRUE(contains(status.message(), "CONFIG SET masterauth")) << status.message();
  EXPECT_FALSE(contains(status.message(), "hunter2")) << status.message();
}

TEST(NodeClientHelpers, UnexpectedReplyTypesAreInternalErrors) {
  ScriptedClient client;
  client.answer = [](const Command&) { return Reply::integerReply(7); };
  auto nodes = client.clusterNodes();
  ASSERT_FALSE(nodes.isOk());
  EXPECT_EQ(nodes.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(contains(nodes.status().message(), "expected bulk string reply, got integer"))
      << nodes.status().message();
}

TEST(SplitAddress, AcceptsHostPortAndIpv6AndRejectsTheRest) {
  auto v4 = redis::splitAddress("127.0.0.1:7000");
  ASSERT_TRUE(v4.isOk());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 7000);
  auto v6 = redis::splitAddress("::1:7001");
  ASSERT_TRUE(v6.isOk());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 7001);
  auto bracketed = redis::splitAddress("[fe80::1]:6379");
  ASSERT_TRUE(bracketed.isOk());
  EXPECT_EQ(bracketed->first, "fe80::1");
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", ":7000", "host:port", "host:0", "host:65536", "host:70x"}) {
    auto parsed = redis::splitAddress(bad);
    EXPECT_FALSE(parsed.isOk()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace slotkeeper::test
