// Bounded and fenced reconcile passes, end to end on the local control plane: a migrating
// cluster does not hold the only worker, and a leader frozen mid-migration writes nothing more
// to Redis once a standby has taken its Lease. Outcomes are read back from the Redis nodes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "e2e/support/cluster_reads.h"
#include "e2e/support/control_plane.h"
#include "e2e/support/operator_env.h"

namespace slotkeeper::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Every round of MIGRATEs (one per slot wave here: the clusters send a wave's 128 slots in one
// round trip) takes this long more, so a 3 -> 4 rebalance of a small keyspace lasts a minute or
// more: long enough to act while it runs, whatever the machine, while each slice still ends
// after one or two waves.
constexpr const char* kSlowMigration = "move.keys-batch=delay:";

std::string clusterYaml(const std::string& name, int masters) {
  return "apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: " +
         name + "\nspec:\n  masters: " + std::to_string(masters) +
         "\n  replicasPerMaster: 0\n  migration:\n    batchKeys: 1000\n    slotsPerRoundTrip: "
         "128\n";
}

bool hasStatefulSets(OperatorEnv& env, const std::string& cluster) {
  auto list = env.getJson("statefulsets -l redis.slotkeeper.io/cluster=" + cluster);
  return list.isOk() && !(*list)["items"].empty();
}

TEST(OperatorSlices, ASecondClusterIsServedAndBecomesReadyWhileTheFirstMigrates) {
  SK_REQUIRE_CONTROL_PLANE();
  ScopedEnv slow("SLOTKEEPER_FAILPOINT", std::string(kSlowMigration) + "6000");
  OperatorEnv env;
  env.setOperatorArgs({"--workers", "1"});
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("first", 3)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("first"); }, 180s)) << env.operatorLog();
  const int64_t keys = loadKeys(env, "first");
  ASSERT_GE(keys, 20000);

  ASSERT_EQ(env.kubectl("scale rediscluster/first --replicas=4").exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return slotsMoved(env, "first") > 0; }, 180s))
      << "the migration never started" << env.operatorLog();
  ASSERT_EQ(env.apply(clusterYaml("second", 3)).exit_code, 0);

  // With one worker, the second cluster gets passes between the first one's slices.
  bool served_during_migration = env.waitFor(
      [&] { return hasStatefulSets(env, "second") && operation(env, "first").is_object(); }, 60s);
  EXPECT_TRUE(served_during_migration)
      << "the second cluster got no pass while the first migrated" << env.operatorLog();
  bool second_ready_first = false;
  ASSERT_TRUE(env.waitFor(
      [&] {
        if (env.clusterReady("second")) {
          second_ready_first = operation(env, "first").is_object();
          return true;
        }
        return false;
      },
      240s))
      << env.kubectl("get rediscluster second -o yaml").output << env.operatorLog();
  EXPECT_TRUE(second_ready_first) << "the second cluster became Ready only after the migration";

  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("first"); }, 400s)) << env.operatorLog();
  EXPECT_EQ(masterIps(env, "first").size(), 4u);
  EXPECT_EQ(openSlots(env, "first"), 0);
  EXPECT_EQ(countKeys(env, "first"), keys) << "no key lost or duplicated";
  CommandResult check =
      runShell("redis-cli --cluster check " + masterIps(env, "first")[0] + ":6379");
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

// The Lease holder's process id: identities are "<host>-<pid>_<random>" outside a pod.
pid_t pidOfIdentity(const std::string& identity) {
  auto underscore = identity.rfind('_');
  auto dash = identity.rfind('-', underscore);
  if (underscore == std::string::npos || dash == std::string::npos) return 0;
  return static_cast<pid_t>(std::atoi(identity.substr(dash + 1, underscore - dash - 1).c_str()));
}

std::string leaseHolder(OperatorEnv& env) {
  return env.kubectl("get lease slotkeeper-leader -o jsonpath='{.spec.holderIdentity}'").output;
}

std::string fieldOf(const std::string& line, const std::string& key) {
  auto at = line.find(" " + key + "=");
  if (at == std::string::npos) at = line.rfind(key + "=", 0) == 0 ? 0 : std::string::npos;
  if (at == std::string::npos) return "";
  at = line.find('=', at) + 1;
  return line.substr(at, line.find(' ', at) - at);
}

// The address of every connection named `name` on the node at `ip`, and whether all of them
// have been idle for a second at least (no command of theirs still being executed).
struct NamedConnections {
  std::set<std::string> addresses;
  bool all_idle = true;
};

NamedConnections connectionsNamed(const std::string& ip, const std::string& name) {
  NamedConnections out;
  std::istringstream list(runShell("redis-cli -h " + ip + " -p 6379 CLIENT LIST").output);
  std::string line;
  while (std::getline(list, line)) {
    if (fieldOf(line, "name") != name) continue;
    out.addresses.insert(fieldOf(line, "addr"));
    out.all_idle = out.all_idle && std::atoi(fieldOf(line, "idle").c_str()) >= 1;
  }
  return out;
}

