// The slot mover against FakeRedisCluster: keys and ownership move together, busy keys are
// judged by value, a stop request is honoured between waves, and a move broken by a failed
// MIGRATE leaves open slots that the next convergence settles without losing a key.
#include "engine/slot_mover.h"

#include <gtest/gtest.h>

#include <set>

#include "redis/key_slot.h"
#include "unit/support/engine_harness.h"

namespace slotkeeper::test {
namespace {

using redis::NodeClient;
using redis::Reply;

// Three masters formed directly, `keys` keys loaded, and one client per master.
struct MoverFixture {
  explicit MoverFixture(int keys, FakeRedisCluster::Options options = {}) : h(options) {
    nodes = h.cluster.addNodes(3);
    h.cluster.formCluster(nodes);
    data = makeDataset(keys);
    h.load(data);
    for (const auto& address : nodes) {
      auto client = h.cluster.connect(address);
      EXPECT_TRUE(client.isOk());
      clients.push_back(std::move(client).value());
    }
  }
  engine::MoveNode moveNode(int i) {
    return {clients[static_cast<size_t>(i)].get(), h.cluster.idOf(nodes[static_cast<size_t>(i)])};
  }
  // Loads `count` keys that share one slot of the first master (slot < 100); returns the slot.
  int crowdOneSlot(int count) {
    std::string tag;
    for (int i = 0; tag.empty() || redis::keyHashSlot(tag) > 99; ++i) {
      tag = "{t" + std::to_string(i) + "}";
    }
    std::map<std::string, std::string> crowd;
    for (int i = 0; i < count; ++i) crowd[tag + std::to_string(i)] = "c" + std::to_string(i);
    h.load(crowd);
    data.insert(crowd.begin(), crowd.end());
    return redis::keyHashSlot(tag);
  }
  std::vector<std::string> keysInSlots(int first, int last) const {
    std::vector<std::string> out;
    for (const auto& [key, value] : data) {
      int slot = redis::keyHashSlot(key);
      if (slot >= first && slot <= last) out.push_back(key);
    }
    return out;
  }

