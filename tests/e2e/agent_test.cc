// End-to-end tests of sk-node-agent (tests/agent/), the node agent that plays kubelet for the
// local control plane: it runs as a child process with 3 Nodes, and the tests drive it with
// real kubectl against real kube-apiserver, scheduler and controllers (StatefulSet, PV
// binder), then check the outcome on the real system: pod status read from the API, redis
// servers answering on the pods' own loopback addresses, processes gone after deletion.
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/support/control_plane.h"
#include "kube/client.h"

namespace slotkeeper::e2e {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

#ifdef SK_NODE_AGENT_PATH
constexpr const char* kAgentPath = SK_NODE_AGENT_PATH;
#else
constexpr const char* kAgentPath = "";
#endif

constexpr seconds kWait{60};
constexpr int kNodes = 3;
constexpr const char* kNodePrefix = "agent-e2e";

std::string shellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult runCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  for (size_t i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// True when `pid` no longer names a live process of ours: gone, or recycled for something
// that is not `expected_command`.
bool processGone(pid_t pid, const std::string& expected_command) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  const bool zombie = stat.find(") Z ") != std::string::npos;
  return zombie || cmdline.find(expected_command) == std::string::npos;
}

bool tcpRefused(const std::string& ip, int port) {
  redisContext* c = redisConnect(ip.c_str(), port);
  const bool refused = c == nullptr || c->err != 0;
  if (c != nullptr) redisFree(c);
  return refused;
}

// One redis command on ip:6379; the reply as text ("(nil)" for nil, "ERR..." for errors).
std::string redisCall(const std::string& ip, const std::vector<std::string>& argv) {
  timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout(ip.c_str(), 6379, timeout);
  if (c == nullptr || c->err != 0) {
    std::string error = c == nullptr ? "no context" : c->errstr;
    if (c != nullptr) redisFree(c);
    return "connect failed: " + error;
  }
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data()));
  std::string out = "no reply";
  if (reply != nullptr) {
    if (reply->type == REDIS_REPLY_NIL) {
      out = "(nil)";
    } else if (reply->str != nullptr) {
      out = std::string(reply->str, reply->len);
    } else if (reply->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(reply->integer);
    }
    freeReplyObject(reply);
  }
  redisFree(c);
  return out;
}

// The agent as a child process; stopped with SIGTERM (SIGKILL after a timeout).
class AgentProcess {
 public:
  ~AgentProcess() {
    if (pid_ > 0) stop(seconds(30));
  }

  bool start(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<std::string> argv = {kAgentPath};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (std::string& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      execv(raw[0], raw.data());
      _exit(127);
    }
    return true;
  }

  // Returns the exit code, or -1 when it had to be killed.
  int stop(seconds timeout) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = 0;
        return -1;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool running() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
};

// Resident memory (kB) and CPU seconds of a process, from /proc.
std::string resourceUsage(pid_t pid) {
  std::string rss;
  std::istringstream status(readFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:") || line.starts_with("Threads:")) rss += line + "  ";
  }
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double cpu = f.size() > 12 ? (std::stod(f[11]) + std::stod(f[12])) / ticks : 0;
  return rss + "cpu: " + std::to_string(cpu) + " s";
}

