// Day-2 changes end to end on the local control plane, under go-redis load: live settings
// reach every node without a restart, and a new image, a restart-only setting and new resources
// each roll every pod exactly once, failing each master over before its pod goes. A roll onto
// an image that cannot start stops at its first pod and resumes when the spec is fixed; a master
// moves by annotation; a changed password Secret is rolled in without a restart.
// Outcomes are read back from the redis nodes, the pods and the operator's Events.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "e2e/support/cluster_reads.h"
#include "e2e/support/control_plane.h"
#include "e2e/support/operator_env.h"

namespace slotkeeper::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string clusterYaml(const std::string& name, bool storage) {
  std::string yaml =
      "apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n"
      "  name: " +
      name + "\nspec:\n  masters: 3\n  replicasPerMaster: 1\n";
  if (storage) yaml += "  storage:\n    size: 1Gi\n";
  return yaml;
}

// "name -> uid" of the cluster's pods.
std::map<std::string, std::string> podUids(OperatorEnv& env, const std::string& cluster) {
  std::map<std::string, std::string> out;
  auto pods = env.getJson("pods -l redis.slotkeeper.io/cluster=" + cluster);
  if (!pods.isOk()) return out;
  for (const auto& p : (*pods)["items"]) {
    if (p["metadata"].contains("deletionTimestamp")) continue;
    out[p["metadata"]["name"]] = p["metadata"]["uid"];
  }
  return out;
}

json status(OperatorEnv& env, const std::string& cluster) {
  auto rc = env.getJson("rediscluster " + cluster);
  return rc.isOk() ? (*rc).value("status", json::object()) : json::object();
}

