#include "reconciler/cached_fields.h"

#include <gtest/gtest.h>

#include "reconciler/membership.h"
#include "reconciler/rollout.h"
#include "resources/statefulset.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;

api::RedisCluster tlsCluster() {
  api::RedisCluster c;
  c.name = "rc";
  c.ns = "prod";
  c.uid = "uid-1";
  c.generation = 3;
  c.spec.masters = 3;
  c.spec.replicas_per_master = 1;
  c.spec.storage = api::StorageSpec{"1Gi", "fast"};
  c.spec.resources.requests = {{"cpu", "250m"}, {"memory", "1Gi"}};
  return c;
}

const resources::TlsServing kDual = {resources::TlsStage::kAdding, "rc-tls", false};

// A pod as the API server serves it: the StatefulSet's template filled in by the controllers,
// the scheduler and the kubelet, with everything podInfoFrom looks at set to something.
json servedPod() {
  json sts = resources::makeShardStatefulSet(tlsCluster(), 1, kDual);
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  pod["metadata"] = sts["spec"]["template"]["metadata"];
  pod["metadata"]["name"] = "rc-shard-1-0";
  pod["metadata"]["uid"] = "pod-uid";
  pod["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:05:00Z";
  pod["metadata"]["labels"]["controller-revision-hash"] = "rc-shard-1-7d9";
  pod["metadata"]["managedFields"] = {{{"manager", "kube-controller-manager"}}};
  pod["spec"] = sts["spec"]["template"]["spec"];
  pod["spec"]["nodeName"] = "node-a";
  pod["spec"]["volumes"].push_back(
      {{"name", "token"}, {"projected", {{"sources", json::array()}}}});
  pod["status"] = {
      {"phase", "Pending"},
      {"podIP", "127.20.1.1"},
      {"hostIP", "127.0.0.1"},
      {"qosClass", "Burstable"},
      {"startTime", "2026-01-01T00:00:01Z"},
      {"conditions",
       {{{"type", "PodScheduled"},
         {"status", "False"},
         {"reason", "Unschedulable"},
         {"message", "0/3 nodes are available"},
         {"lastTransitionTime", "2026-01-01T00:00:02Z"}}}},
      {"containerStatuses",
       {{{"name", "redis"},
         {"image", "redis:7.0"},
         {"restartCount", 4},
         {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}, {"message", "back-off"}}}}}}}}};
  return pod;
}

// Every field of PodInfo, for comparing two reads of a pod.
std::string describe(const PodInfo& p) {
  auto seconds = [](const auto& t) {
    return t.has_value() ? std::to_string(t->time_since_epoch().count()) : std::string("-");
  };
  return p.name + "|" + std::to_string(p.shard) + "|" + std::to_string(p.ordinal) + "|" + p.ip +
         "|" + p.node_name + "|" + p.failure_domain + "|" + std::to_string(p.ready) + "|" +
         std::to_string(p.terminating) + "|" + p.unschedulable_message + "|" +
         seconds(p.unschedulable_since) + "|" + p.revision + "|" + seconds(p.created) + "|" +
         p.waiting_reason + "|" + p.waiting_message + "|" + p.uid + "|" +
         std::string(resources::tlsStageName(p.tls_stage)) + "|" + p.tls_secret;
}

TEST(CachedFields, ASlimmedPodReadsAsTheServedOneAndKeepsNoContainerSpec) {
  for (bool with_stage_annotation : {true, false}) {
    json served = servedPod();
    // Templates from before the stage annotation: the stage comes from the TLS volume.
    if (!with_stage_annotation) {
      served["metadata"]["annotations"].erase(std::string(resources::kAnnotationTlsStage));
    }
    json slim = served;
    keepPodFieldsTheReconcilerReads(slim);

    auto full_info = podInfoFrom(served);
    auto slim_info = podInfoFrom(slim);
    ASSERT_TRUE(full_info.isOk()) << full_info.status().toString();
    ASSERT_TRUE(slim_info.isOk()) << slim_info.status().toString();
    EXPECT_EQ(describe(*slim_info), describe(*full_info));
    EXPECT_EQ(slim_info->tls_secret, "rc-tls") << "the TLS volume is kept";
    EXPECT_EQ(slim_info->waiting_reason, "CrashLoopBackOff");
    EXPECT_EQ(slim_info->unschedulable_message, "0/3 nodes are available");

    EXPECT_FALSE(slim["spec"].contains("containers"));
    EXPECT_FALSE(slim["metadata"].contains("managedFields"));
    EXPECT_EQ(slim["spec"]["volumes"].size(), 1u) << slim["spec"].dump();
    EXPECT_FALSE(slim["status"].contains("qosClass"));
    EXPECT_LT(slim.dump().size() * 2, served.dump().size()) << slim.dump();
  }
}

TEST(CachedFields, ASlimmedStatefulSetGivesTheSameSizesRevisionsAndTemplateAnnotations) {
  json served = resources::makeShardStatefulSet(tlsCluster(), 1, kDual);
  served["metadata"]["generation"] = 5;
  served["metadata"]["managedFields"] = {{{"manager", "slotkeeper"}}};
  served["spec"]["replicas"] = 2;
  served["status"] = {{"observedGeneration", 5},
                      {"updateRevision", "rc-shard-1-7d9"},
                      {"currentRevision", "rc-shard-1-6c1"}};
  json slim = served;
  keepStatefulSetFieldsTheReconcilerReads(slim);

  json metadata = served["metadata"];
  metadata.erase("managedFields");
  EXPECT_EQ(slim["metadata"], metadata);
  EXPECT_EQ(slim["spec"]["replicas"], 2);
  EXPECT_EQ(slim["spec"]["template"]["metadata"], served["spec"]["template"]["metadata"]);
  EXPECT_FALSE(slim["spec"]["template"].contains("spec"));
  EXPECT_FALSE(slim["spec"].contains("volumeClaimTemplates"));

  PodInfo current;
  current.name = "rc-shard-1-0";
  current.shard = 1;
  current.revision = "rc-shard-1-7d9";
  PodInfo old = current;
  old.name = "rc-shard-1-1";
  old.revision = "rc-shard-1-6c1";
  const Drift from_served = measureDrift({{1, served}}, {current, old});
  const Drift from_slim = measureDrift({{1, slim}}, {current, old});
  EXPECT_EQ(from_slim.update_revisions, from_served.update_revisions);
  EXPECT_EQ(from_slim.outdated, from_served.outdated);
  EXPECT_EQ(from_slim.updated, 1);
  EXPECT_FALSE(from_slim.revisions_pending);
}

TEST(CachedFields, ObjectsWithoutSpecOrStatusAreLeftAsTheyAre) {
  json pod = {{"metadata", {{"name", "p"}}}};
  keepPodFieldsTheReconcilerReads(pod);
  EXPECT_EQ(pod, json({{"metadata", {{"name", "p"}}}}));
  json sts = {{"metadata", {{"name", "s"}}}, {"spec", "not an object"}};
  keepStatefulSetFieldsTheReconcilerReads(sts);
  EXPECT_EQ(sts["spec"], "not an object");
  json not_an_object = json::array();
  keepPodFieldsTheReconcilerReads(not_an_object);
  EXPECT_EQ(not_an_object, json::array());
}

}  // namespace
}  // namespace slotkeeper::reconciler
