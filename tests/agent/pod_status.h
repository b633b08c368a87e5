// Pure construction of a Pod's status from what the runner knows about its containers:
// phase (the kubelet's getPhase rules), conditions with stable transition times, and
// container statuses with waiting/running/terminated states.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace slotkeeper::agent {

using WallTime = std::chrono::system_clock::time_point;

struct TerminatedState {
  int exit_code = 0;
  int signal = 0;
  std::string reason;  // "Completed", "Error", "StartError"
  std::string message;
  WallTime started_at{};
  WallTime finished_at{};
  std::string container_id;
  friend bool operator==(const TerminatedState&, const TerminatedState&) = default;
};

struct ContainerView {
  enum class State { kWaiting, kRunning, kTerminated };
  std::string name;
  std::string image;
  State state = State::kWaiting;
  std::string waiting_reason = "ContainerCreating";
  std::string waiting_message;
  WallTime started_at{};                      // running
  std::optional<TerminatedState> terminated;  // current state when kTerminated
  std::optional<TerminatedState> last_termination;
  int restart_count = 0;
  bool ready = false;
  bool started = false;
  std::string container_id;  // running
  friend bool operator==(const ContainerView&, const ContainerView&) = default;
};

struct PodView {
  std::string restart_policy = "Always";
  std::string pod_ip;
  std::string host_ip;
  bool sandbox_ready = false;  // IP assigned and volumes prepared
  WallTime start_time{};
  std::vector<ContainerView> init_containers;
  std::vector<ContainerView> containers;
  friend bool operator==(const PodView&, const PodView&) = default;
};

// "Pending" / "Running" / "Succeeded" / "Failed".
std::string podPhase(const PodView& view);

// The full status object for a merge patch. `pod` supplies what others own (the
// scheduler's PodScheduled, readiness gates). A condition keeps its lastTransitionTime while
// its status does not change; the previous value comes from `last_sent` (the status this
// agent wrote last, null if none) because the watched `pod` may lag behind our own writes.
nlohmann::json buildPodStatus(const PodView& view, const nlohmann::json& pod,
                              const nlohmann::json& last_sent, WallTime now);

nlohmann::json containerStatusJson(const ContainerView& c);

}  // namespace slotkeeper::agent
