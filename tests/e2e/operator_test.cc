// The operator end to end on the local control plane: real kube-apiserver, controllers and
// scheduler, the node agent running redis-server pods, the operator binary, kubectl, and a
// go-redis ClusterClient load generator. Every outcome is read back from the live redis nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "e2e/support/control_plane.h"
#include "e2e/support/operator_env.h"
#include "redis/hiredis_client.h"

namespace slotkeeper::e2e {
namespace {

using namespace std::chrono_literals;

std::string clusterYaml(const std::string& name, int masters, int replicas, bool storage) {
  std::string yaml =
      "apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n"
      "  name: " +
      name + "\nspec:\n  masters: " + std::to_string(masters) +
      "\n  replicasPerMaster: " + std::to_string(replicas) + "\n";
  if (storage) yaml += "  storage:\n    size: 1Gi\n";
  return yaml;
}

// The live topology as the redis nodes report it.
struct LiveTopology {
  std::map<std::string, int> slots_by_master;                // master address -> slots
  std::map<std::string, std::vector<std::string>> replicas;  // master address -> replica addresses
  int open_slots = 0;
};

LiveTopology readTopology(OperatorEnv& env, const std::string& ip) {
  LiveTopology topo;
  auto nodes = env.clusterNodesAt(ip);
  if (!nodes.isOk()) return topo;
  std::map<std::string, std::string> address_of;
  for (const auto& n : *nodes) address_of[n.id] = n.address();
  for (const auto& n : *nodes) {
    if (n.fail || n.handshake) continue;
    int count = 0;
    for (const auto& r : n.slots) count += r.size();
    if (n.master && count > 0) topo.slots_by_master[n.address()] = count;
    if (n.replica) topo.replicas[address_of[n.master_id]].push_back(n.address());
    topo.open_slots += static_cast<int>(n.open_slots.size());
  }
  return topo;
}

std::string anyPodIp(OperatorEnv& env, const std::string& cluster) {
  auto ips = env.podIps(cluster);
  return ips.empty() ? "" : ips.begin()->second;
}

// Every master holds its even share and has exactly `replicas` replicas on other Nodes.
void expectShape(OperatorEnv& env, const std::string& cluster, int masters, int replicas) {
  LiveTopology topo = readTopology(env, anyPodIp(env, cluster));
  ASSERT_EQ(static_cast<int>(topo.slots_by_master.size()), masters);
  int total = 0;
  for (const auto& [address, slots] : topo.slots_by_master) {
    total += slots;
    EXPECT_GE(slots, 16384 / masters) << address;
    EXPECT_LE(slots, 16384 / masters + 1) << address;
    EXPECT_EQ(static_cast<int>(topo.replicas[address].size()), replicas) << address;
  }
  EXPECT_EQ(total, 16384);
  EXPECT_EQ(topo.open_slots, 0);
  // A replica never shares a Kubernetes node with its master.
  auto pods = env.getJson("pods -l redis.slotkeeper.io/cluster=" + cluster);
  ASSERT_TRUE(pods.isOk());
  std::map<std::string, std::string> node_of;  // "ip:6379" -> Kubernetes node
  for (const auto& p : (*pods)["items"]) {
    node_of[p["status"].value("podIP", "") + ":6379"] = p["spec"].value("nodeName", "");
  }
  for (const auto& [master, list] : topo.replicas) {
    for (const auto& replica : list) {
      EXPECT_NE(node_of[master], node_of[replica]) << master << " and its replica " << replica;
    }
  }
  CommandResult check = runShell("redis-cli --cluster check " + anyPodIp(env, cluster) + ":6379");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output.find("[ERR]"), std::string::npos) << check.output;
}

TEST(Operator, CreatesScalesOutAddsReplicasAndScalesInWithoutAFailedCommand) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(env.apply(clusterYaml("scale", 3, 1, true)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("scale"); }, 180s))
      << env.diagnostics("scale");
  double to_ready = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("apply -> Ready (3x1, including pod start): %.1f s\n", to_ready);
  expectShape(env, "scale", 3, 1);

  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps("scale")) seeds.push_back(ip + ":6379");
  LoadGenerator load;
  ASSERT_TRUE(load.start(seeds, env.workDir()).isOk());
  // The scale-out must happen under load: wait until clients' writes are being acknowledged.
  Status flowing = load.waitForWrites(1000, 60s);
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();

  // Scale out through the scale subresource, the way `kubectl scale` users do.
  t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(env.kubectl("scale rediscluster/scale --replicas=4").exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("scale"); }, 240s))
      << env.diagnostics("scale");
  std::printf("scale 3 -> 4 masters (pods + rebalance): %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  expectShape(env, "scale", 4, 1);

  ASSERT_EQ(env.kubectl("patch rediscluster scale --type merge -p "
                        "'{\"spec\":{\"replicasPerMaster\":2}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("scale"); }, 240s))
      << env.diagnostics("scale");
  expectShape(env, "scale", 4, 2);

  // Scale in: no pod of the removed shard may go away while it still holds slots.
  ASSERT_EQ(env.kubectl("scale rediscluster/scale --replicas=3").exit_code, 0);
  std::string violation;
  ASSERT_TRUE(env.waitFor(
      [&] {
        auto ips = env.podIps("scale");
        bool shard3_present = false;
        for (const auto& [pod, ip] : ips) shard3_present |= pod.rfind("scale-shard-3-", 0) == 0;
        if (!shard3_present) {
          auto seed = ips.begin()->second;
          LiveTopology topo = readTopology(env, seed);
          if (topo.slots_by_master.size() != 3 && violation.empty()) {
            violation = "shard 3 pods were gone while " +
                        std::to_string(topo.slots_by_master.size()) + " masters held slots";
          }
        }
        return env.clusterReady("scale") && !shard3_present;
      },
      240s))
      << env.operatorLog();
  EXPECT_EQ(violation, "");
  expectShape(env, "scale", 3, 2);
  EXPECT_NE(env.kubectl("get statefulset scale-shard-3").exit_code, 0)
      << "the drained shard's StatefulSet is deleted";

  auto summary = load.finish();
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::printf("load generator: %s\n", summary->dump().c_str());
  EXPECT_EQ(loadProblems(*summary, 1000), "");
}

TEST(Operator, HealsADeletedMasterPodAndKeepsItsNodeIdAndData) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  // A short node timeout lets Redis promote the replica before the pod returns.
  ASSERT_EQ(env.apply(clusterYaml("heal", 3, 1, true) +
                      "  redisConfig:\n    cluster-node-timeout: \"2000\"\n")
                .exit_code,
            0);
  // With a 2 s node timeout a busy machine can see a spurious failover while the cluster forms,
  // which the operator repairs; that takes longer than a plain creation.
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("heal"); }, 300s)) << env.operatorLog();

  // Write keys through a cluster-aware path: redis-cli -c follows MOVED.
  std::string seed = anyPodIp(env, "heal");
  for (int i = 0; i < 200; ++i) {
    CommandResult set =
        runShell("redis-cli -c -h " + seed + " -p 6379 SET heal:" + std::to_string(i) + " v" +
                 std::to_string(i));
    ASSERT_EQ(set.exit_code, 0) << set.output;
  }
  // Find which pod of shard 0 is its master, and delete that pod.
  std::string master_pod, replica_pod, old_id;
  for (const std::string pod : {"heal-shard-0-0", "heal-shard-0-1"}) {
    auto view = env.clusterNodesAt(env.podIps("heal")[pod]);
    ASSERT_TRUE(view.isOk()) << pod;
    for (const auto& n : *view) {
      if (!n.myself) continue;
      (n.master ? master_pod : replica_pod) = pod;
      if (n.master) old_id = n.id;
    }
  }
  ASSERT_FALSE(master_pod.empty());
  ASSERT_FALSE(replica_pod.empty());
  std::string old_ip = env.podIps("heal")[master_pod];

  // The master hangs (SIGSTOP on its redis-server, found through the agent's pid file):
  // after the node timeout Redis promotes the replica. Then the pod is deleted and returns.
  CommandResult pid_file = runShell("ls " + env.workDir() + "/agent/pods/" + env.ns() + "_" +
                                    master_pod + "_*/logs/redis.pid");
  ASSERT_EQ(pid_file.exit_code, 0) << pid_file.output;
  std::string pid = runShell("cat " + pid_file.output).output;
  ASSERT_EQ(runShell("kill -STOP " + pid).exit_code, 0);
  bool promoted = env.waitFor(
      [&] {
        auto view = env.clusterNodesAt(env.podIps("heal")[replica_pod]);
        if (!view.isOk()) return false;
        for (const auto& n : *view) {
          if (n.myself) return n.master && !n.slots.empty();
        }
        return false;
      },
      60s);
  ASSERT_TRUE(promoted) << "Redis never promoted the replica of the hung master";
  ASSERT_EQ(env.kubectl("delete pod " + master_pod + " --wait=false").exit_code, 0);
  runShell("kill -CONT " + pid);  // let it receive SIGTERM and exit
  ASSERT_TRUE(env.waitFor(
      [&] {
        auto ips = env.podIps("heal");
        return ips.count(master_pod) && ips[master_pod] != old_ip && env.clusterReady("heal");
      },
      240s))
      << env.operatorLog();
  ASSERT_TRUE(env.waitFor(
      [&] {
        LiveTopology t = readTopology(env, env.podIps("heal")["heal-shard-1-0"]);
        return t.slots_by_master.size() == 3 && t.replicas.size() == 3;
      },
      120s));
  expectShape(env, "heal", 3, 1);
  auto partner = env.clusterNodesAt(env.podIps("heal")[replica_pod]);
  ASSERT_TRUE(partner.isOk());
  bool partner_is_master = false;
  for (const auto& n : *partner) {
    if (n.myself) partner_is_master = n.master;
  }
  auto after = env.clusterNodesAt(env.podIps("heal")[master_pod]);
  ASSERT_TRUE(after.isOk());
  for (const auto& n : *after) {
    if (!n.myself) continue;
    EXPECT_EQ(n.id, old_id) << "the pod came back with its node id from its volume";
    EXPECT_TRUE(n.replica) << "the returning node serves the promoted one as a replica";
    EXPECT_TRUE(partner_is_master) << "the promoted replica stays the shard's master";
  }
  for (int i = 0; i < 200; ++i) {
    CommandResult get = runShell("redis-cli -c -h " + env.podIps("heal")["heal-shard-1-0"] +
                                 " -p 6379 GET heal:" + std::to_string(i));
    EXPECT_EQ(get.output, "v" + std::to_string(i) + "\n") << "heal:" << i;
  }
}

