#include "reconciler/tls_change.h"

#include <gtest/gtest.h>

namespace slotkeeper::reconciler {
namespace {

using resources::TlsStage;

PodInfo pod(int shard, TlsStage stage, std::string secret = "") {
  PodInfo p;
  p.name = "rc-shard-" + std::to_string(shard) + "-0";
  p.shard = shard;
  p.ordinal = 0;
  p.ip = "127.20." + std::to_string(shard) + ".1";
  p.ready = true;
  p.tls_stage = stage;
  p.tls_secret = secret.empty() && stage != TlsStage::kOff ? "rc-tls" : secret;
  return p;
}

api::RedisCluster cluster(bool tls) {
  api::RedisCluster c;
  c.name = "rc";
  c.ns = "default";
  if (tls) c.spec.tls = api::TlsSpec{"rc-tls", true};
  return c;
}

TEST(TlsChange, AClusterAtRestNeedsNothing) {
  auto plain = planTlsChange(cluster(false), {pod(0, TlsStage::kOff), pod(1, TlsStage::kOff)}, {});
  EXPECT_FALSE(plain.in_progress);
  EXPECT_FALSE(plain.bus_tls);
  EXPECT_EQ(plain.serving.stage, TlsStage::kOff);
  EXPECT_EQ(plain.secret_name, "");
  EXPECT_FALSE(plain.switchPending());

  auto tls = planTlsChange(cluster(true), {pod(0, TlsStage::kOn), pod(1, TlsStage::kOn)}, {});
  EXPECT_FALSE(tls.in_progress);
  EXPECT_TRUE(tls.bus_tls);
  EXPECT_EQ(tls.serving.stage, TlsStage::kOn);
  EXPECT_TRUE(tls.serving.require_client_certificates);
  EXPECT_EQ(tls.secret_name, "rc-tls");
}

TEST(TlsChange, AddingTlsRollsOntoTheDualStageWhileAPlaintextPodRemains) {
  std::vector<PodInfo> pods = {pod(0, TlsStage::kOff), pod(1, TlsStage::kAdding)};
  auto change = planTlsChange(cluster(true), pods, {{pods[1].name, false}});
  EXPECT_TRUE(change.in_progress);
  EXPECT_EQ(change.serving.stage, TlsStage::kAdding);
  EXPECT_FALSE(change.bus_tls) << "a plaintext-only pod pins the bus";
  EXPECT_FALSE(change.target_bus_tls);
  EXPECT_FALSE(change.switchPending());
  assignPorts(change.bus_tls, &pods);
  EXPECT_EQ(pods[0].address(), "127.20.0.1:6379");
  EXPECT_EQ(pods[1].address(), "127.20.1.1:6379");
}

TEST(TlsChange, OnceEveryPodIsDualTheBusSwitchesToTlsBeforeTheFinalRoll) {
  std::vector<PodInfo> pods = {pod(0, TlsStage::kAdding), pod(1, TlsStage::kAdding)};
  auto change = planTlsChange(cluster(true), pods, {{pods[0].name, false}, {pods[1].name, false}});
  EXPECT_TRUE(change.target_bus_tls);
  EXPECT_FALSE(change.bus_tls) << "the dual pods still run a plaintext bus";
  EXPECT_EQ(change.bus_switches,
            (std::vector<TlsChange::BusSwitch>{{"127.20.0.1:6379", TlsStage::kAdding},
                                               {"127.20.1.1:6379", TlsStage::kAdding}}));
  EXPECT_FALSE(change.partial) << "nothing switched yet: the switch waits for a cluster at rest";
  EXPECT_EQ(change.serving.stage, TlsStage::kAdding)
      << "a pod started from the final template before the switch would split the bus";

  // Half switched: the operator speaks the target protocol, which every dual pod serves.
  change = planTlsChange(cluster(true), pods, {{pods[0].name, true}, {pods[1].name, false}});
  EXPECT_TRUE(change.bus_tls);
  EXPECT_TRUE(change.partial);
  EXPECT_EQ(change.bus_switches,
            (std::vector<TlsChange::BusSwitch>{{"127.20.1.1:6380", TlsStage::kAdding}}));
  EXPECT_EQ(change.serving.stage, TlsStage::kAdding);

  change = planTlsChange(cluster(true), pods, {{pods[0].name, true}, {pods[1].name, true}});
  EXPECT_FALSE(change.switchPending());
  EXPECT_FALSE(change.partial);
  EXPECT_TRUE(change.bus_tls);
  EXPECT_EQ(change.serving.stage, TlsStage::kOn);
  assignPorts(change.bus_tls, &pods);
  EXPECT_EQ(pods[0].address(), "127.20.0.1:6380") << "a dual pod serves TLS on its second port";
  EXPECT_EQ(otherPortAliases(pods),
            (std::map<std::string, std::string>{{"127.20.0.1:6379", "127.20.0.1:6380"},
                                                {"127.20.1.1:6379", "127.20.1.1:6380"}}));
}

TEST(TlsChange, ADualPodThatRestartedOnTheOldBusIsSwitchedAgain) {
  std::vector<PodInfo> pods = {pod(0, TlsStage::kOn), pod(1, TlsStage::kAdding)};
  auto change = planTlsChange(cluster(true), pods, {{pods[1].name, false}});
  EXPECT_TRUE(change.bus_tls);
  EXPECT_TRUE(change.partial) << "the bus is split: finish the switch before anything else";
  EXPECT_EQ(change.bus_switches,
            (std::vector<TlsChange::BusSwitch>{{"127.20.1.1:6380", TlsStage::kAdding}}));
}

TEST(TlsChange, ADualPodWhoseBusCannotBeReadHoldsTheChange) {
  std::vector<PodInfo> pods = {pod(0, TlsStage::kAdding), pod(1, TlsStage::kAdding)};
  auto change = planTlsChange(cluster(true), pods, {{pods[0].name, true}});
  EXPECT_TRUE(change.bus_unknown);
  EXPECT_TRUE(change.switchPending());
  EXPECT_TRUE(change.partial);
  pods[1].ready = false;
  EXPECT_FALSE(planTlsChange(cluster(true), pods, {{pods[0].name, true}}).bus_unknown)
      << "a pod that is not ready is waited for as any other";
}

TEST(TlsChange, RemovingTlsKeepsTheSecretThePodsMountUntilNoneServesTls) {
  std::vector<PodInfo> pods = {pod(0, TlsStage::kOn, "old-tls"), pod(1, TlsStage::kRemoving)};
  auto change = planTlsChange(cluster(false), pods, {{pods[1].name, true}});
  EXPECT_EQ(change.serving.stage, TlsStage::kRemoving);
  EXPECT_EQ(change.serving.secret_name, "old-tls");
  EXPECT_EQ(tlsSecretName(cluster(false), pods), "old-tls");
  EXPECT_TRUE(change.bus_tls);
  EXPECT_FALSE(change.switchPending());

  pods[0].tls_stage = TlsStage::kRemoving;
  change = planTlsChange(cluster(false), pods, {{pods[0].name, true}, {pods[1].name, true}});
  EXPECT_FALSE(change.target_bus_tls);
  EXPECT_EQ(change.serving.stage, TlsStage::kRemoving) << "until the bus has switched";
  change = planTlsChange(cluster(false), pods, {{pods[0].name, false}, {pods[1].name, false}});
  EXPECT_EQ(change.serving.stage, TlsStage::kOff);
  change = planTlsChange(cluster(false), pods, {{pods[0].name, true}, {pods[1].name, true}});
  EXPECT_EQ(change.bus_switches,
            (std::vector<TlsChange::BusSwitch>{{"127.20.0.1:6379", TlsStage::kRemoving},
                                               {"127.20.1.1:6379", TlsStage::kRemoving}}));

  pods[0].tls_stage = TlsStage::kOff;
  change = planTlsChange(cluster(false), pods, {{pods[1].name, false}});
  EXPECT_FALSE(change.bus_tls);
  EXPECT_TRUE(change.in_progress);
  assignPorts(change.bus_tls, &pods);
  EXPECT_EQ(pods[1].address(), "127.20.1.1:6380") << "plaintext on the second port";
}

TEST(TlsChange, DualPodsAreProbedOnTheirPlaintextPort) {
  const std::vector<PodInfo> pods = {pod(0, TlsStage::kAdding), pod(1, TlsStage::kRemoving),
                                     pod(2, TlsStage::kOn), pod(3, TlsStage::kOff)};
  EXPECT_EQ(dualPodProbes(pods),
            (std::map<std::string, std::string>{{"rc-shard-0-0", "127.20.0.1:6379"},
                                                {"rc-shard-1-0", "127.20.1.1:6380"}}));
}

TEST(TlsChange, PodStageComesFromTheAnnotationOrForOlderPodsFromTheMountedSecret) {
  nlohmann::json object = {
      {"metadata",
       {{"name", "rc-shard-0-1"},
        {"labels", {{std::string(resources::kLabelShard), "0"}}},
        {"annotations", {{"redis.slotkeeper.io/tls", "adding"}}}}},
      {"spec", {{"volumes", {{{"name", "tls"}, {"secret", {{"secretName", "rc-tls"}}}}}}}}};
  auto info = podInfoFrom(object);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->tls_stage, TlsStage::kAdding);
  EXPECT_EQ(info->tls_secret, "rc-tls");
  object["metadata"].erase("annotations");
  EXPECT_EQ(podInfoFrom(object)->tls_stage, TlsStage::kOn);
  object["spec"]["volumes"] = nlohmann::json::array();
  EXPECT_EQ(podInfoFrom(object)->tls_stage, TlsStage::kOff);
}

}  // namespace
}  // namespace slotkeeper::reconciler
