#include "e2e/support/operator_env.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "e2e/support/control_plane.h"
#include "redis/hiredis_client.h"

namespace slotkeeper::e2e {
std::string repoRoot() {
  return (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "..")
      .lexically_normal()
      .string();
}

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

int randomIn(int low, int high) {
  static std::mt19937 rng(std::random_device{}());
  return std::uniform_int_distribution<int>(low, high)(rng);
}

}  // namespace

CommandResult runShell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  int raw = pclose(pipe);
  result.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return result;
}

CommandResult withRetries(const std::string& what, const std::function<CommandResult()>& command) {
  CommandResult result;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    result = command();
    if (result.exit_code == 0) break;
    std::printf("%s, attempt %d: %s\n", what.c_str(), attempt, result.output.c_str());
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  return result;
}

namespace {

// The binaries under test: the build's, unless SK_OPERATOR_PATH / SK_NODE_AGENT_PATH /
// SK_LOADGEN_PATH name copies (scripts/chaos.sh runs copies, so a rebuild or an edit of the load
// generator during a long run changes nothing under it).
std::string operatorPath() {
  const char* path = std::getenv("SK_OPERATOR_PATH");
  return path != nullptr ? path : SK_OPERATOR_PATH;
}

std::string nodeAgentPath() {
  const char* path = std::getenv("SK_NODE_AGENT_PATH");
  return path != nullptr ? path : SK_NODE_AGENT_PATH;
}

// The load generator: SK_LOADGEN_PATH, else tests/loadgen built (or found) by its source hash.
Result<std::string> loadgenPath() {
  if (const char* path = std::getenv("SK_LOADGEN_PATH"); path != nullptr) return std::string(path);
  CommandResult built = runShell("bash " + repoRoot() + "/tests/loadgen/build.sh 2>/dev/null");
  if (built.exit_code != 0) return unavailable("loadgen build failed: " + built.output);
  // build.sh prints the binary's path as its last line.
  std::string output = built.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  std::string binary =
      output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
  if (access(binary.c_str(), X_OK) != 0) {
    return unavailable("loadgen build printed no runnable binary: " + built.output);
  }
  return binary;
}

}  // namespace

OperatorEnv::OperatorEnv() {
  char tmpl[] = "/tmp/sk-operator-e2e-XXXXXX";
  work_dir_ = mkdtemp(tmpl) ? tmpl : "/tmp";
  namespace_ = "e2e-" + std::to_string(getpid());
  // A /16 of its own so concurrent test binaries never hand out the same pod address.
  pod_cidr_ = "127." + std::to_string(randomIn(30, 250)) + ".0.0/16";
  // An address of its own, so the port can never clash with another test's listener.
  http_address_ = "127.29." + std::to_string(randomIn(1, 250)) + "." +
                  std::to_string(randomIn(1, 250)) + ":8080";
}

OperatorEnv::~OperatorEnv() {
  for (pid_t& pid : background_pids_) stopProcess(pid, std::chrono::seconds(10));
  stopProcess(operator_pid_, std::chrono::seconds(10));
  // The agent stops every pod process it started when it gets SIGTERM.
  stopProcess(agent_pid_, std::chrono::seconds(30));
  if (std::getenv("SK_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(work_dir_, ignored);
  }
}

pid_t OperatorEnv::spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  FILE* log = std::fopen(log_path.c_str(), "a");
  if (log != nullptr) {
    dup2(fileno(log), STDOUT_FILENO);
    dup2(fileno(log), STDERR_FILENO);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());  // a bare name is looked up on PATH
  std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

void OperatorEnv::stopProcess(pid_t& pid, std::chrono::seconds grace) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pid = 0;
}

CommandResult OperatorEnv::kubectl(const std::string& args) {
  return runShell("kubectl --kubeconfig " + kubeconfig_ + " -n " + namespace_ +
                  " --request-timeout=20s " + args);
}