TEST(Operator, RestartsEveryPodAtOnceWithNewIpsAndKeepsNodeIdsAndData) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("restart", 3, 1, true)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("restart"); }, 180s)) << env.operatorLog();
  std::string seed = anyPodIp(env, "restart");
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(runShell("redis-cli -c -h " + seed + " -p 6379 SET r:" + std::to_string(i) + " v" +
                       std::to_string(i))
                  .exit_code,
              0);
  }
  // Each node's id and IP before the restart.
  std::map<std::string, std::string> id_of_pod;
  auto before_ips = env.podIps("restart");
  for (const auto& [pod, ip] : before_ips) {
    auto view = env.clusterNodesAt(ip);
    ASSERT_TRUE(view.isOk());
    for (const auto& n : *view) {
      if (n.myself) id_of_pod[pod] = n.id;
    }
  }
  // appendonly is on by default, so every write above is in each master's append-only file.
  ASSERT_EQ(
      env.kubectl("delete pods -l redis.slotkeeper.io/cluster=restart --wait=false").exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] {
        auto ips = env.podIps("restart");
        if (ips.size() != before_ips.size()) return false;
        for (const auto& [pod, ip] : ips) {
          if (before_ips[pod] == ip) return false;
        }
        return env.clusterReady("restart");
      },
      300s))
      << env.operatorLog();
  expectShape(env, "restart", 3, 1);
  for (const auto& [pod, ip] : env.podIps("restart")) {
    auto view = env.clusterNodesAt(ip);
    ASSERT_TRUE(view.isOk());
    for (const auto& n : *view) {
      if (n.myself) {
        EXPECT_EQ(n.id, id_of_pod[pod]) << pod << " kept its node id";
      }
    }
  }
  std::string any = anyPodIp(env, "restart");
  for (int i = 0; i < 100; ++i) {
    CommandResult get = runShell("redis-cli -c -h " + any + " -p 6379 GET r:" + std::to_string(i));
    EXPECT_EQ(get.output, "v" + std::to_string(i) + "\n") << "r:" << i;
  }
}

