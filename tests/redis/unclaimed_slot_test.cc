// A slot that no node claims in its own view while other views still name an owner: what a
// failover racing a slot move can leave behind (Redis never clears a stale owner by gossip). The
// engine must give the slot to the master that holds its keys, on real redis-server processes.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "engine/converge.h"
#include "engine/observer.h"
#include "redis/hiredis_client.h"
#include "redis/support/cluster_data.h"
#include "redis/support/redis_fixture.h"

namespace slotkeeper::test {
namespace {

topology::DesiredShape threeMasters(const RedisServers& servers) {
  topology::DesiredShape shape{3, 0, {}};
  for (int i = 0; i < 3; ++i) shape.nodes.push_back({servers.address(i), "", -1});
  return shape;
}

Status converge(redis::NodeConnector& connector, const topology::DesiredShape& shape) {
  RealClock clock;
  engine::ConvergeOptions options;
  options.executor.agreement.timeout = std::chrono::seconds(20);
  auto report = engine::converge(connector, clock, shape, options);
  return report.isOk() ? Status::ok() : report.status();
}

// The owner of `slot` in the CLUSTER NODES of `client` ("" when unassigned there).
std::string ownerIn(redis::NodeClient& client, int slot) {
  auto entries = client.clusterNodes();
  if (!entries.isOk()) return "<" + entries.status().toString() + ">";
  return engine::slotOwnersFrom(*entries)[static_cast<size_t>(slot)];
}

// The slot of `client`'s own that holds the most keys.
Result<int> fullestOwnSlot(redis::NodeClient& client) {
  ASSIGN_OR_RETURN(auto entries, client.clusterNodes());
  std::vector<int> own;
  for (const auto& e : entries) {
    if (!e.myself) continue;
    for (const auto& r : e.slots) {
      for (int s = r.first; s <= r.last; ++s) own.push_back(s);
    }
  }
  ASSIGN_OR_RETURN(auto counts, client.clusterCountKeysInSlots(own));
  size_t best = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > counts[best]) best = i;
  }
  return own[best];
}

TEST(UnclaimedSlot, GoesToTheMasterHoldingItsKeysThoughItsOwnViewNamesAnotherOwner) {
  RedisServers servers({.count = 3});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::HiredisConnector connector(servers.connectOptions());
  const topology::DesiredShape shape = threeMasters(servers);
  Status formed = converge(connector, shape);
  ASSERT_TRUE(formed.isOk()) << formed.toString();
  const Dataset data = makeDataset(20000, 0);
  ASSERT_TRUE(loadDataset(connector, servers.address(0), data).isOk());

  auto holder = servers.client(0);
  auto other = servers.client(1);
  ASSERT_TRUE(holder.isOk() && other.isOk());
  auto holder_id = (*holder)->command({"CLUSTER", "MYID"});
  auto other_id = (*other)->command({"CLUSTER", "MYID"});
  ASSERT_TRUE(holder_id.isOk() && other_id.isOk());
  auto slot = fullestOwnSlot(**holder);
  ASSERT_TRUE(slot.isOk()) << slot.status().toString();
  auto keys_before = (*holder)->clusterCountKeysInSlots({*slot});
  ASSERT_TRUE(keys_before.isOk());
  ASSERT_GT(keys_before->front(), 0);

  // The holder stops claiming the slot and names node 1 as its owner, keeping the keys; node 1
  // and node 2 still name the holder. Nobody claims the slot, and gossip never repairs that.
  const std::string s = std::to_string(*slot);
  ASSERT_TRUE((*holder)->command({"CLUSTER", "DELSLOTS", s}).isOk());
  ASSERT_TRUE((*holder)->command({"CLUSTER", "SETSLOT", s, "NODE", other_id->str}).isOk());
  EXPECT_EQ(ownerIn(**holder, *slot), other_id->str);
  EXPECT_EQ(ownerIn(**other, *slot), holder_id->str);

  Status repaired = converge(connector, shape);
  ASSERT_TRUE(repaired.isOk()) << repaired.toString();

  // Every node names the holder, which claims the slot itself and still has every key.
  for (int i = 0; i < 3; ++i) {
    auto c = servers.client(i);
    ASSERT_TRUE(c.isOk());
    bool agreed =
        waitUntil([&] { return ownerIn(**c, *slot) == holder_id->str; }, std::chrono::seconds(10));
    EXPECT_TRUE(agreed) << servers.address(i) << " names " << ownerIn(**c, *slot);
  }
  auto keys_after = (*holder)->clusterCountKeysInSlots({*slot});
  ASSERT_TRUE(keys_after.isOk());
  EXPECT_EQ(keys_after->front(), keys_before->front());
  auto verified = verifyDataset(connector, servers.address(0), data);
  ASSERT_TRUE(verified.isOk()) << verified.status().toString();
  EXPECT_TRUE(verified->allPresent()) << verified->missing << " missing";
  int code = -1;
  std::string check = runCommand("redis-cli --cluster check " + servers.address(0), &code);
  EXPECT_EQ(code, 0) << check;
  EXPECT_NE(check.find("[OK] All 16384 slots covered."), std::string::npos) << check;
}

// The same slot held by keys on two masters: neither copy is known to be current, so the engine
// refuses by name and changes nothing.
TEST(UnclaimedSlot, WithKeysOnTwoMastersIsRefusedAndLeftAlone) {
  RedisServers servers({.count = 3});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::HiredisConnector connector(servers.connectOptions());
  const topology::DesiredShape shape = threeMasters(servers);
  ASSERT_TRUE(converge(connector, shape).isOk());
  const Dataset data = makeDataset(5000, 0);
  ASSERT_TRUE(loadDataset(connector, servers.address(0), data).isOk());

  auto holder = servers.client(0);
  auto other = servers.client(1);
  ASSERT_TRUE(holder.isOk() && other.isOk());
  auto holder_id = (*holder)->command({"CLUSTER", "MYID"});
  ASSERT_TRUE(holder_id.isOk());
  auto slot = fullestOwnSlot(**holder);
  ASSERT_TRUE(slot.isOk());
  const std::string s = std::to_string(*slot);
  ASSERT_TRUE((*holder)->command({"CLUSTER", "DELSLOTS", s}).isOk());
  // A second copy on node 1, written there while it imports the slot.
  auto keys = (*holder)->command({"CLUSTER", "GETKEYSINSLOT", s, "1"});
  ASSERT_TRUE(keys.isOk() && !keys->elements.empty());
  const std::string key = keys->elements.front().str;
  ASSERT_TRUE((*other)->command({"CLUSTER", "SETSLOT", s, "IMPORTING", holder_id->str}).isOk());
  auto written = (*other)->pipeline({{"ASKING"}, {"SET", key, "second copy"}});
  ASSERT_TRUE(written.isOk() && written->size() == 2 && !(*written)[1].isError());
  ASSERT_TRUE((*other)->command({"CLUSTER", "SETSLOT", s, "STABLE"}).isOk());

  Status refused = converge(connector, shape);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.message().find("slot " + s + " is claimed by no node"), std::string::npos)
      << refused.toString();
  EXPECT_EQ(ownerIn(**holder, *slot), "") << "nothing was assigned";
  auto mine = (*holder)->clusterNodes();
  ASSERT_TRUE(mine.isOk());
  for (const auto& e : *mine) {
    if (!e.myself) continue;
    EXPECT_FALSE(SlotSet::fromRanges(e.slots).contains(*slot));
  }
  auto second = (*other)->command({"CLUSTER", "COUNTKEYSINSLOT", s});
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(second->integer, 1);
}

}  // namespace
}  // namespace slotkeeper::test
