#include "e2e/support/cluster_reads.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

namespace slotkeeper::e2e {

using nlohmann::json;
using namespace std::chrono_literals;

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name) {
  setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() { unsetenv(name_); }

std::map<std::string, std::string> masterPodIps(OperatorEnv& env, const std::string& cluster) {
  std::map<std::string, std::string> out;
  for (const auto& [pod, ip] : env.podIps(cluster)) {
    auto nodes = env.clusterNodesAt(ip);
    if (!nodes.isOk()) continue;
    for (const auto& n : *nodes) {
      if (n.myself && n.master) out[pod] = ip;
    }
  }
  return out;
}

std::set<std::string> masterPods(OperatorEnv& env, const std::string& cluster) {
  std::set<std::string> out;
  for (const auto& [pod, ip] : masterPodIps(env, cluster)) out.insert(pod);
  return out;
}

std::vector<std::string> masterIps(OperatorEnv& env, const std::string& cluster) {
  std::vector<std::string> out;
  for (const auto& [pod, ip] : masterPodIps(env, cluster)) out.push_back(ip);
  return out;
}

int64_t countKeys(OperatorEnv& env, const std::string& cluster) {
  int64_t keys = 0;
  for (const auto& ip : masterIps(env, cluster)) {
    keys += std::atoll(runShell("redis-cli -h " + ip + " -p 6379 DBSIZE").output.c_str());
  }
  return keys;
}

int64_t countKeys(OperatorEnv& env, const std::string& cluster, const std::string& pattern) {
  int64_t keys = 0;
  for (const auto& ip : masterIps(env, cluster)) {
    keys += std::atoll(
        runShell("redis-cli -h " + ip + " -p 6379 --scan --pattern '" + pattern + "' | wc -l")
            .output.c_str());
  }
  return keys;
}

int openSlots(OperatorEnv& env, const std::string& cluster) {
  int open = 0;
  for (const auto& [pod, ip] : env.podIps(cluster)) {
    auto nodes = env.clusterNodesAt(ip);
    if (!nodes.isOk()) continue;
    for (const auto& n : *nodes) {
      if (n.myself) open += static_cast<int>(n.open_slots.size());
    }
  }
  return open;
}

int64_t loadKeys(OperatorEnv& env, const std::string& cluster) {
  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps(cluster)) seeds.push_back(ip + ":6379");
  LoadGenerator load;
  Status started = load.start(seeds, env.workDir());
  EXPECT_TRUE(started.isOk()) << started.toString();
  Status written = load.waitForWrites(20000, 180s);
  EXPECT_TRUE(written.isOk()) << written.toString();
  auto summary = load.finish();
  EXPECT_TRUE(summary.isOk()) << summary.status().toString();
  if (summary.isOk()) {
    EXPECT_EQ(loadProblems(*summary, 20000), "") << summary->dump();
  }
  return countKeys(env, cluster);
}

json operation(OperatorEnv& env, const std::string& cluster) {
  auto rc = env.getJson("rediscluster " + cluster);
  if (!rc.isOk()) return nullptr;
  return rc->value("status", json::object()).value("operation", json());
}

int64_t slotsMoved(OperatorEnv& env, const std::string& cluster) {
  json op = operation(env, cluster);
  return op.is_object() ? op.value("slotsMoved", int64_t{0}) : -1;
}

}  // namespace slotkeeper::e2e