json condition(OperatorEnv& env, const std::string& cluster, const std::string& type) {
  for (const auto& c : status(env, cluster).value("conditions", json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return json::object();
}

// Every pod runs the current template and the cluster is Ready for the latest spec.
bool rolled(OperatorEnv& env, const std::string& cluster, int pods) {
  json st = status(env, cluster);
  return env.clusterReady(cluster) && st.value("updatedPods", 0) == pods &&
         st.value("outdatedPods", -1) == 0;
}

// The operator's Events on the cluster with one of `reasons`, oldest first, as "Reason: message".
std::vector<std::string> events(OperatorEnv& env, const std::string& cluster,
                                const std::set<std::string>& reasons) {
  std::vector<std::pair<std::string, std::string>> timed;
  auto list = env.getJson("events --field-selector involvedObject.name=" + cluster);
  if (!list.isOk()) return {};
  for (const auto& e : (*list)["items"]) {
    const std::string reason = e.value("reason", "");
    if (!reasons.count(reason)) continue;
    // Names end in the creation time in hex nanoseconds: they sort in the order recorded.
    timed.emplace_back(e["metadata"].value("name", ""), reason + ": " + e.value("message", ""));
  }
  std::sort(timed.begin(), timed.end());
  std::vector<std::string> out;
  for (auto& [when, text] : timed) out.push_back(std::move(text));
  return out;
}

std::string configGet(const std::string& ip, const std::string& key) {
  CommandResult r = runShell("redis-cli -h " + ip + " -p 6379 CONFIG GET " + key);
  auto newline = r.output.find('\n');
  if (r.exit_code != 0 || newline == std::string::npos) return "";
  std::string value = r.output.substr(newline + 1);
  while (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

struct RollOutcome {
  double seconds = 0;
  std::vector<std::string> events;  // RestartingPod and FailingOver, in order
};

// Applies `patch`, waits for the roll to finish, and checks what a failover-first roll must be:
// every pod replaced exactly once, and every pod that was a master failed over before its
// restart.
RollOutcome rollWith(OperatorEnv& env, const std::string& cluster, const std::string& patch) {
  RollOutcome out;
  const auto before = podUids(env, cluster);
  const auto masters_before = masterPods(env, cluster);
  const size_t events_before =
      events(env, cluster, {"RestartingPod", "FailingOver", "RolloutComplete"}).size();
  EXPECT_EQ(masters_before.size(), 3u);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(
      env.kubectl("patch rediscluster " + cluster + " --type merge -p '" + patch + "'").exit_code,
      0);
  bool done = env.waitFor(
      [&] {
        auto now = podUids(env, cluster);
        if (now.size() != before.size()) return false;
        for (const auto& [pod, uid] : now) {
          if (before.at(pod) == uid) return false;
        }
        return rolled(env, cluster, 6);
      },
      420s);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(done) << patch << "\n"
                    << env.kubectl("get rediscluster " + cluster + " -o yaml").output
                    << env.operatorLog();
  auto all = events(env, cluster, {"RestartingPod", "FailingOver", "RolloutComplete"});
  out.events.assign(all.begin() + std::min(events_before, all.size()), all.end());

  std::map<std::string, int> restarts;
  std::set<std::string> failed_over;  // masters whose role moved before their restart
  for (const auto& e : out.events) {
    if (e.rfind("FailingOver: ", 0) == 0) {
      failed_over.insert(e.substr(e.rfind(' ') + 1));
    } else if (e.rfind("RestartingPod: Restarting pod ", 0) == 0) {
      std::string pod = e.substr(std::string("RestartingPod: Restarting pod ").size());
      pod = pod.substr(0, pod.find(' '));
      ++restarts[pod];
      if (masters_before.count(pod)) {
        EXPECT_TRUE(failed_over.count(pod)) << pod << " was restarted before its failover";
      }
    }
  }
  EXPECT_EQ(restarts.size(), before.size()) << ::testing::PrintToString(out.events);
  for (const auto& [pod, count] : restarts) EXPECT_EQ(count, 1) << pod;
  EXPECT_EQ(failed_over.size(), 3u) << ::testing::PrintToString(out.events);
  return out;
}

TEST(OperatorRollout, LiveSettingsThenImageRestartOnlySettingAndResourcesRollFailoverFirst) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("roll", true)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return rolled(env, "roll", 6); }, 180s)) << env.operatorLog();

  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps("roll")) seeds.push_back(ip + ":6379");
  LoadGenerator load;
  ASSERT_TRUE(load.start(seeds, env.workDir()).isOk());
  ASSERT_TRUE(load.waitForWrites(1000, 60s).isOk());

  // A live setting: every node has it within seconds, no pod is replaced.
  const auto uids = podUids(env, "roll");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(env.kubectl("patch rediscluster roll --type merge -p "
                        "'{\"spec\":{\"redisConfig\":{\"maxmemory\":\"256mb\"}}}'")
                .exit_code,
            0);
  EXPECT_TRUE(env.waitFor(
      [&] {
        for (const auto& [pod, ip] : env.podIps("roll")) {
          if (configGet(ip, "maxmemory") != "268435456") return false;
        }
        return true;
      },
      60s))
      << env.operatorLog();
  std::printf("maxmemory on every node after %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_EQ(podUids(env, "roll"), uids) << "a live setting restarts no pod";
  EXPECT_EQ(status(env, "roll").value("outdatedPods", -1), 0);

  RollOutcome image = rollWith(env, "roll", R"({"spec":{"image":"redis:7.0.15"}})");
  std::printf("image roll (6 pods, 3 failovers): %.1f s\n", image.seconds);
  RollOutcome conf = rollWith(env, "roll", R"({"spec":{"redisConfig":{"io-threads":"2"}}})");
  std::printf("restart-only setting roll: %.1f s\n", conf.seconds);
  for (const auto& [pod, ip] : env.podIps("roll")) {
    EXPECT_EQ(configGet(ip, "io-threads"), "2") << pod;
    EXPECT_EQ(configGet(ip, "maxmemory"), "268435456") << pod << " (from the ConfigMap)";
  }
  RollOutcome resources =
      rollWith(env, "roll", R"({"spec":{"resources":{"requests":{"cpu":"10m"}}}})");
  std::printf("resources roll: %.1f s\n", resources.seconds);

  auto summary = load.finish();
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::printf("load generator: %s\n", summary->dump().c_str());
  EXPECT_EQ(loadProblems(*summary, 1000), "");
  CommandResult check = runShell("redis-cli --cluster check " + seeds.front());
  EXPECT_EQ(check.output.find("[ERR]"), std::string::npos) << check.output;
}