// Lines of a MONITOR capture that are writes the operator would make, from `addresses`.
std::vector<std::string> writesFrom(const std::string& monitor_log,
                                    const std::set<std::string>& addresses) {
  static const std::vector<std::string> kWrites = {
      "\"migrate\"",   "\"MIGRATE\"",   "\"setslot\"",   "\"SETSLOT\"",
      "\"addslots",    "\"ADDSLOTS",    "\"meet\"",      "\"MEET\"",
      "\"forget\"",    "\"FORGET\"",    "\"replicate\"", "\"REPLICATE\"",
      "\"bumpepoch\"", "\"BUMPEPOCH\"", "\"reset\"",     "\"RESET\""};
  std::vector<std::string> out;
  std::istringstream in(monitor_log);
  std::string line;
  while (std::getline(in, line)) {
    bool from = false;
    for (const auto& a : addresses) from = from || line.find(" " + a + "]") != std::string::npos;
    if (!from) continue;
    for (const auto& w : kWrites) {
      if (line.find(w) != std::string::npos) {
        out.push_back(line);
        break;
      }
    }
  }
  return out;
}

TEST(OperatorSlices, AFrozenLeaderWritesNothingAfterTheStandbyTakesOverAndNoKeyIsLost) {
  SK_REQUIRE_CONTROL_PLANE();
  ScopedEnv slow("SLOTKEEPER_FAILPOINT", std::string(kSlowMigration) + "3000");
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("fenced", 3)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("fenced"); }, 180s)) << env.operatorLog();
  std::string leader = leaseHolder(env);
  ASSERT_EQ(pidOfIdentity(leader), env.operatorPid()) << leader;
  pid_t standby = env.startSecondOperator("standby.log");
  ASSERT_GT(standby, 0);
  const int64_t keys = loadKeys(env, "fenced");
  ASSERT_GE(keys, 20000);

  ASSERT_EQ(env.kubectl("scale rediscluster/fenced --replicas=4").exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return slotsMoved(env, "fenced") > 0; }, 180s))
      << env.operatorLog();
  const std::vector<std::string> masters = masterIps(env, "fenced");
  ASSERT_EQ(masters.size(), 4u);

  // Freeze the leader mid-migration and watch every master from then on.
  ASSERT_EQ(kill(env.operatorPid(), SIGSTOP), 0);
  const std::string name = "slotkeeper-" + leader;
  std::set<std::string> frozen_connections;
  // A pipeline sent just before the freeze may still be running on a node; the capture starts
  // once every connection of the frozen leader is idle.
  ASSERT_TRUE(env.waitFor(
      [&] {
        bool idle = true;
        for (const auto& ip : masters) {
          NamedConnections c = connectionsNamed(ip, name);
          frozen_connections.insert(c.addresses.begin(), c.addresses.end());
          idle = idle && c.all_idle;
        }
        return idle;
      },
      60s));
  EXPECT_FALSE(frozen_connections.empty()) << "the leader's connections carry its name";
  for (size_t i = 0; i < masters.size(); ++i) {
    env.startBackground({"redis-cli", "-h", masters[i], "-p", "6379", "MONITOR"},
                        "monitor-" + std::to_string(i) + ".log");
  }

  // The standby takes the Lease and carries the migration on.
  ASSERT_TRUE(env.waitFor([&] { return pidOfIdentity(leaseHolder(env)) == standby; }, 90s))
      << env.workFile("standby.log");
  const int64_t moved_at_takeover = slotsMoved(env, "fenced");
  ASSERT_TRUE(env.waitFor(
      [&] {
        int64_t now = slotsMoved(env, "fenced");
        return now < 0 || now > moved_at_takeover;
      },
      120s))
      << "the new leader did not resume the migration" << env.workFile("standby.log");

  // Thaw the old leader: it must notice it lost the Lease before writing anything, and exit.
  ASSERT_EQ(kill(env.operatorPid(), SIGCONT), 0);
  int status = 0;
  bool exited = env.waitFor([&] { return waitpid(env.operatorPid(), &status, WNOHANG) > 0; }, 60s);
  EXPECT_TRUE(exited) << "the old leader kept running after losing the Lease";
  std::string monitored;
  for (size_t i = 0; i < masters.size(); ++i) {
    monitored += env.workFile("monitor-" + std::to_string(i) + ".log");
  }
  EXPECT_NE(monitored.find("\"MIGRATE\""), std::string::npos)
      << "the capture saw the new leader's moves";
  auto writes = writesFrom(monitored, frozen_connections);
  EXPECT_TRUE(writes.empty()) << writes.size() << " writes from the old leader after its freeze, "
                              << "the first: " << writes.front();

  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("fenced"); }, 400s))
      << env.workFile("standby.log");
  EXPECT_EQ(masterIps(env, "fenced").size(), 4u);
  EXPECT_EQ(openSlots(env, "fenced"), 0);
  EXPECT_EQ(countKeys(env, "fenced"), keys) << "no key lost or duplicated";
}

}  // namespace
}  // namespace slotkeeper::e2e