CommandResult OperatorEnv::apply(const std::string& yaml) {
  std::string path = work_dir_ + "/apply-" + std::to_string(randomIn(0, 1 << 30)) + ".yaml";
  std::ofstream(path) << yaml;
  return kubectl("apply -f " + path);
}

Result<nlohmann::json> OperatorEnv::getJson(const std::string& what) {
  CommandResult r = kubectl("get " + what + " -o json");
  if (r.exit_code != 0) return notFound(r.output);
  auto parsed = nlohmann::json::parse(r.output, nullptr, false);
  if (parsed.is_discarded()) return internalError("kubectl printed no JSON: " + r.output);
  return parsed;
}

Status OperatorEnv::start(int nodes) {
  RETURN_IF_ERROR(startAgentAndNodes(nodes, {}));
  return startOperator();
}

Status OperatorEnv::startWithoutOperator(int nodes) {
  const std::string image = std::string(kChartImageRepository) + ":" + kChartImageTag;
  return startAgentAndNodes(nodes, {"--operator-image", image + "=" + operatorPath()});
}

Status OperatorEnv::startAgentAndNodes(int nodes,
                                       const std::vector<std::string>& extra_agent_args) {
  auto& plane = ControlPlane::instance();
  if (!plane.available()) return unavailable(plane.unavailableReason());
  kubeconfig_ = plane.kubeconfigPath();
  auto setUp = [](const std::string& what, const std::string& command) {
    return withRetries("set-up " + what, [&] { return runShell(command); });
  };
  CommandResult crd =
      setUp("CRD", "kubectl --kubeconfig " + kubeconfig_ + " apply -f " + repoRoot() +
                       "/crds/ && kubectl --kubeconfig " + kubeconfig_ +
                       " wait --for condition=established --timeout=60s "
                       "crd/redisclusters.redis.slotkeeper.io");
  if (crd.exit_code != 0) return unavailable("CRD: " + crd.output);
  CommandResult ns =
      setUp("namespace", "kubectl --kubeconfig " + kubeconfig_ + " create namespace " + namespace_ +
                             " --dry-run=client -o yaml | kubectl --kubeconfig " + kubeconfig_ +
                             " apply -f -");
  if (ns.exit_code != 0) return unavailable("namespace: " + ns.output);
  std::filesystem::create_directories(work_dir_ + "/agent");
  std::vector<std::string> argv = {nodeAgentPath(),
                                   "--kubeconfig",
                                   kubeconfig_,
                                   "--nodes",
                                   std::to_string(nodes),
                                   "--node-prefix",
                                   "node-" + namespace_,
                                   "--state-dir",
                                   work_dir_ + "/agent",
                                   "--pod-cidr",
                                   pod_cidr_};
  argv.insert(argv.end(), extra_agent_args.begin(), extra_agent_args.end());
  agent_pid_ = spawn(argv, work_dir_ + "/agent.log");
  bool nodes_ready = waitFor(
      [&] {
        CommandResult r = runShell("kubectl --kubeconfig " + kubeconfig_ +
                                   " get nodes --no-headers | grep -c ' Ready '");
        return std::atoi(r.output.c_str()) >= nodes;
      },
      std::chrono::seconds(60));
  if (!nodes_ready) return unavailable("agent nodes never became Ready: " + workDir());
  return Status::ok();
}

pid_t OperatorEnv::startBackground(const std::vector<std::string>& argv,
                                   const std::string& log_name) {
  pid_t pid = spawn(argv, work_dir_ + "/" + log_name);
  background_pids_.push_back(pid);
  return pid;
}