  EngineHarness h;
  std::vector<std::string> nodes;
  std::map<std::string, std::string> data;
  std::vector<std::unique_ptr<NodeClient>> clients;
};

std::vector<int> slotRange(int first, int last) {
  std::vector<int> out;
  for (int s = first; s <= last; ++s) out.push_back(s);
  return out;
}

// After a failover, the node a settle still reads as a master may be a replica: Redis closed
// its open slots when it was demoted, so its "SETSLOT only with masters" counts as cleared, while
// any other refusal still stops the settle.
TEST(SlotMover, ClearingMarkersOnANodeDemotedMeanwhileCountsAsDone) {
  EngineHarness h;
  auto nodes = h.cluster.addNodes(4);
  h.cluster.formCluster({nodes[0], nodes[1], nodes[2]}, {{nodes[3], nodes[0]}});
  auto master = h.cluster.connect(nodes[1]);
  auto replica = h.cluster.connect(nodes[3]);
  ASSERT_TRUE(master.isOk() && replica.isOk());
  const int slot = 0;  // nodes[0]'s
  ASSERT_TRUE((*master)->clusterSetSlotImporting(slot, h.cluster.idOf(nodes[0])).isOk());
  ASSERT_FALSE(h.cluster.importingSlots(nodes[1]).empty());

  EXPECT_TRUE(engine::clearSlotMarkers(**master, {slot}).isOk());
  EXPECT_TRUE(h.cluster.importingSlots(nodes[1]).empty());
  Status on_replica = engine::clearSlotMarkers(**replica, {slot});
  EXPECT_TRUE(on_replica.isOk()) << on_replica.toString();
  EXPECT_FALSE(engine::clearSlotMarkers(**master, {16384}).isOk()) << "a bad slot still fails";
}

// The config epoch a node holds, from its CLUSTER INFO.
int64_t myEpoch(NodeClient& node) {
  auto info = node.clusterInfo();
  EXPECT_TRUE(info.isOk());
  return info.isOk() ? info->my_epoch : -1;
}

// The source's epoch was bumped (a settle, a failover) and the target has not heard of it yet.
// Claiming at once would give the target no newer an epoch than the source's, whose next ping
// could then win the slots back and make the target drop their keys. The target first waits for
// gossip, then claims with a newer epoch.
TEST(SlotMover, TheNewOwnerClaimsOnlyWithAnEpochNewerThanTheSources) {
  MoverFixture f(2000, {.auto_propagate = false});
  ASSERT_TRUE(f.clients[0]->command({"CLUSTER", "BUMPEPOCH"}).isOk());
  const int64_t source_epoch = myEpoch(*f.clients[0]);
  int gossip_rounds = 0;
  f.h.clock.setSleepHook([&](Clock::Duration) {
    ++gossip_rounds;
    f.h.cluster.propagate();
  });
  engine::MoveOptions options;
  options.clock = &f.h.clock;
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, slotRange(0, 99),
                               options, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_GT(gossip_rounds, 0) << "the target claimed before hearing of the source's epoch";
  EXPECT_GT(myEpoch(*f.clients[1]), source_epoch);
  f.h.cluster.propagate();
  for (int slot = 0; slot < 100; ++slot) {
    EXPECT_EQ(f.h.cluster.ownerOf(slot), f.h.cluster.idOf(f.nodes[1])) << slot;
  }
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
}

// Gossip never brings the source's epoch: the target does not claim, and the wave stays open for
// the next pass to settle.
TEST(SlotMover, ATargetThatNeverHearsTheNewestEpochDoesNotClaim) {
  MoverFixture f(2000, {.auto_propagate = false});
  f.h.clock.setSleepHook(nullptr);  // time passes, gossip does not
  ASSERT_TRUE(f.clients[0]->command({"CLUSTER", "BUMPEPOCH"}).isOk());
  engine::MoveOptions options;
  options.clock = &f.h.clock;
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, slotRange(0, 99),
                               options, &counters);
  ASSERT_EQ(s.code(), StatusCode::kUnavailable) << s.toString();
  EXPECT_NE(s.message().find("has not heard of config epoch"), std::string::npos) << s.toString();
  EXPECT_EQ(f.h.cluster.ownerInViewOf(f.nodes[1], 0), f.h.cluster.idOf(f.nodes[0]));
  EXPECT_FALSE(f.h.cluster.importingSlots(f.nodes[1]).empty()) << "the wave stays open";
}

TEST(SlotMover, MovesKeysAndOwnershipInWavesAndBatches) {
  MoverFixture f(3000);
  const auto moving = f.keysInSlots(0, 299);
  ASSERT_GT(moving.size(), 20u);
  engine::MoveOptions options;
  options.batch_keys = 3;           // several MIGRATE rounds per slot
  options.slots_per_wave = 128;     // three waves
  options.slots_per_pipeline = 16;  // many round trips per wave
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()},
                               slotRange(0, 299), options, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();

  EXPECT_EQ(counters.slots_moved, 300);
  EXPECT_EQ(counters.keys_moved, static_cast<int64_t>(moving.size()));
  const std::string b_id = f.h.cluster.idOf(f.nodes[1]);
  for (int slot = 0; slot < 300; ++slot) {
    for (const auto& address : f.nodes) {
      ASSERT_EQ(f.h.cluster.ownerInViewOf(address, slot), b_id) << address << " slot " << slot;
    }
  }
  const auto on_b = f.h.cluster.keysOf(f.nodes[1]);
  for (const auto& key : moving) EXPECT_EQ(on_b.count(key), 1u) << key;
  EXPECT_TRUE(f.h.cluster.migratingSlots(f.nodes[0]).empty());
  EXPECT_TRUE(f.h.cluster.importingSlots(f.nodes[1]).empty());
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
  EXPECT_EQ(f.h.cluster.slotsOf(f.nodes[0]).count(), 5462 - 300);
  // Each wave opened its slots in one round trip per side.
  EXPECT_EQ(f.h.cluster.commandCount({"CLUSTER", "SETSLOT"}, f.nodes[1]), 300 + 300);
}

