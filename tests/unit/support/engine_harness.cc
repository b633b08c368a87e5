#include "unit/support/engine_harness.h"

#include <algorithm>

#include "common/log.h"
#include "redis/key_slot.h"

namespace slotkeeper::test {

topology::DesiredShape shapeOf(const std::vector<std::string>& addresses, int masters,
                               int replicas) {
  topology::DesiredShape shape;
  shape.masters = masters;
  shape.replicas_per_master = replicas;
  for (const auto& address : addresses) shape.nodes.push_back({address, "", -1});
  return shape;
}

engine::ConvergeOptions fakeConvergeOptions() {
  engine::ConvergeOptions options;
  options.executor.agreement.timeout = std::chrono::seconds(30);
  options.executor.agreement.poll_interval = std::chrono::milliseconds(50);
  return options;
}

std::map<std::string, std::string> makeDataset(int count, const std::string& prefix) {
  std::map<std::string, std::string> data;
  for (int i = 0; i < count; ++i) {
    std::string key = prefix + ":" + std::to_string(i);
    if (i % 10 == 0) key = "{" + prefix + "-tag" + std::to_string(i / 100) + "}:" + key;
    data[key] = "value-" + std::to_string(i * 7919 % 100003);
  }
  return data;
}

EngineHarness::EngineHarness(FakeRedisCluster::Options options) : cluster(options) {
  // The engine's step-by-step info lines would bury a failure's own output.
  log::setLevel(log::Level::kWarn);
  clock.setSleepHook([this](Clock::Duration) { cluster.propagate(); });
}

Result<engine::ConvergeReport> EngineHarness::converge(const topology::DesiredShape& shape,
                                                       const engine::ConvergeOptions& options) {
  return engine::converge(cluster, clock, shape, options);
}

void EngineHarness::load(const std::map<std::string, std::string>& data) {
  for (const auto& [key, value] : data) {
    Status s = cluster.writeKey(key, value);
    ASSERT_TRUE(s.isOk()) << s.toString();
  }
}

::testing::AssertionResult holdsExactly(const FakeRedisCluster& cluster,
                                        const std::map<std::string, std::string>& data) {
  auto failure = ::testing::AssertionFailure();
  int problems = 0;
  auto note = [&](const std::string& line) {
    if (++problems <= 20) failure << "\n  " << line;
  };
  const auto holders = cluster.keyHolders();
  std::map<std::string, std::map<std::string, std::string>> by_master;
  for (const auto& [key, where] : holders) {
    if (data.count(key) == 0) note("unexpected key '" + key + "' on " + where.front());
  }
  for (const auto& [key, value] : data) {
    auto it = holders.find(key);
    if (it == holders.end()) {
      note("key '" + key + "' (slot " + std::to_string(redis::keyHashSlot(key)) + ") is lost");
      continue;
    }
    if (it->second.size() != 1) {
      note("key '" + key + "' is on " + std::to_string(it->second.size()) + " masters");
    }
    const std::string& master = it->second.front();
    if (by_master.count(master) == 0) by_master[master] = cluster.keysOf(master);
    auto held = by_master[master].find(key);
    if (held == by_master[master].end() || held->second != value) {
      note("key '" + key + "' on " + master + " has the wrong value");
    }
  }
  for (const auto& line : cluster.placementProblems()) note(line);
  if (problems == 0) return ::testing::AssertionSuccess();
  if (problems > 20) failure << "\n  ... " << problems - 20 << " more";
  return failure;
}

std::vector<int> sortedSlotCounts(const FakeRedisCluster& cluster) {
  std::vector<int> counts;
  for (const auto& [address, count] : cluster.slotCounts()) counts.push_back(count);
  std::sort(counts.begin(), counts.end());
  return counts;
}

::testing::AssertionResult agreeAndServe(FakeRedisCluster& cluster,
                                         const std::vector<std::string>& addresses) {
  if (!cluster.viewsAgree(addresses)) {
    return ::testing::AssertionFailure() << "slot views differ or a slot is open";
  }
  std::set<std::string> ids;
  for (const auto& address : addresses) ids.insert(cluster.idOf(address));
  for (const auto& address : addresses) {
    auto known = cluster.knownIds(address);
    known.insert(cluster.idOf(address));
    for (const auto& id : ids) {
      if (known.count(id) == 0) {
        return ::testing::AssertionFailure()
               << address << " does not know " << cluster.addressOfId(id);
      }
    }
    auto client = cluster.connect(address);
    if (!client.isOk()) return ::testing::AssertionFailure() << client.status().toString();
    auto info = (*client)->clusterInfo();
    if (!info.isOk()) return ::testing::AssertionFailure() << info.status().toString();
    if (info->state != "ok") {
      return ::testing::AssertionFailure() << address << " reports cluster_state:" << info->state;
    }
  }
  return ::testing::AssertionSuccess();
}

std::map<std::string, int> replicaCounts(const FakeRedisCluster& cluster,
                                         const std::vector<std::string>& addresses) {
  std::map<std::string, int> counts;
  for (const auto& address : addresses) {
    if (!cluster.isReplica(address)) counts[address] += 0;
  }
  for (const auto& address : addresses) {
    if (cluster.isReplica(address)) ++counts[cluster.addressOfId(cluster.masterIdOf(address))];
  }
  return counts;
}

}  // namespace slotkeeper::test
