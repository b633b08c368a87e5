// Runs real redis-server processes for tests, each on its own loopback address 127.A.B.n
// (A and B random per fixture) so tests running in parallel never share an address.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/hiredis_client.h"

namespace slotkeeper::test {

struct RedisServersOptions {
  int count = 3;                                   // servers started by the constructor
  std::vector<std::string> extra_config{};         // redis.conf lines appended for every server
  std::string password{};                          // requirepass and masterauth when not empty
  bool cluster_enabled = true;                     // false for a plain standalone server
  std::chrono::milliseconds start_timeout{10000};  // per server, until it answers PING
};

// Owns the processes it starts and a temporary directory holding one subdirectory per server
// (redis.conf, nodes.conf, redis.log). The destructor stops every process it started, by pid,
// and removes the directory unless SK_KEEP_TEST_DIRS is set in the environment.
//
// Starting happens in the constructor; check status() before using the servers:
//   RedisServers servers({.count = 2});
//   ASSERT_TRUE(servers.status().isOk()) << servers.status().toString();
class RedisServers {
 public:
  explicit RedisServers(RedisServersOptions options = {});
  ~RedisServers();
  RedisServers(const RedisServers&) = delete;
  RedisServers& operator=(const RedisServers&) = delete;

  // OK when every server the constructor started answered PING in time.
  const Status& status() const { return status_; }

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string address(int i) const;  // "ip:port"
  const std::string& ip(int i) const;
  int port(int i) const;
  const std::string& dir() const { return dir_; }  // the fixture's temporary directory
  std::string nodeDir(int i) const;                // holds redis.conf, nodes.conf, redis.log
  std::string logPath(int i) const;
  pid_t pid(int i) const;  // 0 when the server is not running
  bool running(int i) const { return pid(i) != 0; }
  const RedisServersOptions& options() const { return options_; }

  // Starts one more server on the next address; returns its index.
  Result<int> addNode();
  // Starts server i again (same address, config and directory, so the same node id) and
  // waits until it answers PING.
  Status start(int i);
  // SIGTERM, then SIGKILL if it has not exited within 5 s.
  void stop(int i);
  // SIGKILL: a crash, with no chance to save anything.
  void kill(int i);
  // SIGSTOP / SIGCONT: a server that accepts connections but never answers.
  void pause(int i);
  void resume(int i);

  // Connection settings for these servers (their password, short timeouts).
  redis::ConnectOptions connectOptions() const;
  Result<std::unique_ptr<redis::HiredisNodeClient>> client(int i) const;

 private:
  struct Node {
    std::string ip;
    std::string dir;
    pid_t pid = 0;  // 0 when not running
  };

  Status createDirectory();
  Status writeConfig(const Node& node) const;
  Status launch(Node& node);
  Status waitUntilReady(Node& node);
  // Signals every running server first and then waits, so N servers stop in ~one grace period.
  void stopAll();

  RedisServersOptions options_;
  Status status_;
  std::string dir_;
  int net_a_ = 0;  // the random A and B of 127.A.B.n
  int net_b_ = 0;
  std::vector<Node> nodes_;
};

// Runs `shell_cmd` with /bin/sh and returns its stdout and stderr together; *exit_code gets
// the exit status (128 + signal when killed, -1 when it could not run). For example
// runCommand("redis-cli --cluster check " + servers.address(0), &code).
std::string runCommand(const std::string& shell_cmd, int* exit_code);

// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it
// held. For waiting on gossip in tests against real servers.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));

}  // namespace slotkeeper::test