TEST(SlotMover, AssignsTheNewOwnerToTheOwnerFirstThenTheSourceThenTheOthers) {
  MoverFixture f(0);
  engine::MoveCounters counters;
  Status s =
      engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, {42}, {}, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  std::vector<std::string> node_assignments;
  for (const auto& line : f.h.cluster.commandLog()) {
    if (line.find("SETSLOT 42 NODE") != std::string::npos) {
      node_assignments.push_back(line.substr(0, line.find(' ')));
    }
  }
  EXPECT_EQ(node_assignments, (std::vector<std::string>{f.nodes[1], f.nodes[0], f.nodes[2]}));
}

// A key of `slot` named "<prefix><n>".
std::string keyIn(int slot, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string key = prefix + std::to_string(i);
    if (redis::keyHashSlot(key) == slot) return key;
  }
}

// A move finds the source's key already on the destination with another value (a transfer
// whose reply was lost, then a client wrote the key on the source, which kept serving it): the
// source's copy wins, as it would in the settle of the same slot, and the conflict is counted.
TEST(SlotMover, ABusyKeyWithADifferentValueTakesTheSourcesCopyAndIsCounted) {
  MoverFixture f(0);
  const int slot = 78;
  const std::string key = keyIn(slot, "clash");
  f.h.cluster.putKey(f.nodes[0], key, "source");
  f.h.cluster.putKey(f.nodes[1], key, "destination");
  engine::MoveCounters counters;
  Status s =
      engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, {slot}, {}, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[1]).at(key), "source");
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[0]).count(key), 0u);
  EXPECT_EQ(counters.key_conflicts, 1);
  EXPECT_EQ(f.h.cluster.ownerOf(slot), f.h.cluster.idOf(f.nodes[1]));
}

// Rolling a move back replaces only identical copies: a difference stops it with both kept.
TEST(SlotMover, RollingBackAKeyWithADifferentValueStopsAndKeepsBothCopies) {
  MoverFixture f(0);
  const int slot = 78;
  const std::string key = keyIn(slot, "clash");
  f.h.cluster.putKey(f.nodes[0], key, "source");
  f.h.cluster.putKey(f.nodes[1], key, "destination");
  ASSERT_TRUE(f.clients[1]->clusterSetSlotImporting(slot, f.h.cluster.idOf(f.nodes[0])).isOk());
  ASSERT_TRUE(f.clients[0]->clusterSetSlotMigrating(slot, f.h.cluster.idOf(f.nodes[1])).isOk());
  engine::MoveCounters counters;
  Status s = engine::migrateSlotKeys(*f.clients[0], *f.clients[1], {slot}, {},
                                     engine::BusyKeyPolicy::kReplaceIfEqual, &counters);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.toString();
  EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[0]).at(key), "source");
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[1]).at(key), "destination");
}

// Redis reports a busy key from MIGRATE wrapped in its own error ("ERR Target instance replied
// with error: BUSYKEY ..."); the fake answers the same way.

TEST(SlotMover, ABusyKeyWithTheSameValueIsReplacedAndTheMoveCompletes) {
  MoverFixture f(0);
  const int slot = 77;
  const std::string same = keyIn(slot, "busy");
  const std::string fresh = keyIn(slot, "fresh");
  f.h.cluster.putKey(f.nodes[0], same, "same");
  f.h.cluster.putKey(f.nodes[1], same, "same");  // a copy an interrupted move left behind
  f.h.cluster.putKey(f.nodes[0], fresh, "new");

  engine::MoveCounters counters;
  Status s =
      engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, {slot}, {}, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[1]),
            (std::map<std::string, std::string>{{same, "same"}, {fresh, "new"}}));
  EXPECT_EQ(f.h.cluster.keyCount(f.nodes[0]), 0);
  EXPECT_EQ(f.h.cluster.ownerOf(slot), f.h.cluster.idOf(f.nodes[1]));
}