const json& field(const json& object, const char* key) {
  static const json kEmpty = json::object();
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

bool conditionTrue(const json& object, const std::string& type) {
  for (const json& c : field(object, "status").value("conditions", json::array())) {
    if (c.value("type", "") == type) return c.value("status", "") == "True";
  }
  return false;
}

std::string phaseOf(const json& pod) { return field(pod, "status").value("phase", ""); }
std::string ipOf(const json& pod) { return field(pod, "status").value("podIP", ""); }
std::string nodeOf(const json& pod) { return field(pod, "spec").value("nodeName", ""); }
std::string uidOf(const json& pod) { return field(pod, "metadata").value("uid", ""); }

json containerStatus(const json& pod, size_t index = 0) {
  const json statuses = field(pod, "status").value("containerStatuses", json::array());
  return index < statuses.size() ? statuses[index] : json::object();
}

bool runningAndReady(const json& pod) {
  return phaseOf(pod) == "Running" && conditionTrue(pod, "Ready");
}

class NodeAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SK_REQUIRE_CONTROL_PLANE();
    if (std::string(kAgentPath).empty()) GTEST_SKIP() << "SK_NODE_AGENT_PATH not compiled in";
    auto client = ControlPlane::instance().newClient();
    ASSERT_TRUE(client.isOk()) << client.status().toString();
    client_ = std::move(*client);
    kubeconfig_ = ControlPlane::instance().kubeconfigPath();
    std::string pattern = (fs::temp_directory_path() / "sk-agent-e2e-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    state_dir_ = pattern;
    // A /22 of its own in the upper half of 127.20.0.0/16: the demo agent and other tests
    // allocate from the bottom of that range.
    pod_range_third_ = 128 + 4 * (getpid() % 32);
    pod_cidr_ = "127.20." + std::to_string(pod_range_third_) + ".0/22";
  }

  void TearDown() override {
    if (!namespace_.empty() && client_) removeNamespace();
    // A clean exit also means no sanitizer report in sanitizer builds.
    if (agent_.running()) {
      EXPECT_EQ(agent_.stop(seconds(30)), 0) << "agent did not exit cleanly";
    }
    if (HasFailure() && !state_dir_.empty()) {
      std::printf("---- agent log (last 60 lines), state dir %s ----\n%s\n", state_dir_.c_str(),
                  tail(readFile(state_dir_ + "/agent.log"), 60).c_str());
    } else if (!state_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(state_dir_, ec);
    }
  }

  // Leaves nothing for the next test's agent to adopt. The namespace goes first: once it is
  // terminating nothing new (a StatefulSet's replacement pod) can be created in it. With the
  // agent running, its pods terminate normally and their volumes are reclaimed; without it
  // (after the shutdown test) nobody would confirm their termination, so they are
  // force-deleted.
  void removeNamespace() {
    (void)client_->remove(kube::kNamespaces.named(namespace_), kube::DeleteOptions{});
    if (!agent_.running()) {
      auto pods = client_->list(kube::kPods.in(namespace_));
      if (pods.isOk()) {
        for (const json& pod : pods->value("items", json::array())) {
          kube::DeleteOptions now;
          now.grace_period_seconds = 0;
          (void)client_->remove(kube::kPods.in(namespace_).named(kube::objectName(pod)), now);
        }
      }
      return;
    }
    waitUntil("namespace " + namespace_ + " deleted", [&](std::string* seen) {
      auto ns = client_->get(kube::kNamespaces.named(namespace_));
      *seen = ns.isOk() ? "still there" : ns.status().toString();
      return !ns.isOk() && ns.status().code() == StatusCode::kNotFound;
    });
  }

  // Starts the agent with 3 Nodes and waits until the scheduler can use them.
  void startAgent(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "--kubeconfig",  kubeconfig_, "--nodes",        std::to_string(kNodes),
        "--node-prefix", kNodePrefix, "--state-dir",    state_dir_,
        "--pod-cidr",    pod_cidr_,   "--backoff-base", "500ms",
        "--backoff-max", "4s"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(agent_.start(args, state_dir_ + "/agent.log"));
    std::printf("agent pid %d, pod range %s, state dir %s\n", agent_.pid(), pod_cidr_.c_str(),
                state_dir_.c_str());
    waitUntil("3 Ready, untainted Nodes", [&](std::string* seen) {
      *seen = "";
      int ready = 0;
      for (int i = 0; i < kNodes; ++i) {
        auto node =
            client_->get(kube::kNodes.named(std::string(kNodePrefix) + "-" + std::to_string(i)));
        if (!node.isOk()) continue;
        const bool tainted = !field(*node, "spec").value("taints", json::array()).empty();
        *seen += kube::objectName(*node) +
                 (conditionTrue(*node, "Ready") ? " Ready" : " NotReady") +
                 (tainted ? " tainted; " : "; ");
        if (conditionTrue(*node, "Ready") && !tainted) ++ready;
      }
      return ready == kNodes;
    });
  }

  // Polls `check` every 250ms until it returns true; a failure names what was awaited and
  // what was last seen.
  bool waitUntil(const std::string& what, const std::function<bool(std::string*)>& check,
                 seconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string seen;
    while (true) {
      if (check(&seen)) return true;
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(milliseconds(250));
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << "s waiting for " << what
                  << "; last seen: " << seen;
    return false;
  }

  CommandResult kubectl(const std::string& args) {
    return runCommand("kubectl --kubeconfig " + shellQuote(kubeconfig_) + " " + args);
  }

  void apply(const std::string& yaml) {
    static int counter = 0;
    const std::string path = state_dir_ + "/manifest-" + std::to_string(++counter) + ".yaml";
    std::ofstream(path) << yaml;
    CommandResult result = kubectl("apply -f " + shellQuote(path));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    std::printf("kubectl apply:\n%s", result.output.c_str());
  }

  bool inPodRange(const std::string& ip) const {
    const std::string prefix = "127.20.";
    if (!ip.starts_with(prefix)) return false;
    const int third = std::atoi(ip.c_str() + prefix.size());
    return third >= pod_range_third_ && third < pod_range_third_ + 4;
  }

  // Creates the namespace and waits for its default ServiceAccount: pods created before it
  // exists are refused by the ServiceAccount admission plugin.
  void createNamespace(const std::string& name) {
    CommandResult created = kubectl("create namespace " + name);
    ASSERT_EQ(created.exit_code, 0) << created.output;
    namespace_ = name;
    waitUntil("ServiceAccount " + name + "/default", [&](std::string* seen) {
      auto sa = client_->get(kube::kServiceAccounts.in(name).named("default"));
      *seen = sa.isOk() ? "present" : sa.status().toString();
      return sa.isOk();
    });
  }

  Result<json> getPod(const std::string& name) {
    return client_->get(kube::kPods.in(namespace_).named(name));
  }

  // The pid the agent recorded for a pod's container.
  pid_t recordedPid(const json& pod, const std::string& container) {
    const std::string path = state_dir_ + "/pods/" + namespace_ + "_" + kube::objectName(pod) +
                             "_" + uidOf(pod) + "/logs/" + container + ".pid";
    return static_cast<pid_t>(std::atoi(readFile(path).c_str()));
  }

  std::string containerLog(const json& pod, const std::string& container) {
    return readFile(state_dir_ + "/pods/" + namespace_ + "_" + kube::objectName(pod) + "_" +
                    uidOf(pod) + "/logs/" + container + ".stdout.log");
  }

  std::unique_ptr<kube::KubeClient> client_;
  std::string kubeconfig_;
  std::string state_dir_;
  std::string pod_cidr_;
  int pod_range_third_ = 0;  // pod_cidr_ is 127.20.<this>.0/22
  std::string namespace_;
  AgentProcess agent_;
};

const char* kStatefulSet = R"yaml(apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kv, namespace: agent-sts}
spec:
  serviceName: kv
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      terminationGracePeriodSeconds: 10
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: kv}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: redis
        image: redis:7.2
        command: [redis-server]
        args: [--port, "6379", --dir, /data, --appendonly, "yes"]
        ports: [{name: redis, containerPort: 6379}]
        readinessProbe:
          exec: {command: [redis-cli, ping]}
          periodSeconds: 1
        livenessProbe:
          tcpSocket: {port: redis}
          initialDelaySeconds: 1
          periodSeconds: 2
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
)yaml";

