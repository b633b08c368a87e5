// Whole reconcile passes (snapshot -> decide -> act) against fakes: a Kubernetes that keeps
// objects in memory and plays kubelet (every StatefulSet replica becomes a ready pod at once),
// and the in-memory Redis Cluster. Checks what users see — slots, keys, roles, status, Events —
// and what the operator writes, including that a pass at rest writes nothing.
#include "reconciler/reconciler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "api/codec.h"
#include "api/conditions.h"
#include "resources/metadata.h"
#include "unit/support/fake_redis_cluster.h"
#include "unit/support/manual_clock.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;
using test::FakeRedisCluster;
using test::ManualClock;

// Kubernetes in memory. Applying a StatefulSet creates its pods as ready, with addresses
// 127.20.<shard>.<ordinal + 1>, and a fresh Redis node behind each new one.
class FakeKube final : public KubePort {
 public:
  explicit FakeKube(FakeRedisCluster& redis) : redis_(redis) {}

  json cluster;
  std::map<std::string, json> statefulsets;  // by path
  std::map<std::string, json> pods;          // by name
  int applies = 0, status_patches = 0, removes = 0;
  std::vector<std::string> events;  // "Reason: message"

  Result<std::optional<json>> readCluster(const std::string&, const std::string&) override {
    return cluster.is_null() ? std::optional<json>() : std::optional<json>(cluster);
  }
  std::vector<json> readOwned(const kube::ResourceRef& collection, const std::string&,
                              const std::string&) override {
    std::vector<json> out;
    const auto& source = collection.plural == "pods" ? pods : statefulsets;
    for (const auto& [key, object] : source) out.push_back(object);
    return out;
  }
  Result<json> readSecret(const std::string&, const std::string& name) override {
    return notFound("secret " + name);
  }
  Result<json> readNode(const std::string& name) override {
    return json{{"metadata", {{"name", name}, {"labels", {{"topology.kubernetes.io/zone", "z"}}}}}};
  }
  Status apply(const kube::ResourceRef& ref, const json& object) override {
    ++applies;
    if (ref.plural == "statefulsets") {
      // As the StatefulSet controller does: a new generation, and the revision of its template.
      json sts = object;
      auto old = statefulsets.find(ref.path());
      const int64_t generation =
          old == statefulsets.end() ? 1 : old->second["metadata"].value("generation", 1) + 1;
      sts["metadata"]["generation"] = generation;
      sts["status"] = {
          {"observedGeneration", generation},
          {"updateRevision",
           "rev-" + std::to_string(std::hash<std::string>{}(sts["spec"]["template"].dump()))}};
      statefulsets[ref.path()] = sts;
      runPods(sts);
    }
    return Status::ok();
  }
  Status remove(const kube::ResourceRef& ref) override {
    ++removes;
    statefulsets.erase(ref.path());
    return Status::ok();
  }
  // A deleted pod's redis process is gone with its emptyDir; the StatefulSet recreates the pod
  // at once, on a new address, from its current template.
  Status deletePod(const std::string&, const std::string& name, const std::string&) override {
    auto pod = pods.find(name);
    if (pod == pods.end()) return Status::ok();
    const std::string address = pod->second["status"].value("podIP", "") + ":6379";
    deleted_pods.push_back(name);
    if (!redis_.isReplica(address) && !redis_.slotsOf(address).empty()) {
      deleted_serving_masters.push_back(name);
    }
    redis_.setReachable(address, false);
    pods.erase(pod);
    for (const auto& [path, sts] : statefulsets) {
      if (name.rfind(sts["metadata"].value("name", "") + "-", 0) == 0) runPods(sts);
    }
    return Status::ok();
  }
  std::vector<std::string> deleted_pods;
  std::vector<std::string> deleted_serving_masters;  // must stay empty
  Status removeClusterAnnotations(const std::string&, const std::string&,
                                  const std::vector<std::string>& keys) override {
    for (const auto& key : keys) cluster["metadata"]["annotations"].erase(key);
    bumpVersion();
    return Status::ok();
  }
  Status patchStatus(const std::string&, const std::string&, const json& status) override {
    ++status_patches;
    cluster["status"].merge_patch(status);
    bumpVersion();
    max_slots_moved = std::max<int64_t>(
        max_slots_moved,
        cluster["status"].value("operation", json::object()).value("slotsMoved", int64_t{0}));
    return Status::ok();
  }
  void recordEvent(const json&, kube::EventType, std::string_view reason,
                   const std::string& message) override {
    events.push_back(std::string(reason) + ": " + message);
  }

  void bumpVersion() { cluster["metadata"]["resourceVersion"] = std::to_string(++version_); }
  int64_t max_slots_moved = 0;