TEST(SlotMover, RepairingForwardTheSourcesCopyWins) {
  MoverFixture f(0);
  const int slot = 78;
  const std::string key = keyIn(slot, "clash");
  f.h.cluster.putKey(f.nodes[0], key, "source");
  f.h.cluster.putKey(f.nodes[1], key, "destination");
  auto b = f.clients[1].get();
  ASSERT_TRUE(b->clusterSetSlotImporting(slot, f.h.cluster.idOf(f.nodes[0])).isOk());
  ASSERT_TRUE(f.clients[0]->clusterSetSlotMigrating(slot, f.h.cluster.idOf(f.nodes[1])).isOk());
  engine::MoveCounters counters;
  Status s = engine::migrateSlotKeys(*f.clients[0], *b, {slot}, {},
                                     engine::BusyKeyPolicy::kHolderWins, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[1]).at(key), "source");
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[0]).count(key), 0u);
  EXPECT_EQ(counters.key_conflicts, 1);
}

TEST(SlotMover, ConvergeSettlesAnOpenSlotWhoseKeyIsOnBothSides) {
  // What a MIGRATE that timed out after the destination restored the key leaves behind: the
  // slot open on both sides and the key on both (the IOERR case of the MIGRATE documentation).
  MoverFixture f(600);
  const int slot = 90;
  const std::string key = keyIn(slot, "twice");
  f.h.cluster.putKey(f.nodes[0], key, "v");
  f.data[key] = "v";
  ASSERT_TRUE(f.clients[1]->clusterSetSlotImporting(slot, f.h.cluster.idOf(f.nodes[0])).isOk());
  ASSERT_TRUE(f.clients[0]->clusterSetSlotMigrating(slot, f.h.cluster.idOf(f.nodes[1])).isOk());
  f.h.cluster.putKey(f.nodes[1], key, "v");

  auto report = f.h.converge(shapeOf(f.nodes, 3, 0));
  ASSERT_TRUE(report.isOk()) << report.status().toString();
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
  EXPECT_TRUE(agreeAndServe(f.h.cluster, f.nodes));
}

TEST(SlotMover, StopsBetweenWavesLeavingNoSlotOpen) {
  MoverFixture f(2000);
  engine::MoveOptions options;
  options.slots_per_wave = 100;
  engine::MoveCounters counters;
  int waves = 0;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()},
                               slotRange(0, 299), options, &counters, [&] { return ++waves > 1; });
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.toString();
  EXPECT_EQ(counters.slots_moved, 100);
  EXPECT_EQ(f.h.cluster.slotsOf(f.nodes[1]).count(), 5461 + 100);
  EXPECT_EQ(f.h.cluster.ownerOf(100), f.h.cluster.idOf(f.nodes[0]));
  EXPECT_TRUE(f.h.cluster.migratingSlots(f.nodes[0]).empty());
  EXPECT_TRUE(f.h.cluster.importingSlots(f.nodes[1]).empty());
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
}

