// Unit tests of the node agent's pure translation code: flags, $(VAR) expansion, mount path
// rewriting, the image -> binary map, exec-probe retargeting, pod phase and status.
#include <gtest/gtest.h>

#include "agent_options.h"
#include "container_command.h"
#include "kube/timefmt.h"
#include "pod_status.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

TEST(AgentOptions, ParsesFlagsInBothForms) {
  auto options = parseAgentArgs({"--nodes", "5", "--state-dir=/tmp/x", "--operator-image",
                                 "slotkeeper:dev=/bin/op", "--backoff-base", "500ms",
                                 "--heartbeat=2s", "--keep-pod-dirs"});
  ASSERT_TRUE(options.isOk()) << options.status().toString();
  EXPECT_EQ(options->nodes, 5);
  EXPECT_EQ(options->state_dir, "/tmp/x");
  EXPECT_EQ(options->image_binaries.at("slotkeeper:dev"), "/bin/op");
  EXPECT_EQ(options->backoff_base, std::chrono::milliseconds(500));
  EXPECT_EQ(options->heartbeat, std::chrono::seconds(2));
  EXPECT_TRUE(options->keep_pod_dirs);
}

TEST(AgentOptions, RejectsBadInput) {
  EXPECT_FALSE(parseAgentArgs({"--nodes", "3"}).isOk());  // no --state-dir
  EXPECT_FALSE(parseAgentArgs({"--state-dir", "/x", "--nodes", "zero"}).isOk());
  EXPECT_FALSE(parseAgentArgs({"--state-dir", "/x", "--bogus", "1"}).isOk());
  EXPECT_FALSE(parseAgentArgs({"--state-dir", "/x", "--operator-image", "noequals"}).isOk());
  EXPECT_EQ(parseAgentArgs({"--help"}).status().code(), StatusCode::kAborted);
}

TEST(ExpandVars, FollowsKubernetesRules) {
  const std::map<std::string, std::string> vars = {{"POD_IP", "127.20.0.5"}, {"EMPTY", ""}};
  EXPECT_EQ(expandVars("--announce $(POD_IP)", vars), "--announce 127.20.0.5");
  EXPECT_EQ(expandVars("$(UNDEFINED)", vars), "$(UNDEFINED)");
  EXPECT_EQ(expandVars("$$(POD_IP)", vars), "$(POD_IP)");
  EXPECT_EQ(expandVars("a$(EMPTY)b", vars), "ab");
  EXPECT_EQ(expandVars("cost $5 and $(", vars), "cost $5 and $(");
}

TEST(PathRewriter, RewritesWholePathPrefixesOnly) {
  PathRewriter paths({{"/data", "/s/pv1"}, {"/etc/redis", "/s/cfg"}, {"/data/sub", "/s/other"}});
  EXPECT_EQ(paths.rewrite("--dir /data"), "--dir /s/pv1");
  EXPECT_EQ(paths.rewrite("--dir=/data/nodes.conf"), "--dir=/s/pv1/nodes.conf");
  EXPECT_EQ(paths.rewrite("/data/sub/x"), "/s/other/x");  // longest mount wins
  EXPECT_EQ(paths.rewrite("/database"), "/database");
  EXPECT_EQ(paths.rewrite("/x/data"), "/x/data");
  EXPECT_EQ(paths.rewrite("include /etc/redis/redis.conf\ndir /data\n"),
            "include /s/cfg/redis.conf\ndir /s/pv1\n");
  EXPECT_EQ(paths.hostPathFor("/etc/redis/a.conf"), "/s/cfg/a.conf");
  EXPECT_EQ(paths.hostPathFor("/etc/redisx"), "");
}