 private:
  void runPods(const json& sts) {
    auto shard = resources::shardFromLabels(sts["metadata"]["labels"]);
    const int replicas = sts["spec"].value("replicas", 1);
    for (int ordinal = 0; ordinal < replicas; ++ordinal) {
      const std::string name = sts["metadata"].value("name", "") + "-" + std::to_string(ordinal);
      if (pods.count(name)) continue;
      const int incarnation = incarnations_[name]++;
      const std::string ip =
          "127.20." + std::to_string(*shard) + "." + std::to_string(ordinal + 1 + 10 * incarnation);
      redis_.addNode(ip + ":6379");
      json labels = {
          {std::string(resources::kLabelShard), std::to_string(*shard)},
          {std::string(resources::kLabelRevision), sts["status"].value("updateRevision", "")}};
      pods[name] = {{"metadata",
                     {{"name", name},
                      {"namespace", "ns"},
                      {"uid", name + "-" + std::to_string(incarnation)},
                      {"labels", std::move(labels)}}},
                    {"spec", {{"nodeName", "node-" + std::to_string(ordinal)}}},
                    {"status",
                     {{"phase", "Running"},
                      {"podIP", ip},
                      {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
    }
  }

  FakeRedisCluster& redis_;
  int version_ = 1;
  std::map<std::string, int> incarnations_;  // pods created per name
};

// Hands out connectors to the fake cluster, counting the connections opened.
class FakeRedisPort final : public RedisPort {
 public:
  explicit FakeRedisPort(FakeRedisCluster& redis) : redis_(redis) {}
  int connections = 0;

  std::unique_ptr<redis::NodeConnector> connector(const redis::ConnectOptions&) override {
    return std::make_unique<Counting>(redis_, connections);
  }

 private:
  class Counting final : public redis::NodeConnector {
   public:
    Counting(FakeRedisCluster& redis, int& count) : redis_(redis), count_(count) {}
    Result<std::unique_ptr<redis::NodeClient>> connect(const std::string& address) override {
      ++count_;
      return redis_.connect(address);
    }

   private:
    FakeRedisCluster& redis_;
    int& count_;
  };
  FakeRedisCluster& redis_;
};

json clusterObject(int masters) {
  return {{"apiVersion", "redis.slotkeeper.io/v1alpha1"},
          {"kind", "RedisCluster"},
          {"metadata",
           {{"name", "rc"},
            {"namespace", "ns"},
            {"uid", "u1"},
            {"generation", 1},
            {"resourceVersion", "1"}}},
          {"spec", {{"masters", masters}, {"replicasPerMaster", 0}}}};
}

struct Bench {
  FakeRedisCluster redis;
  FakeKube kube{redis};
  FakeRedisPort redis_port{redis};
  ManualClock clock{[this](Clock::Duration) { redis.gossipRound(); }};
  std::atomic<bool> stopping{false};
  kube::ReconcileContext context{&stopping, {}};
  ClusterReconciler reconciler{kube, redis_port, clock, ReconcilerOptions{}};

  Result<std::chrono::milliseconds> pass() { return reconciler.reconcile("ns/rc", context); }

  bool ready() const {
    auto status = api::decodeStatus(kube.cluster.value("status", json::object()));
    return status.isOk() && api::isConditionTrue(status->conditions, api::kConditionReady) &&
           status->observed_generation == kube.cluster["metadata"].value("generation", 0);
  }

  // Runs passes until Ready; returns how many it took (-1: never).
  int passUntilReady(int max_passes = 40) {
    for (int i = 1; i <= max_passes; ++i) {
      auto result = pass();
      EXPECT_TRUE(result.isOk()) << result.status().toString();
      if (ready()) return i;
    }
    return -1;
  }
};

TEST(Reconciler, CreatesScalesOutKeepingEveryKeyAndThenWritesNothingAtRest) {
  Bench b;
  b.kube.cluster = clusterObject(3);
  ASSERT_GT(b.passUntilReady(), 0) << b.kube.cluster.dump(2);
  auto counts = b.redis.slotCounts();
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [address, slots] : counts) EXPECT_NEAR(slots, 16384 / 3, 1) << address;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(b.redis.writeKey("key:" + std::to_string(i), "v" + std::to_string(i)).isOk());
  }

  // kubectl scale: spec and generation change.
  b.kube.cluster["spec"]["masters"] = 4;
  b.kube.cluster["metadata"]["generation"] = 2;
  b.kube.bumpVersion();
  ASSERT_GT(b.passUntilReady(), 0) << b.kube.cluster.dump(2);
  counts = b.redis.slotCounts();
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [address, slots] : counts) EXPECT_EQ(slots, 4096) << address;
  EXPECT_TRUE(b.redis.placementProblems().empty()) << b.redis.placementProblems().front();
  int64_t keys = 0;
  for (const auto& [address, slots] : counts) keys += b.redis.keyCount(address);
  EXPECT_EQ(keys, 2000);
  EXPECT_GT(b.kube.max_slots_moved, 0) << "progress was recorded in status.operation";
  EXPECT_TRUE(b.kube.cluster["status"]["operation"].is_null()) << "and cleared at the end";
  auto has_event = [&](const std::string& prefix) {
    return std::any_of(b.kube.events.begin(), b.kube.events.end(),
                       [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has_event("MigratingSlots: Starting: ")) << ::testing::PrintToString(b.kube.events);
  EXPECT_TRUE(has_event("Reconciled: Done: ")) << ::testing::PrintToString(b.kube.events);

  // At rest: a pass reads (one connection per node) and writes nothing.
  ASSERT_TRUE(b.pass().isOk());  // settles anything the last pass still had to say
  const int applies = b.kube.applies, patches = b.kube.status_patches;
  const size_t events = b.kube.events.size();
  const int connections_before = b.redis_port.connections;
  auto requeue = b.pass();
  ASSERT_TRUE(requeue.isOk());
  EXPECT_EQ(*requeue, ReconcilerOptions{}.decide.health_check_interval);
  EXPECT_EQ(b.kube.applies, applies) << "nothing re-applied at rest";
  EXPECT_EQ(b.kube.status_patches, patches) << "no status write at rest";
  EXPECT_EQ(b.kube.events.size(), events) << "no Event at rest";
  EXPECT_EQ(b.redis_port.connections - connections_before, 4) << "one connection per node";
}

TEST(Reconciler, AMissingPasswordSecretIsReportedAndNothingElseChanges) {
  Bench b;
  b.kube.cluster = clusterObject(3);
  ASSERT_GT(b.passUntilReady(), 0);
  b.kube.cluster["spec"]["passwordSecret"] = {{"name", "rc-auth"}, {"key", "password"}};
  b.kube.cluster["spec"]["masters"] = 4;
  b.kube.cluster["metadata"]["generation"] = 2;
  b.kube.bumpVersion();
  auto result = b.pass();
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  auto status = api::decodeStatus(b.kube.cluster["status"]);
  ASSERT_TRUE(status.isOk());
  const api::Condition* degraded = api::findCondition(status->conditions, api::kConditionDegraded);
  ASSERT_NE(degraded, nullptr);
  EXPECT_EQ(degraded->reason, api::kReasonSecretUnavailable);
  EXPECT_NE(degraded->message.find("rc-auth"), std::string::npos);
  EXPECT_EQ(status->masters, 3) << "status stays current";
  EXPECT_EQ(b.redis.slotCounts().size(), 3u) << "no topology change without the Secret";
}

TEST(Reconciler, ANewImageRollsEveryPodOnceFailingEachMasterOverFirstAndKeepsEveryKey) {
  Bench b;
  b.kube.cluster = clusterObject(3);
  b.kube.cluster["spec"]["replicasPerMaster"] = 1;
  ASSERT_GT(b.passUntilReady(), 0) << b.kube.cluster.dump(2);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(b.redis.writeKey("key:" + std::to_string(i), "v" + std::to_string(i)).isOk());
  }
  ASSERT_TRUE(b.pass().isOk());

  b.kube.cluster["spec"]["image"] = "redis:7.2";
  b.kube.cluster["metadata"]["generation"] = 2;
  b.kube.bumpVersion();
  auto outdated = [&] { return b.kube.cluster["status"].value("outdatedPods", -1); };
  // The first pass applies the new template; the pods' drift shows from the second.
  for (int pass = 0; pass < 200; ++pass) {
    auto result = b.pass();
    ASSERT_TRUE(result.isOk()) << result.status().toString();
    if (pass > 0 && b.ready() && outdated() == 0) break;
  }
  ASSERT_TRUE(b.ready() && outdated() == 0) << b.kube.cluster["status"].dump(2);

  std::vector<std::string> deleted = b.kube.deleted_pods;
  std::sort(deleted.begin(), deleted.end());
  EXPECT_EQ(deleted, (std::vector<std::string>{"rc-shard-0-0", "rc-shard-0-1", "rc-shard-1-0",
                                               "rc-shard-1-1", "rc-shard-2-0", "rc-shard-2-1"}))
      << "every pod restarted exactly once";
  EXPECT_TRUE(b.kube.deleted_serving_masters.empty())
      << "a master's pod was deleted before it was failed over: "
      << ::testing::PrintToString(b.kube.deleted_serving_masters);
  EXPECT_EQ(b.kube.cluster["status"].value("updatedPods", 0), 6);
  int failovers = 0;
  for (const auto& e : b.kube.events) failovers += e.rfind("FailingOver: ", 0) == 0;
  EXPECT_EQ(failovers, 3) << ::testing::PrintToString(b.kube.events);
  EXPECT_TRUE(std::any_of(b.kube.events.begin(), b.kube.events.end(), [](const std::string& e) {
    return e.rfind("RolloutComplete: ", 0) == 0;
  }));
  int64_t keys = 0;
  for (const auto& [address, slots] : b.redis.slotCounts()) keys += b.redis.keyCount(address);
  EXPECT_EQ(keys, 2000);
  EXPECT_TRUE(b.redis.placementProblems().empty()) << b.redis.placementProblems().front();
}

}  // namespace
}  // namespace slotkeeper::reconciler