TEST(SlotMover, AFailedMigrateLeavesOpenSlotsThatConvergeSettles) {
  MoverFixture f(3000);
  engine::MoveOptions options;
  options.batch_keys = 5;
  options.slots_per_pipeline = 8;
  // The fourth MIGRATE fails as if the destination had run out of memory.
  f.h.cluster.addFault(
      {.address = f.nodes[0],
       .words = {"MIGRATE"},
       .skip = 3,
       .times = 1,
       .fault = {Reply::error("ERR Target instance replied with error: OOM command not allowed"),
                 false}});
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()},
                               slotRange(0, 199), options, &counters);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("OOM"), std::string::npos) << s.toString();
  EXPECT_EQ(f.h.cluster.faultsInjected(), 1);

  // The wave is open on both sides and its keys are split between them; none is lost.
  EXPECT_EQ(f.h.cluster.migratingSlots(f.nodes[0]).size(), 200u);
  EXPECT_EQ(f.h.cluster.importingSlots(f.nodes[1]).size(), 200u);
  const auto moved_so_far = f.h.cluster.keysOf(f.nodes[1]);
  const auto moving = f.keysInSlots(0, 199);
  EXPECT_FALSE(moved_so_far.empty());
  EXPECT_LT(f.h.cluster.keyCount(f.nodes[0]), 5462);
  const auto holders = f.h.cluster.keyHolders();
  for (const auto& [key, value] : f.data) {
    ASSERT_EQ(holders.count(key), 1u) << key << " was lost";
    EXPECT_EQ(holders.at(key).size(), 1u) << key;
  }

  // A fresh convergence to the same three masters settles every open slot.
  f.h.cluster.clearFaults();
  auto report = f.h.converge(shapeOf(f.nodes, 3, 0));
  ASSERT_TRUE(report.isOk()) << report.status().toString();
  for (const auto& address : f.nodes) {
    EXPECT_TRUE(f.h.cluster.migratingSlots(address).empty()) << address;
    EXPECT_TRUE(f.h.cluster.importingSlots(address).empty()) << address;
  }
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
  EXPECT_TRUE(agreeAndServe(f.h.cluster, f.nodes));
  EXPECT_EQ(sortedSlotCounts(f.h.cluster), (std::vector<int>{5461, 5461, 5462}));
}

TEST(SlotMover, AFaultMidRebalanceIsRepairedByTheNextConverge) {
  // 3 -> 4 masters; the 20th MIGRATE anywhere fails, which stops the whole run with slots open.
  EngineHarness h;
  auto nodes = h.cluster.addNodes(4);
  h.cluster.formCluster({nodes[0], nodes[1], nodes[2]});
  const auto data = makeDataset(2000);
  h.load(data);
  h.cluster.addFault(
      {.address = "",
       .words = {"MIGRATE"},
       .skip = 19,
       .times = 1,
       .fault = {Reply::error("ERR Target instance replied with error: LOADING"), false}});
  auto options = fakeConvergeOptions();
  options.executor.move.batch_keys = 10;
  auto first = h.converge(shapeOf(nodes, 4, 0), options);
  ASSERT_FALSE(first.isOk());
  EXPECT_EQ(h.cluster.faultsInjected(), 1);
  int open = 0;
  for (const auto& address : nodes) {
    open += static_cast<int>(h.cluster.migratingSlots(address).size() +
                             h.cluster.importingSlots(address).size());
  }
  EXPECT_GT(open, 0) << "the failed run should have left slots open";
  const auto holders = h.cluster.keyHolders();
  EXPECT_EQ(holders.size(), data.size());

  auto second = h.converge(shapeOf(nodes, 4, 0), options);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(sortedSlotCounts(h.cluster), (std::vector<int>{4096, 4096, 4096, 4096}));
  EXPECT_TRUE(holdsExactly(h.cluster, data));
  EXPECT_TRUE(agreeAndServe(h.cluster, nodes));
}