TEST_F(NodeAgentTest, StatefulSetRunsOnThreeNodesAndKeepsDataOnItsVolume) {
  startAgent();
  if (HasFailure()) return;
  createNamespace("agent-sts");
  if (HasFailure()) return;
  apply(kStatefulSet);

  // 1. Three pods, Running and Ready, on three different Nodes, each with its own address.
  std::vector<json> pods(3);
  ASSERT_TRUE(waitUntil("kv-0..2 Running and Ready", [&](std::string* seen) {
    *seen = "";
    bool all = true;
    for (int i = 0; i < 3; ++i) {
      auto pod = getPod("kv-" + std::to_string(i));
      if (!pod.isOk()) {
        *seen += "kv-" + std::to_string(i) + " absent; ";
        all = false;
        continue;
      }
      pods[i] = *pod;
      *seen += "kv-" + std::to_string(i) + " " + phaseOf(*pod) + " on " + nodeOf(*pod) + " ip " +
               ipOf(*pod) + "; ";
      all = all && runningAndReady(*pod);
    }
    return all;
  }));
  std::set<std::string> nodes, ips;
  for (const json& pod : pods) {
    const std::string ip = ipOf(pod);
    const std::string pong = redisCall(ip, {"PING"});
    std::printf("%s: node %s, podIP %s, hostIP %s, PING -> %s\n", kube::objectName(pod).c_str(),
                nodeOf(pod).c_str(), ip.c_str(), field(pod, "status").value("hostIP", "").c_str(),
                pong.c_str());
    nodes.insert(nodeOf(pod));
    ips.insert(ip);
    EXPECT_TRUE(inPodRange(ip)) << ip << " is outside " << pod_cidr_;
    EXPECT_EQ(pong, "PONG") << kube::objectName(pod) << " at " << ip;
    EXPECT_EQ(containerStatus(pod).value("ready", false), true);
    EXPECT_TRUE(conditionTrue(pod, "ContainersReady"));
    EXPECT_TRUE(conditionTrue(pod, "Initialized"));
    EXPECT_TRUE(conditionTrue(pod, "PodScheduled"));
  }
  EXPECT_EQ(nodes.size(), 3u) << "required anti-affinity must spread the pods over 3 Nodes";
  EXPECT_EQ(ips.size(), 3u) << "every pod has its own IP";

  // Their claims were provisioned as directories under the state dir and bound.
  for (int i = 0; i < 3; ++i) {
    auto pvc = client_->get(
        kube::kPersistentVolumeClaims.in(namespace_).named("data-kv-" + std::to_string(i)));
    ASSERT_TRUE(pvc.isOk()) << pvc.status().toString();
    EXPECT_EQ(field(*pvc, "status").value("phase", ""), "Bound");
    auto pv =
        client_->get(kube::kPersistentVolumes.named(field(*pvc, "spec").value("volumeName", "")));
    ASSERT_TRUE(pv.isOk()) << pv.status().toString();
    const std::string dir = field(field(*pv, "spec"), "hostPath").value("path", "");
    std::printf("data-kv-%d -> %s (%s)\n", i, kube::objectName(*pv).c_str(), dir.c_str());
    EXPECT_TRUE(dir.starts_with(fs::canonical(state_dir_).string() + "/volumes/")) << dir;
    EXPECT_TRUE(fs::exists(dir + "/appendonlydir")) << "redis --dir /data must land on the PV";
  }

  // 2. A key written to kv-1 survives deleting the pod: it comes back with a new IP and
  // the same volume.
  const json old_kv1 = pods[1];
  const std::string old_ip = ipOf(old_kv1);
  const pid_t old_pid = recordedPid(old_kv1, "redis");
  ASSERT_GT(old_pid, 0);
  ASSERT_EQ(redisCall(old_ip, {"SET", "agent-e2e-key", "kept-on-the-pvc"}), "OK");
  CommandResult deleted = kubectl("delete pod -n agent-sts kv-1 --timeout=60s");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  std::printf("kubectl delete pod kv-1: %s", deleted.output.c_str());
  EXPECT_TRUE(processGone(old_pid, "redis-server")) << "old redis pid " << old_pid;

  json new_kv1;
  ASSERT_TRUE(waitUntil("a new kv-1 Running and Ready", [&](std::string* seen) {
    auto pod = getPod("kv-1");
    if (!pod.isOk()) {
      *seen = "absent";
      return false;
    }
    new_kv1 = *pod;
    *seen = "uid " + uidOf(*pod) + " " + phaseOf(*pod) + " ip " + ipOf(*pod);
    return uidOf(*pod) != uidOf(old_kv1) && runningAndReady(*pod);
  }));
  const std::string new_ip = ipOf(new_kv1);
  const std::string value = redisCall(new_ip, {"GET", "agent-e2e-key"});
  std::printf("kv-1 recreated: ip %s -> %s, uid %s -> %s, GET agent-e2e-key -> %s\n",
              old_ip.c_str(), new_ip.c_str(), uidOf(old_kv1).c_str(), uidOf(new_kv1).c_str(),
              value.c_str());
  EXPECT_NE(new_ip, old_ip) << "a new pod gets a fresh address";
  EXPECT_FALSE(ips.count(new_ip)) << "addresses are never reused";
  EXPECT_EQ(value, "kept-on-the-pvc");

  // 3. Scale to 1: kv-2 and kv-1 terminate and their redis-servers are gone.
  auto kv2 = getPod("kv-2");
  ASSERT_TRUE(kv2.isOk());
  const std::vector<std::pair<pid_t, std::string>> doomed = {
      {recordedPid(new_kv1, "redis"), new_ip}, {recordedPid(*kv2, "redis"), ipOf(*kv2)}};
  CommandResult scaled = kubectl("scale statefulset -n agent-sts kv --replicas=1");
  ASSERT_EQ(scaled.exit_code, 0) << scaled.output;
  ASSERT_TRUE(waitUntil("kv-1 and kv-2 deleted", [&](std::string* seen) {
    auto a = getPod("kv-1");
    auto b = getPod("kv-2");
    *seen = std::string("kv-1 ") + (a.isOk() ? phaseOf(*a) : "gone") + ", kv-2 " +
            (b.isOk() ? phaseOf(*b) : "gone");
    return !a.isOk() && !b.isOk();
  }));
  for (const auto& [pid, ip] : doomed) {
    const bool gone = processGone(pid, "redis-server");
    const bool refused = tcpRefused(ip, 6379);
    std::printf("after scale-in: pid %d gone=%d, %s:6379 refused=%d\n", pid, gone, ip.c_str(),
                refused);
    EXPECT_TRUE(gone) << "redis-server pid " << pid << " still runs";
    EXPECT_TRUE(refused) << "something still listens on " << ip << ":6379";
  }
  auto kv0 = getPod("kv-0");
  ASSERT_TRUE(kv0.isOk());
  EXPECT_EQ(redisCall(ipOf(*kv0), {"PING"}), "PONG");

  // 4. The agent stops on SIGTERM: its processes end and its Nodes turn NotReady.
  const pid_t kv0_pid = recordedPid(*kv0, "redis");
  std::printf("agent resources before stop: %s\n", resourceUsage(agent_.pid()).c_str());
  const int exit_code = agent_.stop(seconds(30));
  std::printf("agent exit code %d, kv-0 redis pid %d gone=%d\n", exit_code, kv0_pid,
              processGone(kv0_pid, "redis-server"));
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(processGone(kv0_pid, "redis-server"));
  auto node = client_->get(kube::kNodes.named(std::string(kNodePrefix) + "-0"));
  ASSERT_TRUE(node.isOk());
  EXPECT_FALSE(conditionTrue(*node, "Ready"));
}

