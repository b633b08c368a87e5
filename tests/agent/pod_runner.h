// One pod on one of the agent's Nodes, run by its own thread: sets up the "sandbox" (a
// fresh loopback IP, the pod dir, volumes), starts init containers in order and then the
// containers as local processes, restarts them per restartPolicy with a capped back-off,
// runs probes, reports status, and on deletion runs preStop hooks, SIGTERMs, waits out the
// grace period, SIGKILLs and finally deletes the pod object (gracePeriodSeconds=0, uid
// precondition), as a kubelet does.
//
// Pod dir: <state>/pods/<namespace>_<name>_<uid>/ with volumes/<volume>/ (see volumes.h),
// containers/<container>/ (working directory and HOME), and logs/<container>.stdout.log,
// .stderr.log, .pid (pid of the current process) and .probe.log (last exec probe output).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent_options.h"
#include "common/clock.h"
#include "container_command.h"
#include "env.h"
#include "ip_allocator.h"
#include "kube/events.h"
#include "pod_api.h"
#include "pod_status.h"
#include "probes.h"
#include "process.h"
#include "volumes.h"

namespace slotkeeper::agent {

// Shared by all runners; outlives them.
struct AgentContext {
  const AgentOptions* options = nullptr;
  ImageMap images;
  PodApi* api = nullptr;
  ProcessSpawner* spawner = nullptr;
  PodIpAllocator* ips = nullptr;
  kube::EventRecorder* events = nullptr;  // optional: kubelet-style pod Events
  std::string apiserver_host;  // what in-cluster clients get as KUBERNETES_SERVICE_HOST/PORT
  std::string apiserver_port;
};

class PodRunner {
 public:
  PodRunner(AgentContext& ctx, const nlohmann::json& pod);
  ~PodRunner();  // requests shutdown and joins
  PodRunner(const PodRunner&) = delete;
  PodRunner& operator=(const PodRunner&) = delete;

  // A newer version of the object from the watch.
  void update(const nlohmann::json& pod);
  // The object disappeared from the API without this runner deleting it (force delete).
  void markGone();
  // The agent is stopping: stop the processes (grace capped by --shutdown-grace), report
  // the containers as not ready, keep the object.
  void requestShutdown();
  void join();

  bool finished() const { return finished_.load(); }
  // True when the runner ended because the pod was deleted (its uid will not come back).
  bool deleted() const { return deleted_.load(); }
  const std::string& uid() const { return uid_; }
  const std::string& key() const { return key_; }

 private:
  struct Container {
    nlohmann::json spec;
    bool init = false;
    ContainerView view;
    pid_t pid = 0;
    bool ever_started = false;
    bool done = false;  // will not run again
    Clock::TimePoint started_mono{};
    Clock::TimePoint next_start{};
    int failures = 0;  // consecutive, for the back-off
    std::optional<ProbeTracker> startup, readiness, liveness;
    ExecTarget exec;  // environment for exec probes and hooks
  };

  void run(std::stop_token stop);
  void adoptPreviousStatus(const nlohmann::json& pod);
  // One pass over the pod; returns how long the loop may sleep.
  std::chrono::milliseconds syncOnce(const nlohmann::json& pod);
  bool setupSandbox(const nlohmann::json& pod);
  void stepContainer(Container& c, const nlohmann::json& pod);
  void startContainer(Container& c, const nlohmann::json& pod);
  void onExit(Container& c, const ExitInfo& exit, const std::string& message, bool force_restart,
              const std::string& reason = "");
  void waitFor(Container& c, const std::string& reason, const std::string& message,
               std::chrono::milliseconds retry);
  void runProbes(const nlohmann::json& pod);
  bool probe(Container& c, ProbeTracker& tracker);
  void killForProbe(Container& c, const ProbeTracker& tracker, const nlohmann::json& pod);
  void publishStatus(const nlohmann::json& pod);
  EnvList baseEnv(const Container& c) const;
  PodFacts facts() const;

  void terminateAndDelete(const nlohmann::json& pod);
  void stopForShutdown(const nlohmann::json& pod);
  // preStop hooks, SIGTERM, wait, SIGKILL; marks containers terminated.
  void stopAll(std::chrono::milliseconds grace, bool run_hooks);
  // Best effort: a failed Event never stops the pod.
  void event(kube::EventType type, std::string_view reason, const std::string& message);
  void runPreStop(Container& c, std::chrono::steady_clock::time_point deadline);
  void cleanup();

  std::vector<Container*> allContainers();
  PodView view() const;

  AgentContext& ctx_;
  const std::string uid_;
  const std::string ns_;
  const std::string name_;
  const std::string key_;
  const std::string pod_dir_;
  const std::string restart_policy_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  nlohmann::json pod_;  // latest object from the watch, guarded by mu_
  bool changed_ = false;
  bool gone_ = false;
  bool shutdown_ = false;

  // Runner thread only.
  nlohmann::json current_;  // copy of pod_, refreshed only when the watch delivered a change
  bool pod_dirty_ = true;   // current_ changed since the status was last built
  std::optional<PodView> last_view_;  // the view behind last_sent_
  std::vector<Container> init_;
  std::vector<Container> main_;
  PodVolumes volumes_;
  std::string pod_ip_;
  bool sandbox_ready_ = false;
  Clock::TimePoint next_sandbox_try_{};
  std::chrono::system_clock::time_point start_time_{};
  bool terminal_ = false;  // Succeeded/Failed: nothing runs any more
  bool shutting_down_ = false;
  nlohmann::json last_sent_;
  Clock::TimePoint next_publish_try_{};

  std::atomic<bool> finished_{false};
  std::atomic<bool> deleted_{false};
  std::jthread thread_;  // last: starts after everything above is constructed
};

}  // namespace slotkeeper::agent