TEST(ImageMap, OperatorImagesMatchByRepositoryAndWinOverRedis) {
  ImageMap map;
  map.binaries = {{"ghcr.io/acme/redis-operator:v1", "/bin/op"}, {"slotkeeper", "/bin/sk"}};
  EXPECT_EQ(imageRepository("reg:5000/a/b:tag@sha256:abc"), "reg:5000/a/b");
  EXPECT_EQ(binaryForImage("ghcr.io/acme/redis-operator:v2", map), "/bin/op");
  EXPECT_EQ(binaryForImage("example.com/x/slotkeeper:dev", map), "/bin/sk");
  EXPECT_EQ(binaryForImage("slotkeeper-other", map), "");

  auto op = mapContainerCommand("ghcr.io/acme/redis-operator:v1", {"/manager"}, {"--leader"}, map);
  ASSERT_TRUE(op.isOk());
  EXPECT_EQ(op->argv, (std::vector<std::string>{"/bin/op", "--leader"}));
  EXPECT_FALSE(op->redis_server);
}

TEST(ImageMap, RedisImagesRunRedisServerOrTheGivenCommand) {
  ImageMap map;
  auto plain = mapContainerCommand("redis:7.2", {}, {}, map);
  ASSERT_TRUE(plain.isOk());
  EXPECT_TRUE(plain->redis_server);
  EXPECT_EQ(plain->argv, (std::vector<std::string>{"/usr/bin/redis-server"}));

  auto with_conf = mapContainerCommand("docker.io/library/redis:7", {"redis-server"},
                                       {"/conf/redis.conf", "--port", "6379"}, map);
  ASSERT_TRUE(with_conf.isOk());
  EXPECT_EQ(with_conf->argv, (std::vector<std::string>{"/usr/bin/redis-server", "/conf/redis.conf",
                                                       "--port", "6379"}));

  auto args_only = mapContainerCommand("redis", {}, {"redis-server", "--appendonly", "yes"}, map);
  ASSERT_TRUE(args_only.isOk());
  EXPECT_EQ(args_only->argv,
            (std::vector<std::string>{"/usr/bin/redis-server", "--appendonly", "yes"}));

  auto shell = mapContainerCommand("redis:7.2", {"sh", "-c"}, {"exit 3"}, map);
  ASSERT_TRUE(shell.isOk());
  EXPECT_FALSE(shell->redis_server);
  EXPECT_EQ(shell->executable, "sh");

  auto unknown = mapContainerCommand("busybox:1.36", {}, {}, map);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "image busybox:1.36 has no local binary");
}

TEST(RetargetExec, PointsRedisCliAtThePodAddress) {
  const std::string ip = "127.20.0.9";
  EXPECT_EQ(retargetExecCommand({"redis-cli", "ping"}, ip),
            (std::vector<std::string>{"redis-cli", "-h", ip, "ping"}));
  EXPECT_EQ(retargetExecCommand({"redis-cli", "-h", "localhost", "-p", "6379", "ping"}, ip),
            (std::vector<std::string>{"redis-cli", "-h", ip, "-p", "6379", "ping"}));
  EXPECT_EQ(retargetExecCommand({"sh", "-c", "redis-cli ping | grep PONG"}, ip)[2],
            "redis-cli -h " + ip + " ping | grep PONG");
  EXPECT_EQ(retargetExecCommand({"sh", "-c", "redis-cli -h 127.0.0.1 ping"}, ip)[2],
            "redis-cli -h " + ip + " ping");
  EXPECT_EQ(retargetExecCommand({"cat", "/tmp/127.0.0.10"}, ip)[1], "/tmp/127.0.0.10");
}

ContainerView running(const std::string& name, bool ready) {
  ContainerView c;
  c.name = name;
  c.state = ContainerView::State::kRunning;
  c.ready = ready;
  c.started = true;
  return c;
}

ContainerView terminated(const std::string& name, int code) {
  ContainerView c;
  c.name = name;
  c.state = ContainerView::State::kTerminated;
  c.terminated = TerminatedState{code, 0, code == 0 ? "Completed" : "Error", "", {}, {}, ""};
  return c;
}