TEST(Operator, ReplacesALostReplicaAndForgetsTheNodeThatVanished) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  // No storage: a deleted pod comes back as a brand-new node with a new id.
  ASSERT_EQ(env.apply(clusterYaml("lost", 3, 1, false)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("lost"); }, 180s)) << env.operatorLog();
  std::string replica_pod, old_id, old_ip;
  for (const auto& [pod, ip] : env.podIps("lost")) {
    auto view = env.clusterNodesAt(ip);
    ASSERT_TRUE(view.isOk());
    for (const auto& n : *view) {
      if (n.myself && n.replica && replica_pod.empty()) {
        replica_pod = pod;
        old_id = n.id;
        old_ip = ip;
      }
    }
  }
  ASSERT_FALSE(replica_pod.empty());
  ASSERT_EQ(env.kubectl("delete pod " + replica_pod + " --wait=false").exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] {
        auto ips = env.podIps("lost");
        if (!ips.count(replica_pod) || ips[replica_pod] == old_ip) return false;
        if (!env.clusterReady("lost")) return false;
        // The vanished node is forgotten everywhere: no member still lists its id.
        for (const auto& [pod, ip] : ips) {
          auto view = env.clusterNodesAt(ip);
          if (!view.isOk()) return false;
          for (const auto& n : *view) {
            if (n.id == old_id) return false;
          }
        }
        return true;
      },
      240s))
      << env.operatorLog();
  expectShape(env, "lost", 3, 1);
}