TEST(SlotMover, AConnectionDroppedMidMoveIsRepairedByTheNextConverge) {
  EngineHarness h;
  auto nodes = h.cluster.addNodes(4);
  h.cluster.formCluster({nodes[0], nodes[1], nodes[2]});
  const auto data = makeDataset(2000);
  h.load(data);
  // The first source's connection breaks when it is told the new owner: the target already
  // owns the wave, the source still has it MIGRATING, the other masters were not told.
  const std::string source = nodes[0];
  h.cluster.setCommandHook([source](const std::string& address, const redis::Command& cmd) {
    std::optional<CommandFault> fault;
    if (address == source && cmd.size() == 5 && cmd[1] == "SETSLOT" && cmd[3] == "NODE") {
      fault = CommandFault{Reply{}, true};
    }
    return fault;
  });
  auto options = fakeConvergeOptions();
  options.executor.max_parallel_moves = 1;
  auto first = h.converge(shapeOf(nodes, 4, 0), options);
  ASSERT_FALSE(first.isOk());
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable) << first.status().toString();
  h.cluster.clearFaults();
  EXPECT_EQ(h.cluster.keyHolders().size(), data.size());
  EXPECT_FALSE(h.cluster.migratingSlots(source).empty());

  auto second = h.converge(shapeOf(nodes, 4, 0), options);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(sortedSlotCounts(h.cluster), (std::vector<int>{4096, 4096, 4096, 4096}));
  EXPECT_TRUE(holdsExactly(h.cluster, data));
  EXPECT_TRUE(agreeAndServe(h.cluster, nodes));
}

// MIGRATE times out (IOERR) on big batches: the slot's batch is halved until it fits, and the
// move completes.
// Small batches bound how long one MIGRATE keeps the source busy; the slot's keys are still
// listed once, not again before each batch.
TEST(SlotMover, ASlotIsListedOnceAndItsKeysSentInBatchSizedMigrates) {
  MoverFixture f(0);
  const int slot = f.crowdOneSlot(40);
  engine::MoveOptions options;
  options.batch_keys = 8;
  std::vector<size_t> batch_sizes;
  f.h.cluster.setCommandHook(
      [&](const std::string&, const redis::Command& cmd) -> std::optional<CommandFault> {
        // MIGRATE host port "" 0 timeout KEYS k1 k2 ...
        if (!cmd.empty() && cmd[0] == "MIGRATE") batch_sizes.push_back(cmd.size() - 7);
        return std::nullopt;
      });
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, {slot}, options,
                               &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();

  EXPECT_EQ(f.h.cluster.commandCount({"CLUSTER", "GETKEYSINSLOT"}, f.nodes[0]), 1);
  EXPECT_EQ(batch_sizes, std::vector<size_t>(5, 8));
  EXPECT_EQ(counters.keys_moved, 40);
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[0]).size(), 0u);
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
}