TEST(OperatorRollout, AnImageThatCannotStartStopsTheRollAndFixingTheSpecResumesIt) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("stuck", false)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return rolled(env, "stuck", 6); }, 180s)) << env.operatorLog();
  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps("stuck")) seeds.push_back(ip + ":6379");
  LoadGenerator load;
  ASSERT_TRUE(load.start(seeds, env.workDir()).isOk());
  ASSERT_TRUE(load.waitForWrites(1000, 60s).isOk());
  const auto before = podUids(env, "stuck");

  // The node agent has no binary for this image: its pods wait in ErrImagePull.
  ASSERT_EQ(env.kubectl("patch rediscluster stuck --type merge -p "
                        "'{\"spec\":{\"image\":\"registry.invalid/cache:1\"}}'")
                .exit_code,
            0);
  json degraded;
  ASSERT_TRUE(env.waitFor(
      [&] {
        degraded = condition(env, "stuck", "Degraded");
        return degraded.value("reason", "") == "PodsFailing";
      },
      120s))
      << env.kubectl("get rediscluster stuck -o yaml").output << env.operatorLog();
  const std::string message = degraded.value("message", "");
  EXPECT_NE(message.find("ErrImagePull"), std::string::npos) << message;
  // Only the first replica was replaced; the cluster keeps serving from the other five pods.
  auto during = podUids(env, "stuck");
  int replaced = 0;
  std::string stuck_pod;
  for (const auto& [pod, uid] : during) {
    if (before.at(pod) == uid) continue;
    ++replaced;
    stuck_pod = pod;
  }
  EXPECT_EQ(replaced, 1);
  EXPECT_NE(message.find(stuck_pod), std::string::npos) << message;
  std::this_thread::sleep_for(10s);  // and it stays stopped
  EXPECT_EQ(podUids(env, "stuck").size(), 6u);
  int still_replaced = 0;
  for (const auto& [pod, uid] : podUids(env, "stuck")) still_replaced += before.at(pod) != uid;
  EXPECT_EQ(still_replaced, 1) << "the roll went on past a pod that cannot start";
  auto masters = masterPods(env, "stuck");
  EXPECT_EQ(masters.size(), 3u);
  CommandResult info =
      runShell("redis-cli -h " + env.podIps("stuck").at(*masters.begin()) + " CLUSTER INFO");
  EXPECT_NE(info.output.find("cluster_state:ok"), std::string::npos) << info.output;

  // Back to the image that works: the stuck pod is replaced and the cluster is whole again.
  ASSERT_EQ(env.kubectl("patch rediscluster stuck --type merge -p "
                        "'{\"spec\":{\"image\":\"redis:7.0\"}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return rolled(env, "stuck", 6); }, 240s))
      << env.kubectl("get rediscluster stuck -o yaml").output << env.operatorLog();
  EXPECT_EQ(condition(env, "stuck", "Degraded").value("status", ""), "False");

  // By hand: promote a replica, then demote the master it became; each is a graceful failover,
  // and the annotation is removed once done.
  const auto masters_now = masterPods(env, "stuck");
  std::string replica;
  for (const auto& [pod, ip] : env.podIps("stuck")) {
    if (!masters_now.count(pod)) replica = pod;
  }
  ASSERT_FALSE(replica.empty());
  ASSERT_EQ(
      env.kubectl("annotate rediscluster stuck redis.slotkeeper.io/promote=" + replica).exit_code,
      0);
  auto annotated = [&](const std::string& key) {
    auto rc = env.getJson("rediscluster stuck");
    return rc.isOk() && (*rc)["metadata"].value("annotations", json::object()).contains(key);
  };
  EXPECT_TRUE(env.waitFor(
      [&] {
        return masterPods(env, "stuck").count(replica) &&
               !annotated("redis.slotkeeper.io/promote") && rolled(env, "stuck", 6);
      },
      60s))
      << env.operatorLog();
  ASSERT_EQ(
      env.kubectl("annotate rediscluster stuck redis.slotkeeper.io/demote=" + replica).exit_code,
      0);
  EXPECT_TRUE(env.waitFor(
      [&] {
        return !masterPods(env, "stuck").count(replica) &&
               !annotated("redis.slotkeeper.io/demote") && rolled(env, "stuck", 6);
      },
      60s))
      << env.operatorLog();
  EXPECT_EQ(masterPods(env, "stuck").size(), 3u);
  const auto manual = events(env, "stuck", {"ManualFailover"});
  EXPECT_EQ(std::count_if(manual.begin(), manual.end(),
                          [](const std::string& e) {
                            return e.rfind("ManualFailover: Promoting pod ", 0) == 0;
                          }),
            2)
      << ::testing::PrintToString(manual);
  // A pod that is not part of the cluster is refused, and the annotation removed.
  ASSERT_EQ(env.kubectl("annotate rediscluster stuck redis.slotkeeper.io/promote=nope-0").exit_code,
            0);
  EXPECT_TRUE(env.waitFor([&] { return !annotated("redis.slotkeeper.io/promote"); }, 60s));
  EXPECT_EQ(events(env, "stuck", {"ManualFailoverRefused"}).size(), 1u);

  auto summary = load.finish();
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::printf("load generator: %s\n", summary->dump().c_str());
  EXPECT_EQ(loadProblems(*summary, 1000), "");
}

// PING with a password on every pod: how many answered PONG.
int acceptedBy(OperatorEnv& env, const std::string& cluster, const std::string& password) {
  int ok = 0;
  for (const auto& [pod, ip] : env.podIps(cluster)) {
    CommandResult r =
        runShell("redis-cli --no-auth-warning -h " + ip + " -a '" + password + "' PING");
    ok += r.output == "PONG\n";
  }
  return ok;
}

TEST(OperatorRollout, AChangedPasswordSecretIsRolledInUnderLoadWithoutARestart) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  const Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(
      env.kubectl("create secret generic pw-auth --from-literal=password=first-secret").exit_code,
      0);
  ASSERT_EQ(env.apply(clusterYaml("pw", false) +
                      "  passwordSecret:\n    name: pw-auth\n    rotationGraceSeconds: 10\n")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return rolled(env, "pw", 6); }, 180s)) << env.operatorLog();
  const std::string password_file = env.workDir() + "/client-password";
  ASSERT_EQ(runShell("printf first-secret > " + password_file).exit_code, 0);
  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps("pw")) seeds.push_back(ip + ":6379");
  LoadGenerator load;
  ASSERT_TRUE(load.start(seeds, env.workDir(), {"--password-file", password_file}).isOk());
  ASSERT_TRUE(load.waitForWrites(1000, 60s).isOk());
  const auto uids = podUids(env, "pw");

  // The status must never lose a node: every master ready, every replica linked.
  std::string lost;
  auto whole = [&] {
    json st = status(env, "pw");
    if (st.value("readyMasters", 0) != 3 || st.value("readyReplicas", 0) != 3) {
      if (lost.empty()) lost = st.dump();
    }
  };
  ASSERT_EQ(env.kubectl("create secret generic pw-auth --from-literal=password=second-secret "
                        "--dry-run=client -o yaml | kubectl --kubeconfig " +
                        env.kubeconfig() + " -n " + env.ns() + " apply -f -")
                .exit_code,
            0);
  // The operator reads the Secret on its next pass (within the health interval).
  ASSERT_TRUE(env.waitFor(
      [&] {
        whole();
        return acceptedBy(env, "pw", "second-secret") == 6;
      },
      90s))
      << env.operatorLog();
  EXPECT_EQ(acceptedBy(env, "pw", "first-secret"), 6) << "the old one still works meanwhile";
  ASSERT_EQ(runShell("printf second-secret > " + password_file).exit_code, 0);  // clients switch
  ASSERT_TRUE(env.waitFor(
      [&] {
        whole();
        return status(env, "pw")
            .value("passwordRotation", json::object())
            .contains("oldPasswordRemovedAt");
      },
      90s))
      << env.kubectl("get rediscluster pw -o yaml").output << env.operatorLog();
  whole();
  EXPECT_EQ(lost, "") << "a node looked unreachable during the rotation";
  EXPECT_EQ(acceptedBy(env, "pw", "first-secret"), 0) << "the old password is refused at the end";
  EXPECT_EQ(acceptedBy(env, "pw", "second-secret"), 6);
  for (const auto& [pod, ip] : env.podIps("pw")) {
    CommandResult r = runShell("redis-cli --no-auth-warning -h " + ip +
                               " -a second-secret CONFIG GET masterauth");
    EXPECT_NE(r.output.find("second-secret"), std::string::npos) << pod << ": " << r.output;
  }
  EXPECT_EQ(podUids(env, "pw"), uids) << "no pod was restarted";
  EXPECT_FALSE(events(env, "pw", {"PasswordRotated"}).empty());
  // Replicas stay linked, and a new full sync (a fresh replica) authenticates with the new one.
  EXPECT_TRUE(env.waitFor([&] { return rolled(env, "pw", 6); }, 30s));

  auto summary = load.finish();
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::printf("load generator: %s\n", summary->dump().c_str());
  EXPECT_EQ(loadProblems(*summary, 1000), "");
}