std::string OperatorEnv::podLog(const std::string& ns, const std::string& pod,
                                const std::string& container) {
  std::string out;
  std::error_code ec;
  const std::string prefix = ns + "_" + pod + "_";
  for (const auto& entry : std::filesystem::directory_iterator(work_dir_ + "/agent/pods", ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
    const std::string logs = entry.path().string() + "/logs/" + container;
    out += readFile(logs + ".stdout.log") + readFile(logs + ".stderr.log");
  }
  return out;
}

std::vector<std::string> OperatorEnv::operatorArgv(const std::string& http_address) const {
  std::vector<std::string> argv = {operatorPath(),
                                   "--kubeconfig",
                                   kubeconfig_,
                                   "--namespaces",
                                   namespace_,
                                   "--leader-election-namespace",
                                   namespace_,
                                   "--http-address",
                                   http_address,
                                   "--health-check-interval",
                                   "5"};
  argv.insert(argv.end(), operator_args_.begin(), operator_args_.end());
  return argv;
}

pid_t OperatorEnv::startSecondOperator(const std::string& log_name) {
  const std::string address = "127.28." + std::to_string(randomIn(1, 250)) + "." +
                              std::to_string(randomIn(1, 250)) + ":8080";
  pid_t pid = spawn(operatorArgv(address), work_dir_ + "/" + log_name);
  background_pids_.push_back(pid);
  return pid;
}

std::string OperatorEnv::workFile(const std::string& name) const {
  return readFile(work_dir_ + "/" + name);
}

Status OperatorEnv::startOperator() {
  operator_pid_ = spawn(operatorArgv(http_address_), work_dir_ + "/operator.log");
  bool healthy = waitFor(
      [&] { return runShell("curl -sf http://" + http_address_ + "/healthz").exit_code == 0; },
      std::chrono::seconds(30));
  return healthy ? Status::ok() : unavailable("operator never answered /healthz");
}

void OperatorEnv::killOperator() {
  if (operator_pid_ <= 0) return;
  kill(operator_pid_, SIGKILL);
  int status = 0;
  waitpid(operator_pid_, &status, 0);
  operator_pid_ = 0;
}

std::string OperatorEnv::operatorLog() const { return readFile(work_dir_ + "/operator.log"); }

std::string OperatorEnv::diagnostics(const std::string& cluster) {
  return kubectl("get rediscluster " + cluster + " -o yaml").output +
         kubectl("get statefulsets,pods -o wide").output + operatorLog();
}

bool OperatorEnv::waitFor(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return condition();
}

bool OperatorEnv::clusterReady(const std::string& name) {
  auto rc = getJson("rediscluster " + name);
  if (!rc.isOk()) return false;
  int64_t generation = (*rc)["metadata"].value("generation", 0);
  const auto& status = rc->value("status", nlohmann::json::object());
  if (status.value("observedGeneration", 0) != generation) return false;
  for (const auto& c : status.value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == "Ready") {
      return c.value("status", "") == "True" && c.value("observedGeneration", 0) == generation;
    }
  }
  return false;
}

