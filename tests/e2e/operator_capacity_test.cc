// Scale-in into masters without room, end to end: the operator refuses before moving anything,
// says why in Degraded, and scaling back to the old size clears it; with room (a higher
// maxmemory, set live) the same scale-in goes through with every key.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "e2e/support/cluster_reads.h"
#include "e2e/support/control_plane.h"
#include "e2e/support/operator_env.h"

namespace slotkeeper::e2e {
namespace {

using namespace std::chrono_literals;

std::string clusterYaml(int masters, const std::string& maxmemory) {
  return "apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: "
         "full\nspec:\n  masters: " +
         std::to_string(masters) + "\n  replicasPerMaster: 0\n  redisConfig:\n    maxmemory: \"" +
         maxmemory + "\"\n    maxmemory-policy: noeviction\n";
}

nlohmann::json conditionOf(OperatorEnv& env, const std::string& type) {
  auto rc = env.getJson("rediscluster full");
  if (!rc.isOk()) return nullptr;
  for (const auto& c :
       rc->value("status", nlohmann::json::object()).value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return nullptr;
}

// Slots per master pod, from each master's own CLUSTER NODES line.
std::map<std::string, int> slotsPerMaster(OperatorEnv& env) {
  std::map<std::string, int> out;
  for (const auto& [pod, ip] : masterPodIps(env, "full")) {
    auto nodes = env.clusterNodesAt(ip);
    if (!nodes.isOk()) continue;
    for (const auto& n : *nodes) {
      if (!n.myself) continue;
      for (const auto& r : n.slots) out[pod] += r.last - r.first + 1;
    }
  }
  return out;
}

int64_t infoField(const std::string& ip, const std::string& section, const std::string& field) {
  const std::string text = runShell("redis-cli -h " + ip + " INFO " + section).output;
  const auto at = text.find(field + ":");
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + field.size() + 1);
}

// used_memory and maxmemory of every master, for a failure message.
std::string memoryReport(OperatorEnv& env) {
  std::string out = "\nmemory of the masters:\n";
  for (const auto& [pod, ip] : masterPodIps(env, "full")) {
    out += "  " + pod + " used_memory " + std::to_string(infoField(ip, "memory", "used_memory")) +
           " maxmemory " + std::to_string(infoField(ip, "memory", "maxmemory")) + "\n";
  }
  return out;
}

TEST(OperatorCapacity, AScaleInIntoFullMastersIsRefusedUntouchedAndUndoneByScalingBack) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml(4, "64mb")).exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] { return env.clusterReady("full") && masterIps(env, "full").size() == 4; }, 180s))
      << env.operatorLog();

  // 20,000 values of 1 KB, about 5 MB per master.
  const std::string seed = masterIps(env, "full").front();
  CommandResult filled = runShell("redis-benchmark --cluster -h " + seed +
                                  " -p 6379 -t set -d 1000 -n 20000 -r 100000000 -q 2>&1");
  ASSERT_EQ(filled.exit_code, 0) << filled.output;
  const int64_t keys = countKeys(env, "full");
  ASSERT_GT(keys, 15000) << filled.output;
  // maxmemory (set live) so that the fullest master is at 80%: each of three masters left
  // would receive a third of the fourth's on top of its own, about 107%, past what is allowed.
  // A node's used_memory stays inflated for a while after the benchmark (its buffers), so each
  // master's lowest of five readings a second apart counts.
  std::map<std::string, int64_t> lowest;
  for (int i = 0; i < 5; ++i) {
    for (const auto& ip : masterIps(env, "full")) {
      const int64_t now = infoField(ip, "memory", "used_memory");
      if (!lowest.count(ip) || now < lowest[ip]) lowest[ip] = now;
    }
    std::this_thread::sleep_for(1s);
  }
  int64_t used = 0;
  for (const auto& [ip, bytes] : lowest) used = std::max(used, bytes);
  ASSERT_GT(used, 0);
  const std::string tight = std::to_string(used * 5 / 4);
  ASSERT_EQ(env.apply(clusterYaml(4, tight)).exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] {
        for (const auto& ip : masterIps(env, "full")) {
          if (runShell("redis-cli -h " + ip + " CONFIG GET maxmemory").output.find(tight) ==
              std::string::npos) {
            return false;
          }
        }
        return true;
      },
      60s));
  const auto slots_before = slotsPerMaster(env);
  ASSERT_EQ(slots_before.size(), 4u) << runShell("redis-cli -h " + seed + " CLUSTER NODES").output;

  ASSERT_EQ(env.apply(clusterYaml(3, tight)).exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] { return conditionOf(env, "Degraded").value("reason", "") == "InsufficientMemory"; },
      120s))
      << env.kubectl("get rediscluster full -o yaml").output << memoryReport(env)
      << env.operatorLog();
  const auto degraded = conditionOf(env, "Degraded");
  EXPECT_EQ(degraded.value("status", ""), "True");
  EXPECT_NE(degraded.value("message", "").find("nothing was moved"), std::string::npos)
      << degraded.dump();
  // Refused before anything started: no slot moved, no marker left, no key lost, and the pods
  // of the shard that would have gone are still there.
  EXPECT_EQ(slotsPerMaster(env), slots_before);
  EXPECT_EQ(openSlots(env, "full"), 0);
  EXPECT_EQ(countKeys(env, "full"), keys);
  EXPECT_EQ(slotsMoved(env, "full"), -1) << operation(env, "full").dump();
  EXPECT_EQ(env.podIps("full").size(), 4u);

  // Scaling back to the old size clears the refusal with nothing to undo (Degraded stays for
  // masters without replicas, as for any cluster with replicasPerMaster 0).
  ASSERT_EQ(env.apply(clusterYaml(4, tight)).exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] {
        return env.clusterReady("full") &&
               conditionOf(env, "Degraded").value("reason", "") != "InsufficientMemory";
      },
      120s))
      << env.kubectl("get rediscluster full -o yaml").output;
  EXPECT_EQ(slotsPerMaster(env), slots_before);
  EXPECT_EQ(countKeys(env, "full"), keys);

  // With room (maxmemory raised live, no restart), the same scale-in moves every key.
  ASSERT_EQ(env.apply(clusterYaml(3, "64mb")).exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] { return env.clusterReady("full") && masterIps(env, "full").size() == 3; }, 300s))
      << env.kubectl("get rediscluster full -o yaml").output << env.operatorLog();
  EXPECT_EQ(countKeys(env, "full"), keys);
  EXPECT_EQ(openSlots(env, "full"), 0);
  CommandResult check =
      runShell("redis-cli --cluster check " + masterIps(env, "full")[0] + ":6379");
  EXPECT_EQ(check.exit_code, 0) << check.output;

  // kubectl finds the plugin on PATH and it reads the cluster by name.
  const std::string plugin_dir = std::filesystem::path(SK_PLUGIN_PATH).parent_path().string();
  // (kubectl takes no flags of its own before a plugin's name; the plugin reads --kubeconfig.)
  auto kubectl = [&](const std::string& args) {
    return runShell("PATH=" + plugin_dir + ":$PATH kubectl slotkeeper " + args + " --kubeconfig " +
                    env.kubeconfig() + " 2>&1");
  };
  CommandResult slots = kubectl("slots full -n " + env.ns());
  ASSERT_EQ(slots.exit_code, 0) << slots.output;
  EXPECT_NE(slots.output.find("unassigned slots: 0"), std::string::npos) << slots.output;
  for (const auto& pod : masterPods(env, "full")) {
    EXPECT_NE(slots.output.find(pod), std::string::npos) << pod << "\n" << slots.output;
  }
  CommandResult nodes = kubectl("nodes full -n " + env.ns());
  ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
  EXPECT_NE(nodes.output.find("3 masters"), std::string::npos) << nodes.output;
  CommandResult missing = kubectl("nodes nosuchcluster -n " + env.ns());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("nosuchcluster"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace slotkeeper::e2e