TEST(Operator, KilledDuringAMigrationAndRestartedFinishesWithNoOpenSlotOrLostKey) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("crash", 3, 0, false)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("crash"); }, 180s)) << env.operatorLog();
  // Enough keys that the move to a 4th master takes a moment, with small MIGRATE batches.
  std::string seed = anyPodIp(env, "crash");
  CommandResult load = runShell("redis-benchmark -h " + seed +
                                " -p 6379 --cluster -t set -n 300000 -r 300000 -P 64 -q");
  ASSERT_EQ(load.exit_code, 0) << load.output;
  int64_t keys_before = 0;
  for (const auto& [pod, ip] : env.podIps("crash")) {
    CommandResult size = runShell("redis-cli -h " + ip + " -p 6379 DBSIZE");
    keys_before += std::atoll(size.output.c_str());
  }
  ASSERT_GT(keys_before, 100000);
  ASSERT_EQ(env.kubectl("patch rediscluster crash --type merge -p "
                        "'{\"spec\":{\"masters\":4,\"migration\":{\"batchKeys\":10}}}'")
                .exit_code,
            0);
  // Kill the operator as soon as a slot is open somewhere: mid-migration.
  bool caught = env.waitFor(
      [&] {
        for (const auto& [pod, ip] : env.podIps("crash")) {
          if (readTopology(env, ip).open_slots > 0) return true;
        }
        return false;
      },
      180s);
  ASSERT_TRUE(caught) << "never saw an open slot" << env.operatorLog();
  env.killOperator();
  int open_after_kill = 0;
  for (const auto& [pod, ip] : env.podIps("crash"))
    open_after_kill += readTopology(env, ip).open_slots;
  std::printf("open slots after SIGKILL: %d\n", open_after_kill);

  const Status restarted = env.startOperator();
  ASSERT_TRUE(restarted.isOk()) << restarted.toString();
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady("crash"); }, 300s)) << env.operatorLog();
  expectShape(env, "crash", 4, 0);
  int64_t keys_after = 0;
  for (const auto& [pod, ip] : env.podIps("crash")) {
    CommandResult size = runShell("redis-cli -h " + ip + " -p 6379 DBSIZE");
    keys_after += std::atoll(size.output.c_str());
  }
  EXPECT_EQ(keys_after, keys_before);
}

TEST(Operator, RefusesBadObjectsAndChangesNothing) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(1);
  ASSERT_TRUE(started.isOk()) << started.toString();
  struct Bad {
    std::string spec;
    std::string message;
  };
  for (const auto& bad : std::vector<Bad>{
           {"masters: 2", "spec.masters"},
           {"replicasPerMaster: -1", "spec.replicasPerMaster"},
           {"masters: three", "spec.masters"},
           {"mastres: 3", "mastres"},
       }) {
    std::string yaml =
        "apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\n"
        "metadata:\n  name: bad\nspec:\n  " +
        bad.spec + "\n";
    CommandResult r = env.apply(yaml);
    EXPECT_NE(r.exit_code, 0) << bad.spec;
    EXPECT_NE(r.output.find(bad.message), std::string::npos) << bad.spec << ": " << r.output;
    EXPECT_NE(env.kubectl("get rediscluster bad").exit_code, 0) << "nothing was created";
  }
  EXPECT_EQ(env.kubectl("get statefulsets -o name").output.find("bad"), std::string::npos)
      << "the operator created nothing for a refused object";
}

}  // namespace
}  // namespace slotkeeper::e2e