// The zone of the Node each of the cluster's pods runs on.
std::map<std::string, std::string> podZones(OperatorEnv& env, const std::string& cluster) {
  std::map<std::string, std::string> zone_of_node, out;
  auto nodes = env.getJson("nodes");
  auto pods = env.getJson("pods -l redis.slotkeeper.io/cluster=" + cluster);
  if (!nodes.isOk() || !pods.isOk()) return out;
  for (const auto& n : (*nodes)["items"]) {
    zone_of_node[n["metadata"].value("name", "")] =
        n["metadata"]["labels"].value("topology.kubernetes.io/zone", "");
  }
  for (const auto& p : (*pods)["items"]) {
    out[p["metadata"].value("name", "")] = zone_of_node[p["spec"].value("nodeName", "")];
  }
  return out;
}

TEST(OperatorRollout, ZoneFailureDomainKeepsReplicasOutOfTheirMastersZoneAndPlacementRolls) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  // Six Nodes, two per zone: keeping pods on different Nodes is not enough here.
  const Status started = env.start(6);
  ASSERT_TRUE(started.isOk()) << started.toString();
  ASSERT_EQ(env.apply(clusterYaml("zoned", false) + "  failureDomain: zone\n").exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return rolled(env, "zoned", 6); }, 180s)) << env.operatorLog();
  auto check_zones = [&] {
    const auto zones = podZones(env, "zoned");
    const auto ips = env.podIps("zoned");
    std::map<std::string, std::string> pod_of_id;
    std::map<std::string, std::string> master_of;  // replica pod -> master id
    for (const auto& [pod, ip] : ips) {
      auto view = env.clusterNodesAt(ip);
      ASSERT_TRUE(view.isOk());
      for (const auto& n : *view) {
        if (!n.myself) continue;
        pod_of_id[n.id] = pod;
        if (n.replica) master_of[pod] = n.master_id;
      }
    }
    ASSERT_EQ(master_of.size(), 3u);
    for (const auto& [replica, master_id] : master_of) {
      const std::string master = pod_of_id[master_id];
      EXPECT_FALSE(zones.at(replica).empty());
      EXPECT_NE(zones.at(replica), zones.at(master)) << replica << " and its master " << master;
    }
  };
  check_zones();

  // A nodeSelector no Node matches: the roll's first pod stays Pending, the status says why,
  // and the cluster keeps serving; removing it resumes the roll.
  ASSERT_EQ(env.kubectl("patch rediscluster zoned --type merge -p "
                        "'{\"spec\":{\"nodeSelector\":{\"disk\":\"none-such\"}}}'")
                .exit_code,
            0);
  json degraded;
  EXPECT_TRUE(env.waitFor(
      [&] {
        degraded = condition(env, "zoned", "Degraded");
        return degraded.value("reason", "") == "PodsUnschedulable";
      },
      120s))
      << env.kubectl("get rediscluster zoned -o yaml").output;
  // The roll's first pod (a replica: which one depends on the roles) is the one named.
  std::string pending;
  auto pods = env.getJson("pods -l redis.slotkeeper.io/cluster=zoned");
  ASSERT_TRUE(pods.isOk());
  for (const auto& p : (*pods)["items"]) {
    if (p["status"].value("phase", "") == "Pending") pending = p["metadata"].value("name", "");
  }
  ASSERT_FALSE(pending.empty());
  EXPECT_NE(degraded.value("message", "").find(pending), std::string::npos) << degraded.dump();
  auto masters = masterPods(env, "zoned");
  EXPECT_EQ(masters.size(), 3u);
  ASSERT_EQ(env.kubectl("patch rediscluster zoned --type merge -p "
                        "'{\"spec\":{\"nodeSelector\":null}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return rolled(env, "zoned", 6); }, 240s))
      << env.kubectl("get rediscluster zoned -o yaml").output << env.operatorLog();
  check_zones();
}

}  // namespace
}  // namespace slotkeeper::e2e
