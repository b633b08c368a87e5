// Process spawning and reaping for container processes.
#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace slotkeeper::agent {
namespace {

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls
// are allowed (other agent threads may hold malloc or OpenSSL locks).
struct PreparedExec {
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* executable;
  const char* cwd;
  const char* out;
  const char* err;
  int open_flags;
  bool same_file;
};

PreparedExec prepare(SpawnRequest& r) {
  PreparedExec p{};
  for (std::string& a : r.argv) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (std::string& e : r.env) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  p.executable = r.executable.c_str();
  p.cwd = r.working_dir.empty() ? nullptr : r.working_dir.c_str();
  p.out = r.stdout_path.empty() ? "/dev/null" : r.stdout_path.c_str();
  p.err = r.stderr_path.empty() ? "/dev/null" : r.stderr_path.c_str();
  p.same_file = r.stdout_path == r.stderr_path;
  p.open_flags = O_WRONLY | O_CREAT | (r.truncate_output ? O_TRUNC : O_APPEND);
  return p;
}

// Child side. Reports a failing step through `report_fd` as (step, errno) and exits 127.
[[noreturn]] void execChild(const PreparedExec& p, pid_t parent, int report_fd) {
  auto fail = [report_fd](int step) {
    int payload[2] = {step, errno};
    ssize_t ignored = write(report_fd, payload, sizeof(payload));
    (void)ignored;
    _exit(127);
  };
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the agent died between fork and prctl
  setpgid(0, 0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) sigaction(s, &dfl, nullptr);  // undo the agent's SIG_IGN
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (p.cwd != nullptr && chdir(p.cwd) != 0) fail(1);
  int in = open("/dev/null", O_RDONLY);
  int out = open(p.out, p.open_flags, 0644);
  // One open file description when both go to the same file, so they do not overwrite
  // each other's output.
  int err = p.same_file ? dup(out) : open(p.err, p.open_flags, 0644);
  if (in < 0 || out < 0 || err < 0) fail(2);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) fail(2);
  // The agent's API connections must not leak into containers; report_fd is CLOEXEC.
  if (report_fd > 3) close_range(3, static_cast<unsigned>(report_fd) - 1, 0);
  close_range(static_cast<unsigned>(report_fd) + 1, ~0U, 0);
  execve(p.executable, p.argv.data(), p.envp.data());
  fail(3);
  _exit(127);  // not reached: fail() exits
}

Result<pid_t> forkExec(SpawnRequest& request) {
  PreparedExec prepared = prepare(request);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return unavailable(std::string("pipe2: ") + strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return unavailable(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) {
    close(pipe_fds[0]);
    execChild(prepared, parent, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  int payload[2] = {0, 0};
  ssize_t n;
  do {
    n = read(pipe_fds[0], payload, sizeof(payload));
  } while (n < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (n <= 0) return pid;  // EOF: exec closed the CLOEXEC pipe, the program runs
  int status = 0;
  waitpid(pid, &status, 0);
  static const char* kSteps[] = {"", "chdir to working dir", "open stdio", "exec"};
  const int step = payload[0] >= 1 && payload[0] <= 3 ? payload[0] : 3;
  return failedPrecondition(std::string(kSteps[step]) + " failed for " + request.executable + ": " +
                            strerror(payload[1]));
}

ExitInfo exitInfoFrom(const siginfo_t& info) {
  ExitInfo out;
  if (info.si_code == CLD_EXITED) {
    out.exit_code = info.si_status;
  } else {
    out.signal = info.si_status;
    out.exit_code = 128 + info.si_status;
  }
  return out;
}

}  // namespace

ProcessSpawner::ProcessSpawner() : thread_([this] { loop(); }) {}

ProcessSpawner::~ProcessSpawner() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<pid_t> ProcessSpawner::spawn(SpawnRequest request) {
  Job job{std::move(request), {}};
  std::future<Result<pid_t>> result = job.done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return aborted("agent is stopping");
    queue_.push_back(&job);
  }
  cv_.notify_all();
  return result.get();
}

void ProcessSpawner::loop() {
  while (true) {
    Job* job = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = queue_.front();
      queue_.pop_front();
    }
    job->done.set_value(forkExec(job->request));
  }
}

std::optional<ExitInfo> pollExit(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: look without reaping, so the pid (and with it the group id) stays reserved
  // while we clean up the rest of the group.
  if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == ECHILD) return ExitInfo{255, 0};  // not ours (anymore): treat as ended
    return std::nullopt;
  }
  if (info.si_pid == 0) return std::nullopt;
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return exitInfoFrom(info);
}

std::vector<ExitInfo> stopProcesses(const std::vector<pid_t>& pids,
                                    std::chrono::milliseconds grace) {
  std::vector<std::optional<ExitInfo>> exits(pids.size());
  for (pid_t pid : pids) kill(-pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (true) {
    bool all_done = true;
    for (size_t i = 0; i < pids.size(); ++i) {
      if (!exits[i]) exits[i] = pollExit(pids[i]);
      all_done = all_done && exits[i].has_value();
    }
    if (all_done || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::vector<ExitInfo> out;
  for (size_t i = 0; i < pids.size(); ++i) {
    if (!exits[i]) {
      kill(-pids[i], SIGKILL);
      siginfo_t info{};
      waitid(P_PID, pids[i], &info, WEXITED);
      exits[i] = exitInfoFrom(info);
    }
    out.push_back(*exits[i]);
  }
  return out;
}

Result<pid_t> spawnShortLived(const SpawnRequest& request) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  const int flags =
      request.truncate_output ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY | O_CREAT | O_APPEND;
  const char* out = request.stdout_path.empty() ? "/dev/null" : request.stdout_path.c_str();
  const char* err = request.stderr_path.empty() ? "/dev/null" : request.stderr_path.c_str();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out, flags, 0644);
  if (request.stdout_path == request.stderr_path) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err, flags, 0644);
  }
  if (!request.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, request.working_dir.c_str());
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // Own process group (so a timeout kills the whole pipeline of an `sh -c` probe), default
  // signal dispositions and an empty mask (the agent blocks SIGTERM and ignores SIGPIPE).
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv, envp;
  for (const std::string& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : request.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, request.executable.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return failedPrecondition("spawn " + request.executable + ": " + strerror(rc));
  }
  return pid;
}

Result<ExitInfo> runToCompletion(const SpawnRequest& request, std::chrono::milliseconds timeout,
                                 std::string* output) {
  if (output != nullptr && request.stdout_path.empty()) {
    return invalidArgument("runToCompletion: output requested without an output file");
  }
  const std::string capture = request.stdout_path;
  ASSIGN_OR_RETURN(pid_t pid, spawnShortLived(request));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<ExitInfo> exit;
  auto pause = std::chrono::milliseconds(2);
  while (!(exit = pollExit(pid))) {
    if (std::chrono::steady_clock::now() >= deadline) {
      stopProcesses({pid}, std::chrono::milliseconds(0));
      return deadlineExceeded("command timed out after " + std::to_string(timeout.count()) + "ms");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  if (output != nullptr) {
    std::ifstream in(capture);
    std::string text(4096, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    *output = std::move(text);
  }
  return *exit;
}

std::string findExecutable(const std::string& name, const std::string& path_list) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  std::istringstream dirs(path_list);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

}  // namespace slotkeeper::agent