std::string OperatorEnv::redisPid(const std::string& pod) const {
  CommandResult file = runShell("ls -t " + work_dir_ + "/agent/pods/" + namespace_ + "_" + pod +
                                "_*/logs/redis.pid 2>/dev/null | head -1");
  if (file.exit_code != 0 || file.output.empty()) return "";
  std::string pid = runShell("cat " + file.output).output;
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

std::map<std::string, std::string> OperatorEnv::podIps(const std::string& cluster) {
  std::map<std::string, std::string> out;
  auto pods = getJson("pods -l redis.slotkeeper.io/cluster=" + cluster);
  if (!pods.isOk()) return out;
  for (const auto& p : pods->value("items", nlohmann::json::array())) {
    std::string ip = p.value("status", nlohmann::json::object()).value("podIP", "");
    if (!ip.empty()) out[p["metadata"].value("name", "")] = ip;
  }
  return out;
}

Result<std::vector<redis::ClusterNodeEntry>> OperatorEnv::clusterNodesAt(const std::string& ip) {
  redis::ConnectOptions options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.command_timeout = std::chrono::milliseconds(3000);
  ASSIGN_OR_RETURN(auto client, redis::HiredisNodeClient::connect(ip + ":6379", options));
  return client->clusterNodes();
}

LoadGenerator::~LoadGenerator() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

Status LoadGenerator::start(const std::vector<std::string>& seeds, const std::string& work_dir,
                            const std::vector<std::string>& extra_args) {
  auto built = loadgenPath();
  if (!built.isOk()) return built.status();
  std::string binary = *built;
  stop_file_ = work_dir + "/loadgen.stop";
  out_file_ = work_dir + "/loadgen.json";
  log_file_ = work_dir + "/loadgen.log";
  // Left by an earlier run in the same directory: its stop file would end this one at once, and
  // its progress lines would be read as this one's.
  for (const auto* file : {&stop_file_, &out_file_, &log_file_}) std::remove(file->c_str());
  std::string addrs;
  for (const auto& s : seeds) addrs += (addrs.empty() ? "" : ",") + s;
  // Progress lines twice a second are what writesAcked() reads.
  std::vector<std::string> args = {
      binary, "--addrs", addrs,   "--duration", "600s",  "--max-ops",   "20000000", "--concurrency",
      "4",    "--keys",  "20000", "--progress", "500ms", "--stop-file", stop_file_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    FILE* out = std::fopen(out_file_.c_str(), "w");
    FILE* err = std::fopen(log_file_.c_str(), "w");
    if (out) dup2(fileno(out), STDOUT_FILENO);
    if (err) dup2(fileno(err), STDERR_FILENO);
    execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
    _exit(127);
  }
  return Status::ok();
}

int64_t LoadGenerator::writesAcked() const {
  // Progress lines on stderr: "loadgen: t=3s ops=N acked=N failed=N mismatches=N". Only
  // complete lines count: the last one may still be being written.
  const std::string text = readFile(log_file_);
  const size_t end = text.rfind('\n');
  if (end == std::string::npos) return -1;
  const std::string marker = " acked=";
  const size_t at = text.rfind(marker, end);
  if (at == std::string::npos) return -1;
  const size_t digits = at + marker.size();
  int64_t acked = 0;
  size_t i = digits;
  for (; i < end && text[i] >= '0' && text[i] <= '9'; ++i) acked = acked * 10 + (text[i] - '0');
  return i == digits ? -1 : acked;
}

Status LoadGenerator::waitForWrites(int64_t writes, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto log_tail = [this] {
    const std::string text = readFile(log_file_);
    return text.size() <= 2000 ? text : "..." + text.substr(text.size() - 2000);
  };
  while (true) {
    const int64_t acked = writesAcked();
    if (acked >= writes) return Status::ok();
    if (pid_ <= 0 || waitpid(pid_, nullptr, WNOHANG) != 0) {
      pid_ = 0;
      return unavailable("load generator exited after " + std::to_string(acked) +
                         " acknowledged writes:\n" + log_tail());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return deadlineExceeded("load generator acknowledged " + std::to_string(acked) + " of " +
                              std::to_string(writes) + " writes in " +
                              std::to_string(timeout.count()) + "s:\n" + log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string loadProblems(const nlohmann::json& summary, int64_t min_writes) {
  std::string problems;
  for (const char* field :
       {"failed_commands", "read_mismatches", "verify_missing", "verify_wrong"}) {
    int64_t count = summary.value(field, int64_t{-1});
    if (count != 0) problems += std::string(field) + "=" + std::to_string(count) + " ";
  }
  int64_t acked = summary.value("writes_acked", int64_t{0});
  if (acked < min_writes) problems += "writes_acked=" + std::to_string(acked) + " ";
  return problems;
}

Result<nlohmann::json> LoadGenerator::finish() {
  if (stop_file_.empty()) return failedPrecondition("load generator was not started");
  std::ofstream(stop_file_) << "stop\n";
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  // pid_ is 0 when waitForWrites already reaped it; waitpid(0) would wait on other children.
  while (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = 0;
      return deadlineExceeded("load generator did not stop");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  pid_ = 0;
  std::string text = readFile(out_file_);
  auto line = text.substr(0, text.find('\n'));
  auto summary = nlohmann::json::parse(line, nullptr, false);
  if (summary.is_discarded()) return internalError("load generator printed: " + text);
  return summary;
}

}  // namespace slotkeeper::e2e
