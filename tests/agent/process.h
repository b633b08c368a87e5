// Starting, watching and stopping the local processes that stand in for containers.
// Every process is forked from one long-lived spawner thread with PR_SET_PDEATHSIG=SIGKILL
// (the death signal follows the *thread* that forked), so if the agent dies for any reason
// its containers die with it instead of lingering on their loopback addresses. Each process
// leads its own process group; the agent only ever signals groups whose leader it has not
// yet reaped, so a recycled pid can never be hit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace slotkeeper::agent {

struct SpawnRequest {
  std::string executable;         // absolute path
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"; nothing is inherited from the agent
  std::string working_dir;
  std::string stdout_path;       // "" = /dev/null
  std::string stderr_path;       // "" = /dev/null
  bool truncate_output = false;  // default: append (restarts add to the same log)
};

// How a process ended. exit_code follows the container convention: 128 + signal if killed.
struct ExitInfo {
  int exit_code = 0;
  int signal = 0;
};

class ProcessSpawner {
 public:
  ProcessSpawner();
  ~ProcessSpawner();
  ProcessSpawner(const ProcessSpawner&) = delete;
  ProcessSpawner& operator=(const ProcessSpawner&) = delete;

  // Forks and execs on the spawner thread; returns the pid once exec succeeded, or the
  // reason it failed (missing binary, bad working dir) as kFailedPrecondition.
  Result<pid_t> spawn(SpawnRequest request);

 private:
  struct Job {
    SpawnRequest request;
    std::promise<Result<pid_t>> done;
  };
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// Non-blocking: if `pid` has ended, kills whatever is left in its process group (a forked
// BGSAVE child, a shell's children), reaps it and returns how it ended.
std::optional<ExitInfo> pollExit(pid_t pid);

// SIGTERM to each group, up to `grace` for all of them to end, then SIGKILL to the rest;
// every pid is reaped. Returns the exit of each pid, in order.
std::vector<ExitInfo> stopProcesses(const std::vector<pid_t>& pids,
                                    std::chrono::milliseconds grace);

// Starts a short-lived helper (probe, hook) with posix_spawn: vfork semantics, so no page
// tables are copied (exec probes run every second or two per container). No death signal:
// if the agent dies mid-probe, the helper still ends on its own within its timeout.
Result<pid_t> spawnShortLived(const SpawnRequest& request);

// Runs a short-lived command to completion; kills it after `timeout` (kDeadlineExceeded).
// `output` gets up to 4 KiB of its stdout (request.stdout_path) when given.
Result<ExitInfo> runToCompletion(const SpawnRequest& request, std::chrono::milliseconds timeout,
                                 std::string* output = nullptr);

// Looks `name` up in the colon-separated `path_list` unless it contains a '/'. Empty when
// nothing executable is found.
std::string findExecutable(const std::string& name, const std::string& path_list);

}  // namespace slotkeeper::agent
