// A migration killed with SIGKILL at its most delicate points — slots just opened, keys half
// moved, the new owner known to only some nodes — is finished by the next run with no key lost
// and no slot left open. The kill is real: the CLI process dies at a failpoint.
#include <gtest/gtest.h>

#include <string>

#include "engine/converge.h"
#include "redis/hiredis_client.h"
#include "redis/support/cluster_data.h"
#include "redis/support/redis_fixture.h"

namespace slotkeeper::test {
namespace {

std::string nodeList(const RedisServers& servers, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += servers.address(i);
  }
  return out;
}

std::string cliApply(const RedisServers& servers, int masters, int count) {
  return std::string(SK_CLI_PATH) + " apply --masters " + std::to_string(masters) +
         " --replicas 0 --batch-keys 100 --nodes " + nodeList(servers, count);
}

int openSlotsSeenBy(redis::NodeConnector& connector, const std::string& address) {
  auto c = connector.connect(address);
  if (!c.isOk()) return -1;
  auto entries = (*c)->clusterNodes();
  if (!entries.isOk()) return -1;
  int open = 0;
  for (const auto& e : *entries) {
    if (e.myself) open += static_cast<int>(e.open_slots.size());
  }
  return open;
}

struct CrashCase {
  const char* name;
  const char* failpoint;
  bool leaves_open_slots;  // the source still shows MIGRATING markers after the kill
};

class CrashResume : public ::testing::TestWithParam<CrashCase> {};

TEST_P(CrashResume, RerunFinishesTheMigrationWithNoKeyLostAndNoOpenSlot) {
  const CrashCase& c = GetParam();
  RedisServers servers({.count = 4});
  ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
  redis::HiredisConnector connector(servers.connectOptions());
  const std::string seed = servers.address(0);

  int code = -1;
  std::string out = runCommand(cliApply(servers, 3, 3) + " 2>&1", &code);
  ASSERT_EQ(code, 0) << out;
  Dataset data = makeDataset(30000);
  ASSERT_TRUE(loadDataset(connector, seed, data).isOk());

  out = runCommand(
      "SLOTKEEPER_FAILPOINT=" + std::string(c.failpoint) + " " + cliApply(servers, 4, 4) + " 2>&1",
      &code);
  ASSERT_EQ(code, 128 + 9) << "the CLI should have died of SIGKILL at " << c.failpoint << "\n"
                           << out;
  int open_after_kill = 0;
  for (int i = 0; i < 4; ++i) open_after_kill += openSlotsSeenBy(connector, servers.address(i));
  if (c.leaves_open_slots) {
    EXPECT_GT(open_after_kill, 0) << "the kill left nothing to repair";
  }

  out = runCommand(cliApply(servers, 4, 4) + " 2>&1", &code);
  ASSERT_EQ(code, 0) << out;

  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(openSlotsSeenBy(connector, servers.address(i)), 0);
  }
  auto counts = slotCountsByMaster(connector, seed);
  ASSERT_TRUE(counts.isOk());
  for (const auto& [id, n] : *counts) {
    EXPECT_EQ(n, 4096) << id;
  }
  auto verified = verifyDataset(connector, seed, data);
  ASSERT_TRUE(verified.isOk()) << verified.status().toString();
  EXPECT_TRUE(verified->allPresent())
      << verified->missing << " missing, " << verified->wrong_value << " wrong";
  EXPECT_EQ(verified->total_keys_on_masters, 30000);
  out = runCommand("redis-cli --cluster check " + seed, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.find("[WARNING]"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(
    KillPoints, CrashResume,
    ::testing::Values(
        CrashCase{"AfterImportingAndMigratingAreSet", "move.slots-opened", true},
        CrashCase{"InTheMiddleOfKeyTransfer", "move.keys-batch:5", true},
        CrashCase{"AfterTheTargetAloneLearnedItsNewSlots", "move.owner-assigned", true},
        CrashCase{"AfterTheSourceLearnedTheNewOwner", "move.other-assigned", false},
        CrashCase{"AfterTheNewOwnersReachedOnlySomeMasters", "moves.master-told", false}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace slotkeeper::test