const char* kEnvironment = R"yaml(apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: agent-env}
stringData: {password: s3cret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: agent-env}
data:
  mode: fast
  app.conf: |
    data_dir /data/app
    other /database
---
apiVersion: v1
kind: Pod
metadata: {name: env-check, namespace: agent-env, labels: {app: env-check}}
spec:
  restartPolicy: Never
  initContainers:
  - name: init
    image: redis:7.2
    command: [sh, -c, 'echo initialized > /data/init-marker']
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: main
    image: redis:7.2
    command: [sh, -c]
    args:
    - |
      echo "POD_IP=$POD_IP"
      echo "POD_NAME=$POD_NAME"
      echo "POD_NS=$POD_NS"
      echo "NODE=$NODE_NAME"
      echo "PASSWORD=$PASSWORD"
      echo "MODE=$MODE"
      echo "CFG_MODE=$CFG_mode"
      echo "ANNOUNCE=$(POD_IP):6379"
      echo "NAMESPACE_FILE=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
      echo "INIT=$(cat /data/init-marker)"
      echo "CONF=$(head -1 /etc/app/app.conf)"
      echo "CONF2=$(tail -1 /etc/app/app.conf)"
      echo "LABELS=$(cat /etc/podinfo/labels)"
      test -s "$SLOTKEEPER_SA_DIR/token" && echo TOKEN_PRESENT
    env:
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: app, key: mode}}}
    envFrom:
    - {configMapRef: {name: app}, prefix: CFG_}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cfg, mountPath: /etc/app}
    - {name: podinfo, mountPath: /etc/podinfo}
  volumes:
  - {name: data, emptyDir: {}}
  - {name: cfg, configMap: {name: app}}
  - name: podinfo
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
---
apiVersion: v1
kind: Pod
metadata: {name: in-cluster, namespace: agent-env}
spec:
  restartPolicy: Never
  containers:
  - name: client
    image: example.com/slotkeeper/in-cluster-check:dev
    command: [/ignored-entrypoint]
    args:
    - -c
    - >-
      curl -sS --fail --cacert "$SLOTKEEPER_SA_DIR/ca.crt"
      -H "Authorization: Bearer $(cat $SLOTKEEPER_SA_DIR/token)"
      -H 'Content-Type: application/json' -X POST
      -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}'
      "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews"
)yaml";