TEST(PodPhase, FollowsTheKubeletRules) {
  PodView view;
  view.containers = {ContainerView{}};  // waiting, never ran
  EXPECT_EQ(podPhase(view), "Pending");
  view.containers = {running("a", true), terminated("b", 1)};
  EXPECT_EQ(podPhase(view), "Running");

  view.containers = {terminated("a", 0), terminated("b", 0)};
  view.restart_policy = "Never";
  EXPECT_EQ(podPhase(view), "Succeeded");
  view.containers = {terminated("a", 0), terminated("b", 3)};
  EXPECT_EQ(podPhase(view), "Failed");
  view.restart_policy = "OnFailure";
  EXPECT_EQ(podPhase(view), "Running");

  // Back-off after a crash counts as stopped, not pending.
  ContainerView backing_off;
  backing_off.waiting_reason = "CrashLoopBackOff";
  backing_off.last_termination = TerminatedState{1, 0, "Error", "", {}, {}, ""};
  view.restart_policy = "Always";
  view.containers = {backing_off};
  EXPECT_EQ(podPhase(view), "Running");

  // Init containers gate everything; a failed one under Never fails the pod.
  view.init_containers = {running("init", false)};
  view.containers = {ContainerView{}};
  EXPECT_EQ(podPhase(view), "Pending");
  view.restart_policy = "Never";
  view.init_containers = {terminated("init", 2)};
  EXPECT_EQ(podPhase(view), "Failed");
}

TEST(PodStatus, ConditionsKeepTransitionTimesWhileUnchanged) {
  PodView view;
  view.pod_ip = "127.20.0.7";
  view.host_ip = "127.0.0.1";
  view.sandbox_ready = true;
  view.containers = {running("redis", false)};
  const json pod = {
      {"metadata", {{"name", "p"}}},
      {"status",
       {{"conditions", json::array({{{"type", "PodScheduled"},
                                     {"status", "True"},
                                     {"lastTransitionTime", "2020-01-01T00:00:00Z"}}})}}}};
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  const json first = buildPodStatus(view, pod, json(), t0);
  EXPECT_EQ(first["phase"], "Running");
  EXPECT_EQ(first["podIP"], "127.20.0.7");
  EXPECT_EQ(first["podIPs"][0]["ip"], "127.20.0.7");
  EXPECT_EQ(first["conditions"][0]["lastTransitionTime"], "2020-01-01T00:00:00Z");

  auto ready_of = [](const json& status) {
    for (const json& c : status["conditions"]) {
      if (c["type"] == "Ready") return c;
    }
    return json();
  };
  EXPECT_EQ(ready_of(first)["status"], "False");
  EXPECT_EQ(ready_of(first)["reason"], "ContainersNotReady");

  // Same state a minute later: identical status (no needless patch).
  const json again = buildPodStatus(view, pod, first, t0 + std::chrono::seconds(60));
  EXPECT_EQ(again, first);

  view.containers[0].ready = true;
  const json ready = buildPodStatus(view, pod, first, t0 + std::chrono::seconds(120));
  EXPECT_EQ(ready_of(ready)["status"], "True");
  EXPECT_EQ(ready_of(ready)["lastTransitionTime"],
            kube::formatTime(t0 + std::chrono::seconds(120)));
  EXPECT_EQ(ready["containerStatuses"][0]["state"].begin().key(), "running");
}

TEST(PodStatus, ContainerStatusShowsBackOffAndLastState) {
  ContainerView c;
  c.name = "app";
  c.image = "redis:7.2";
  c.restart_count = 2;
  c.waiting_reason = "CrashLoopBackOff";
  c.waiting_message = "back-off 2s";
  c.last_termination = TerminatedState{3, 0, "Error", "", {}, {}, "slotkeeper://42"};
  const json s = containerStatusJson(c);
  EXPECT_EQ(s["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(s["lastState"]["terminated"]["exitCode"], 3);
  EXPECT_EQ(s["restartCount"], 2);
  EXPECT_EQ(s["ready"], false);
}

}  // namespace
}  // namespace slotkeeper::agent