// MIGRATEs one slot per round trip still have keys listed for many slots at once: every slot of
// a small wave is listed before its first MIGRATE, and each MIGRATE carries one slot's keys.
TEST(SlotMover, KeysAreListedForSeveralSlotsAheadOfOneSlotPerRoundTrip) {
  MoverFixture f(20000);
  engine::MoveOptions options;
  options.slots_per_pipeline = 1;
  std::vector<std::string> sequence;
  f.h.cluster.setCommandHook(
      [&](const std::string&, const redis::Command& cmd) -> std::optional<CommandFault> {
        if (cmd.size() > 1 && cmd[1] == "GETKEYSINSLOT") sequence.push_back("list " + cmd[2]);
        if (!cmd.empty() && cmd[0] == "MIGRATE") {
          std::set<int> slots;
          for (size_t i = 7; i < cmd.size(); ++i) slots.insert(redis::keyHashSlot(cmd[i]));
          sequence.push_back("migrate " + std::to_string(slots.size()));
        }
        return std::nullopt;
      });
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, slotRange(0, 15),
                               options, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();

  const auto moving = f.keysInSlots(0, 15);
  ASSERT_GT(moving.size(), 0u);
  EXPECT_EQ(counters.keys_moved, static_cast<int64_t>(moving.size()));
  ASSERT_GE(sequence.size(), 17u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(sequence[static_cast<size_t>(i)].rfind("list ", 0), 0u);
  for (size_t i = 16; i < sequence.size(); ++i) EXPECT_EQ(sequence[i], "migrate 1");
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
}

TEST(SlotMover, TimeoutsShrinkTheBatchUntilTheKeysMove) {
  MoverFixture f(3000);
  // Forty keys in one slot of the first master, so batches are big.
  f.crowdOneSlot(40);
  engine::MoveOptions options;
  options.batch_keys = 8;
  int refused = 0;
  f.h.cluster.setCommandHook(
      [&](const std::string&, const redis::Command& cmd) -> std::optional<CommandFault> {
        // MIGRATE host port "" 0 timeout KEYS k1 k2 ...: more than two keys take too long.
        if (cmd.empty() || cmd[0] != "MIGRATE" || cmd.size() <= 7 + 2) return std::nullopt;
        ++refused;
        return CommandFault{Reply::error("IOERR error or timeout reading to target instance")};
      });
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, slotRange(0, 99),
                               options, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_GT(refused, 0);
  EXPECT_EQ(counters.slots_moved, 100);
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
}

// MIGRATE blocks the source while it waits for the target: no MIGRATE, not even a lone key's
// longer retry, waits longer than the cap (half the cluster's node timeout in the operator).
TEST(SlotMover, NoMigrateWaitsLongerThanTheCap) {
  MoverFixture f(3000);
  const auto moving = f.keysInSlots(0, 99);
  ASSERT_FALSE(moving.empty());
  engine::MoveOptions options;
  options.migrate_timeout = std::chrono::seconds(60);
  options.migrate_timeout_cap = std::chrono::milliseconds(2500);
  std::vector<long> timeouts;
  bool refused_once = false;
  f.h.cluster.setCommandHook(
      [&](const std::string&, const redis::Command& cmd) -> std::optional<CommandFault> {
        if (cmd.empty() || cmd[0] != "MIGRATE") return std::nullopt;
        timeouts.push_back(std::stol(cmd[5]));  // MIGRATE host port "" 0 timeout ...
        if (refused_once || cmd.size() > 8) return std::nullopt;  // one key alone: time out once
        refused_once = true;
        return CommandFault{Reply::error("IOERR error or timeout reading to target instance")};
      });
  options.batch_keys = 1;
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, slotRange(0, 99),
                               options, &counters);
  ASSERT_TRUE(s.isOk()) << s.toString();
  ASSERT_TRUE(refused_once);
  ASSERT_FALSE(timeouts.empty());
  for (long t : timeouts) EXPECT_EQ(t, 2500);
  EXPECT_TRUE(holdsExactly(f.h.cluster, f.data));
}

// A key that cannot be sent even alone with the longer timeout stops the move, named.
TEST(SlotMover, AKeyThatNeverMovesStopsTheMoveNamingIt) {
  MoverFixture f(3000);
  const auto moving = f.keysInSlots(0, 99);
  ASSERT_FALSE(moving.empty());
  const std::string big = moving.front();
  f.h.cluster.setCommandHook(
      [&](const std::string&, const redis::Command& cmd) -> std::optional<CommandFault> {
        if (cmd.empty() || cmd[0] != "MIGRATE") return std::nullopt;
        if (std::find(cmd.begin(), cmd.end(), big) == cmd.end()) return std::nullopt;
        return CommandFault{Reply::error("IOERR error or timeout reading to target instance")};
      });
  engine::MoveCounters counters;
  Status s = engine::moveSlots(f.moveNode(0), f.moveNode(1), {f.clients[2].get()}, slotRange(0, 99),
                               {}, &counters);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'" + big + "'"), std::string::npos) << s.toString();
  EXPECT_NE(s.message().find("timeoutSeconds"), std::string::npos) << s.toString();
  // Nothing is lost: the key is still on the source, every other key on one side.
  const auto holders = f.h.cluster.keyHolders();
  for (const auto& [key, value] : f.data) ASSERT_EQ(holders.count(key), 1u) << key;
  EXPECT_EQ(f.h.cluster.keysOf(f.nodes[0]).count(big), 1u);
}

}  // namespace
}  // namespace slotkeeper::test
