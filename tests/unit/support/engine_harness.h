// Shared scaffolding for engine tests against FakeRedisCluster: desired shapes, engine options
// sized for a fake (short agreement timeout in fake time), deterministic datasets, and gtest
// assertions that read outcomes back from the fake (which master holds each key, who owns each
// slot, who replicates whom).
//
// Thread-safety: EngineHarness is driven by one test thread; the engine may call into its
// cluster and clock from its own worker threads, which both tolerate.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/converge.h"
#include "topology/model.h"
#include "unit/support/fake_redis_cluster.h"
#include "unit/support/manual_clock.h"

namespace slotkeeper::test {

// `masters` x (1 + `replicas`) desired nodes at `addresses` (no shards, no failure domains).
topology::DesiredShape shapeOf(const std::vector<std::string>& addresses, int masters,
                               int replicas);

// The engine's defaults with waits bounded for a fake: agreement gives up after 30 s of fake
// time, polling every 50 ms of fake time.
engine::ConvergeOptions fakeConvergeOptions();

// `count` keys "key:<n>" (every 10th with a hash tag shared by ten keys) with distinct values.
std::map<std::string, std::string> makeDataset(int count, const std::string& prefix = "key");

// A fake cluster and a manual clock whose every sleep runs one gossip tick on it.
class EngineHarness {
 public:
  explicit EngineHarness(FakeRedisCluster::Options options = {});

  FakeRedisCluster cluster;
  ManualClock clock;

  Result<engine::ConvergeReport> converge(
      const topology::DesiredShape& shape,
      const engine::ConvergeOptions& options = fakeConvergeOptions());
  // Writes every key to the master that owns its slot; fails the test if one cannot be written.
  void load(const std::map<std::string, std::string>& data);
};

// Every key of `data` is on exactly one master, with its value, in a slot that master owns in
// its own view and in the global truth; no master holds any other key; replicas mirror their
// masters.
::testing::AssertionResult holdsExactly(const FakeRedisCluster& cluster,
                                        const std::map<std::string, std::string>& data);

// Slot counts of the masters holding slots, ascending.
std::vector<int> sortedSlotCounts(const FakeRedisCluster& cluster);

// Every reachable node among `addresses` sees the same slot owners (the global truth), knows
// every other one, has no open slot and reports cluster_state:ok over CLUSTER INFO.
::testing::AssertionResult agreeAndServe(FakeRedisCluster& cluster,
                                         const std::vector<std::string>& addresses);

// Replicas per master address, from the fake's roles (masters without replicas map to 0).
std::map<std::string, int> replicaCounts(const FakeRedisCluster& cluster,
                                         const std::vector<std::string>& addresses);

}  // namespace slotkeeper::test
