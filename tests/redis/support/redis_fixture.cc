#include "redis/support/redis_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace slotkeeper::test {
namespace {

using std::chrono::milliseconds;
using Deadline = std::chrono::steady_clock::time_point;

constexpr int kRedisPort = 7000;
constexpr int kBusPort = kRedisPort + 10000;
constexpr int kMaxNodes = 254;  // the last octet of 127.A.B.n
constexpr milliseconds kStopGrace{5000};

Deadline deadlineAfter(milliseconds timeout) { return std::chrono::steady_clock::now() + timeout; }

bool passed(Deadline deadline) { return std::chrono::steady_clock::now() >= deadline; }

// True when nothing listens on ip:port (or lingers there), so another fixture is not using
// this address. Redis binds with SO_REUSEADDR; this probe does not, which is stricter.
bool addressFree(const std::string& ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) == 1 &&
            bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string nodeIp(int a, int b, int index) {
  return "127." + std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(index + 1);
}

// Reaps `pid` if it has exited; returns true when it is gone.
bool reaped(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

bool waitForExit(pid_t pid, Deadline deadline) {
  while (!reaped(pid)) {
    if (passed(deadline)) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

void killAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string lastLines(const std::string& path, size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (size_t i = first; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

// fork + exec rather than posix_spawn because the child must ask to die with the test
// (PR_SET_PDEATHSIG): a crashed or killed test binary must not leave servers behind.
pid_t spawnRedisServer(const std::string& config_path, const std::string& output_path) {
  // Everything the child touches is prepared here: after fork only async-signal-safe calls.
  std::string program = "redis-server";
  std::vector<char*> argv = {program.data(), const_cast<char*>(config_path.c_str()), nullptr};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;  // parent, or -1 on failure

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the test died before prctl took effect
  int out = open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out >= 0) {
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
  }
  // The test's own client sockets must not live on inside the server.
  close_range(3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvp(argv[0], argv.data());
  _exit(127);
}

}  // namespace

RedisServers::RedisServers(RedisServersOptions options) : options_(std::move(options)) {
  if (options_.count < 0 || options_.count > kMaxNodes) {
    status_ = invalidArgument("RedisServers: count must be 0.." + std::to_string(kMaxNodes));
    return;
  }
  status_ = createDirectory();
  if (!status_.isOk()) return;

  // Pick 127.A.B.x where the first addresses are free; a clash with another fixture is rare
  // (1 in 62,500) and this check makes it rarer still.
  std::random_device seed;
  std::mt19937 random(seed());
  std::uniform_int_distribution<int> octet(1, 250);
  for (int attempt = 0; attempt < 50; ++attempt) {
    net_a_ = octet(random);
    net_b_ = octet(random);
    bool all_free = true;
    for (int i = 0; i < std::max(options_.count, 1) && all_free; ++i) {
      std::string ip = nodeIp(net_a_, net_b_, i);
      all_free = addressFree(ip, kRedisPort) && addressFree(ip, kBusPort);
    }
    if (all_free) break;
  }

  for (int i = 0; i < options_.count; ++i) {
    auto index = addNode();
    if (!index.isOk()) {
      status_ = index.status();
      return;
    }
  }
}

RedisServers::~RedisServers() {
  stopAll();
  if (dir_.empty()) return;
  if (std::getenv("SK_KEEP_TEST_DIRS") != nullptr) {
    std::fprintf(stderr, "RedisServers: keeping %s\n", dir_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Status RedisServers::createDirectory() {
  std::error_code error;
  std::filesystem::path base = std::filesystem::temp_directory_path(error);
  if (error) base = "/tmp";
  std::string pattern = (base / "sk-redis-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return internalError("RedisServers: mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  dir_ = pattern;
  return Status::ok();
}

std::string RedisServers::address(int i) const { return ip(i) + ":" + std::to_string(port(i)); }
const std::string& RedisServers::ip(int i) const { return nodes_.at(static_cast<size_t>(i)).ip; }
int RedisServers::port(int /*i*/) const { return kRedisPort; }
std::string RedisServers::nodeDir(int i) const { return nodes_.at(static_cast<size_t>(i)).dir; }
std::string RedisServers::logPath(int i) const { return nodeDir(i) + "/redis.log"; }
pid_t RedisServers::pid(int i) const { return nodes_.at(static_cast<size_t>(i)).pid; }

Status RedisServers::writeConfig(const Node& node) const {
  std::ofstream conf(node.dir + "/redis.conf");
  conf << "bind " << node.ip
       << "\n"
       // Each node has its own 127.x address; without this, peers see every node's
       // cluster-bus connection as coming from 127.0.0.1 and record that address for it.
       << "bind-source-addr " << node.ip << "\n"
       << "port " << kRedisPort
       << "\n"
       // Protected mode only trusts 127.0.0.1 and ::1, so replicas connecting from their own
       // 127.A.B.n address would be refused without a password.
       << "protected-mode no\n"
       << "daemonize no\n"
       << "dir " << node.dir << "\n"
       << "logfile " << node.dir << "/redis.log\n"
       << "save \"\"\n"
       << "appendonly no\n";
  if (options_.cluster_enabled) {
    conf << "cluster-enabled yes\n"
         << "cluster-config-file " << node.dir << "/nodes.conf\n"
         << "cluster-node-timeout 5000\n"
         << "cluster-announce-ip " << node.ip << "\n"
         << "cluster-allow-replica-migration no\n";
  }
  if (!options_.password.empty()) {
    conf << "requirepass \"" << options_.password << "\"\n"
         << "masterauth \"" << options_.password << "\"\n";
  }
  for (const std::string& line : options_.extra_config) conf << line << "\n";
  conf.close();
  if (!conf) return internalError("RedisServers: cannot write " + node.dir + "/redis.conf");
  return Status::ok();
}

Result<int> RedisServers::addNode() {
  if (dir_.empty()) return failedPrecondition("RedisServers: no temporary directory");
  int index = size();
  if (index >= kMaxNodes) return failedPrecondition("RedisServers: no addresses left");
  Node node;
  node.ip = nodeIp(net_a_, net_b_, index);
  node.dir = dir_ + "/node-" + std::to_string(index);
  std::error_code error;
  std::filesystem::create_directories(node.dir, error);
  if (error) return internalError("RedisServers: mkdir " + node.dir + ": " + error.message());
  RETURN_IF_ERROR(writeConfig(node));
  nodes_.push_back(node);
  RETURN_IF_ERROR(start(index));
  return index;
}

Status RedisServers::start(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  if (node.pid != 0) return Status::ok();
  RETURN_IF_ERROR(launch(node));
  return waitUntilReady(node);
}

Status RedisServers::launch(Node& node) {
  pid_t pid = spawnRedisServer(node.dir + "/redis.conf", node.dir + "/stdout.log");
  if (pid < 0) return internalError("RedisServers: fork: " + std::string(std::strerror(errno)));
  node.pid = pid;
  return Status::ok();
}

Status RedisServers::waitUntilReady(Node& node) {
  std::string address = node.ip + ":" + std::to_string(kRedisPort);
  redis::ConnectOptions options = connectOptions();
  options.connect_timeout = milliseconds(200);
  options.command_timeout = milliseconds(1000);
  Deadline deadline = deadlineAfter(options_.start_timeout);
  Status last = unavailable("not tried");
  while (!passed(deadline)) {
    if (reaped(node.pid)) {
      node.pid = 0;
      return unavailable("redis-server for " + address + " exited during start:\n" +
                         lastLines(node.dir + "/stdout.log", 10) +
                         lastLines(node.dir + "/redis.log", 10));
    }
    auto client = redis::HiredisNodeClient::connect(address, options);
    last = client.isOk() ? (*client)->ping() : client.status();
    if (last.isOk()) return Status::ok();
    std::this_thread::sleep_for(milliseconds(20));
  }
  return unavailable("redis-server for " + address + " did not answer PING within " +
                     std::to_string(options_.start_timeout.count()) +
                     " ms; last error: " + last.toString());
}

void RedisServers::stop(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  if (node.pid == 0) return;
  ::kill(node.pid, SIGCONT);  // a paused server cannot act on SIGTERM
  ::kill(node.pid, SIGTERM);
  if (!waitForExit(node.pid, deadlineAfter(kStopGrace))) killAndReap(node.pid);
  node.pid = 0;
}

void RedisServers::kill(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  if (node.pid == 0) return;
  killAndReap(node.pid);
  node.pid = 0;
}

void RedisServers::pause(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  if (node.pid == 0) return;
  ::kill(node.pid, SIGSTOP);
}

void RedisServers::resume(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  if (node.pid == 0) return;
  ::kill(node.pid, SIGCONT);
}

void RedisServers::stopAll() {
  for (Node& node : nodes_) {
    if (node.pid == 0) continue;
    ::kill(node.pid, SIGCONT);
    ::kill(node.pid, SIGTERM);
  }
  Deadline deadline = deadlineAfter(kStopGrace);
  for (Node& node : nodes_) {
    if (node.pid == 0) continue;
    if (!waitForExit(node.pid, deadline)) killAndReap(node.pid);
    node.pid = 0;
  }
}

redis::ConnectOptions RedisServers::connectOptions() const {
  redis::ConnectOptions options;
  options.connect_timeout = milliseconds(1000);
  options.command_timeout = milliseconds(5000);
  options.password = options_.password;
  return options;
}

Result<std::unique_ptr<redis::HiredisNodeClient>> RedisServers::client(int i) const {
  return redis::HiredisNodeClient::connect(address(i), connectOptions());
}

std::string runCommand(const std::string& shell_cmd, int* exit_code) {
  std::string wrapped = "{ " + shell_cmd + "\n} 2>&1";
  FILE* pipe = popen(wrapped.c_str(), "r");
  if (pipe == nullptr) {
    if (exit_code != nullptr) *exit_code = -1;
    return "popen failed: " + std::string(std::strerror(errno));
  }
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  if (exit_code != nullptr) {
    if (status == -1) {
      *exit_code = -1;
    } else if (WIFEXITED(status)) {
      *exit_code = WEXITSTATUS(status);
    } else {
      *exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    }
  }
  return output;
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  Deadline deadline = deadlineAfter(timeout);
  while (true) {
    if (condition()) return true;
    if (passed(deadline)) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace slotkeeper::test