TEST_F(NodeAgentTest, PodsGetTheirEnvironmentVolumesAndServiceAccountToken) {
  // The "operator image" maps to /bin/sh here: an in-cluster client that uses the projected
  // token, CA and API address the agent hands it.
  startAgent({"--operator-image", "example.com/slotkeeper/in-cluster-check=/bin/sh"});
  if (HasFailure()) return;
  createNamespace("agent-env");
  if (HasFailure()) return;
  apply(kEnvironment);

  json env_pod, client_pod;
  ASSERT_TRUE(waitUntil("env-check and in-cluster Succeeded", [&](std::string* seen) {
    auto a = getPod("env-check");
    auto b = getPod("in-cluster");
    if (!a.isOk() || !b.isOk()) {
      *seen = "pods absent";
      return false;
    }
    env_pod = *a;
    client_pod = *b;
    *seen = "env-check " + phaseOf(*a) + " " + containerStatus(*a).dump() + "; in-cluster " +
            phaseOf(*b) + " " + containerStatus(*b).dump();
    return (phaseOf(*a) == "Succeeded" || phaseOf(*a) == "Failed") &&
           (phaseOf(*b) == "Succeeded" || phaseOf(*b) == "Failed");
  }));
  const std::string out = containerLog(env_pod, "main");
  std::printf("env-check (%s) stdout:\n%s", phaseOf(env_pod).c_str(), out.c_str());
  EXPECT_EQ(phaseOf(env_pod), "Succeeded");
  const std::string ip = ipOf(env_pod);
  const std::string pod_dir =
      fs::canonical(state_dir_).string() + "/pods/agent-env_env-check_" + uidOf(env_pod);
  for (const std::string& line :
       {"POD_IP=" + ip, std::string("POD_NAME=env-check"), std::string("POD_NS=agent-env"),
        "NODE=" + nodeOf(env_pod), std::string("PASSWORD=s3cret"), std::string("MODE=fast"),
        std::string("CFG_MODE=fast"), "ANNOUNCE=" + ip + ":6379",
        std::string("NAMESPACE_FILE=agent-env"), std::string("INIT=initialized"),
        "CONF=data_dir " + pod_dir + "/volumes/data/app", std::string("CONF2=other /database"),
        std::string("LABELS=app=\"env-check\""), std::string("TOKEN_PRESENT")}) {
    EXPECT_NE(out.find(line + "\n"), std::string::npos) << "missing line: " << line;
  }
  const json init = field(env_pod, "status").value("initContainerStatuses", json::array());
  ASSERT_EQ(init.size(), 1u);
  EXPECT_EQ(init[0]["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ(containerStatus(env_pod)["state"]["terminated"]["exitCode"], 0);

  const std::string review = containerLog(client_pod, "client");
  std::printf("in-cluster (%s) stdout: %s\n", phaseOf(client_pod).c_str(),
              review.substr(0, 400).c_str());
  EXPECT_EQ(phaseOf(client_pod), "Succeeded");
  EXPECT_NE(review.find("\"username\": \"system:serviceaccount:agent-env:default\""),
            std::string::npos)
      << "the token must authenticate as the pod's service account";
}

const char* kPolicies = R"yaml(apiVersion: v1
kind: Pod
metadata: {name: no-binary, namespace: agent-policy}
spec:
  containers: [{name: app, image: "busybox:1.36"}]
---
apiVersion: v1
kind: Pod
metadata: {name: fail-never, namespace: agent-policy}
spec:
  restartPolicy: Never
  containers: [{name: app, image: "redis:7.2", command: [sh, -c, "exit 3"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: fail-on-failure, namespace: agent-policy}
spec:
  restartPolicy: OnFailure
  containers: [{name: app, image: "redis:7.2", command: [sh, -c, "exit 1"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: liveness, namespace: agent-policy}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: "redis:7.2"
    livenessProbe:
      exec: {command: [sh, -c, "redis-cli ping | grep -q NEVER"]}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: not-ready, namespace: agent-policy}
spec:
  containers:
  - name: app
    image: "redis:7.2"
    readinessProbe:
      tcpSocket: {port: 7777}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: stubborn, namespace: agent-policy}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: app
    image: "redis:7.2"
    command: [sh, -c, 'trap "" TERM; sleep 987']
)yaml";

TEST_F(NodeAgentTest, RestartPolicyProbesImageErrorsAndGracefulDeletion) {
  startAgent();
  if (HasFailure()) return;
  createNamespace("agent-policy");
  if (HasFailure()) return;
  apply(kPolicies);

  std::map<std::string, json> pods;
  auto observe = [&](std::string* seen) {
    *seen = "";
    for (const char* name :
         {"no-binary", "fail-never", "fail-on-failure", "liveness", "not-ready", "stubborn"}) {
      auto pod = getPod(name);
      if (!pod.isOk()) continue;
      pods[name] = *pod;
      *seen += std::string(name) + ": " + phaseOf(*pod) + " " + containerStatus(*pod).dump() + "\n";
    }
  };
  ASSERT_TRUE(waitUntil("every pod in its expected state", [&](std::string* seen) {
    observe(seen);
    if (pods.size() < 6) return false;
    const json image = containerStatus(pods["no-binary"]);
    const json on_failure = containerStatus(pods["fail-on-failure"]);
    const json liveness = containerStatus(pods["liveness"]);
    return image["state"].contains("waiting") &&
           image["state"]["waiting"].value("reason", "") == "ErrImagePull" &&
           phaseOf(pods["fail-never"]) == "Failed" && on_failure.value("restartCount", 0) >= 2 &&
           liveness.value("restartCount", 0) >= 1 && phaseOf(pods["not-ready"]) == "Running" &&
           runningAndReady(pods["stubborn"]);
  }));
  std::string summary;
  observe(&summary);
  std::printf("observed:\n%s", summary.c_str());

  const json image = containerStatus(pods["no-binary"]);
  EXPECT_EQ(phaseOf(pods["no-binary"]), "Pending");
  EXPECT_EQ(image["state"]["waiting"].value("message", ""),
            "image busybox:1.36 has no local binary");

  const json never = containerStatus(pods["fail-never"]);
  EXPECT_EQ(never["state"]["terminated"]["exitCode"], 3);
  EXPECT_EQ(never["restartCount"], 0);

  const json on_failure = containerStatus(pods["fail-on-failure"]);
  EXPECT_EQ(phaseOf(pods["fail-on-failure"]), "Running");
  EXPECT_EQ(on_failure["lastState"]["terminated"]["exitCode"], 1);

  const json liveness = containerStatus(pods["liveness"]);
  EXPECT_NE(liveness["lastState"]["terminated"].value("message", "").find("failed liveness probe"),
            std::string::npos)
      << liveness.dump();

  EXPECT_FALSE(conditionTrue(pods["not-ready"], "Ready"));
  EXPECT_EQ(containerStatus(pods["not-ready"])["ready"], false);
  EXPECT_TRUE(containerStatus(pods["not-ready"])["state"].contains("running"));

  // kubectl describe material: the liveness pod's Events tell its story.
  auto events = client_->list(kube::kEvents.in(namespace_));
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  std::set<std::string> reasons;
  for (const json& e : events->value("items", json::array())) {
    if (field(e, "involvedObject").value("name", "") == "liveness") {
      reasons.insert(e.value("reason", ""));
    }
  }
  std::string listed;
  for (const std::string& r : reasons) listed += r + " ";
  std::printf("liveness pod events: %s\n", listed.c_str());
  for (const char* expected : {"Started", "Unhealthy", "Killing"}) {
    EXPECT_TRUE(reasons.count(expected)) << "no " << expected << " event; have: " << listed;
  }

  // A process that ignores SIGTERM is killed once the grace period (3s) is over; only then
  // is the pod object deleted.
  const pid_t stubborn_pid = recordedPid(pods["stubborn"], "app");
  ASSERT_GT(stubborn_pid, 0);
  const auto started = std::chrono::steady_clock::now();
  CommandResult deleted = kubectl("delete pod -n agent-policy stubborn --timeout=60s");
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("deleting stubborn (ignores SIGTERM, grace 3s) took %.1fs; pid %d gone=%d\n", took,
              stubborn_pid, processGone(stubborn_pid, "sh"));
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_GE(took, 2.5) << "the grace period must be honoured";
  EXPECT_LT(took, 20.0);
  EXPECT_TRUE(processGone(stubborn_pid, "sh"));
  // Its child (same process group) went with it.
  const CommandResult sleepers = runCommand("pgrep -x -f 'sleep 987'");
  EXPECT_NE(sleepers.exit_code, 0) << "sleep 987 still running: " << sleepers.output;
}

}  // namespace
}  // namespace slotkeeper::e2e
