// Container probes (startup, readiness, liveness): parsing the pod spec, the pure
// threshold bookkeeping the kubelet does, and running one exec / tcpSocket / httpGet check
// against the pod's loopback address.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "process.h"

namespace slotkeeper::agent {

enum class ProbeKind { kStartup, kReadiness, kLiveness };
std::string_view probeKindName(ProbeKind kind);

struct ProbeSpec {
  enum class Action { kExec, kTcpSocket, kHttpGet, kUnsupported };
  ProbeKind kind = ProbeKind::kReadiness;
  Action action = Action::kUnsupported;
  std::vector<std::string> command;  // exec
  std::string host;                  // tcpSocket/httpGet; "" = the pod IP
  int port = 0;
  std::string path = "/";
  std::string scheme = "HTTP";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::seconds initial_delay{0};
  std::chrono::seconds period{10};
  std::chrono::seconds timeout{1};
  int success_threshold = 1;
  int failure_threshold = 3;
  std::optional<int64_t> termination_grace_seconds;  // probe-level override (liveness/startup)
};

// Parses container.<kind>Probe; nullopt when the container has none. Named ports resolve
// against container.ports.
Result<std::optional<ProbeSpec>> parseProbe(ProbeKind kind, const nlohmann::json& container);

// The kubelet's per-probe state: first check at start + initialDelay, then every period; the
// result flips after successThreshold consecutive successes or failureThreshold consecutive
// failures. Readiness and startup start out failed, liveness starts out succeeded.
class ProbeTracker {
 public:
  ProbeTracker(ProbeSpec spec, Clock::TimePoint container_started);
  bool due(Clock::TimePoint now) const { return now >= next_; }
  Clock::TimePoint nextRun() const { return next_; }
  // Records one check made at `now` and schedules the next one.
  void record(bool success, Clock::TimePoint now);
  bool succeeded() const { return result_; }
  // failureThreshold consecutive failures: time to kill (liveness, startup).
  bool failing() const { return failures_ >= spec_.failure_threshold; }
  int failures() const { return failures_; }  // consecutive
  const ProbeSpec& spec() const { return spec_; }
  const std::string& lastDetail() const { return detail_; }
  void setDetail(std::string detail) { detail_ = std::move(detail); }

 private:
  ProbeSpec spec_;
  Clock::TimePoint next_;
  int successes_ = 0;
  int failures_ = 0;
  bool result_;
  std::string detail_;
};

// Where an exec probe runs: the container's environment and working directory; `argv` is
// already path-rewritten and retargeted at the pod IP.
struct ExecTarget {
  std::vector<std::string> env;
  std::string working_dir;
  std::string output_file;  // last probe output, overwritten each time
};

// One check. `detail` says why it failed.
bool runProbe(const ProbeSpec& spec, const std::string& pod_ip, const ExecTarget& exec,
              std::string* detail);

// Connects to ip:port within `timeout`.
bool tcpConnects(const std::string& ip, int port, std::chrono::milliseconds timeout,
                 std::string* detail);

}  // namespace slotkeeper::agent
