// Pod status construction (pure).
#include "pod_status.h"

#include <algorithm>

#include "kube/timefmt.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

json terminatedJson(const TerminatedState& t) {
  json out = {{"exitCode", t.exit_code},
              {"reason", t.reason},
              {"startedAt", kube::formatTime(t.started_at)},
              {"finishedAt", kube::formatTime(t.finished_at)}};
  if (t.signal != 0) out["signal"] = t.signal;
  if (!t.message.empty()) out["message"] = t.message;
  if (!t.container_id.empty()) out["containerID"] = t.container_id;
  return out;
}

json conditionIn(const json& status, const std::string& type) {
  if (!status.is_object()) return json();
  for (const json& c : status.value("conditions", json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return json();
}

json previousCondition(const json& pod, const std::string& type) {
  return conditionIn(pod.value("status", json::object()), type);
}

// `basis` is the status whose conditions count as "before": our last write, else the pod's.
json condition(const json& basis, const std::string& type, bool value, const std::string& reason,
               const std::string& message, WallTime now) {
  const std::string status = value ? "True" : "False";
  json out = {{"type", type}, {"status", status}, {"lastProbeTime", nullptr}};
  const json previous = conditionIn(basis, type);
  out["lastTransitionTime"] = previous.is_object() && previous.value("status", "") == status &&
                                      previous.contains("lastTransitionTime")
                                  ? previous["lastTransitionTime"]
                                  : json(kube::formatTime(now));
  if (!reason.empty()) out["reason"] = reason;
  if (!message.empty()) out["message"] = message;
  return out;
}

bool everyoneSucceeded(const std::vector<ContainerView>& containers) {
  return std::all_of(containers.begin(), containers.end(), [](const ContainerView& c) {
    return c.state == ContainerView::State::kTerminated && c.terminated &&
           c.terminated->exit_code == 0;
  });
}

std::string unreadyList(const std::vector<ContainerView>& containers) {
  std::string out;
  for (const ContainerView& c : containers) {
    if (c.ready) continue;
    out += (out.empty() ? "" : " ") + c.name;
  }
  return "[" + out + "]";
}

// spec.readinessGates: every gate's condition (set by someone else) must be True.
bool readinessGatesPass(const json& pod) {
  const json& spec = pod.value("spec", json::object());
  for (const json& gate : spec.value("readinessGates", json::array())) {
    const json c = previousCondition(pod, gate.value("conditionType", ""));
    if (!c.is_object() || c.value("status", "") != "True") return false;
  }
  return true;
}

// Conditions owned by others (the scheduler's PodScheduled, readiness gates) pass through.
bool ownedByAgent(const std::string& type) {
  return type == "Initialized" || type == "Ready" || type == "ContainersReady" ||
         type == "PodReadyToStartContainers" || type == "PodScheduled";
}

}  // namespace

std::string podPhase(const PodView& view) {
  const std::string& policy = view.restart_policy;
  // Init containers: a failed one that will not be retried fails the pod; otherwise the
  // pod is Pending until all of them succeeded.
  for (const ContainerView& c : view.init_containers) {
    const bool done = c.state == ContainerView::State::kTerminated && c.terminated;
    if (done && c.terminated->exit_code != 0 && policy == "Never") return "Failed";
  }
  if (!everyoneSucceeded(view.init_containers)) return "Pending";

  int pending = 0, running = 0, stopped = 0, succeeded = 0;
  for (const ContainerView& c : view.containers) {
    switch (c.state) {
      case ContainerView::State::kRunning:
        ++running;
        break;
      case ContainerView::State::kTerminated:
        ++stopped;
        if (c.terminated && c.terminated->exit_code == 0) ++succeeded;
        break;
      case ContainerView::State::kWaiting:
        // Waiting after having run (back-off) counts as stopped, as in the kubelet.
        if (c.last_termination) {
          ++stopped;
        } else {
          ++pending;
        }
        break;
    }
  }
  if (pending > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped == 0) return "Pending";
  if (policy == "Always") return "Running";
  if (stopped == succeeded) return "Succeeded";
  return policy == "OnFailure" ? "Running" : "Failed";
}

json containerStatusJson(const ContainerView& c) {
  json out = {{"name", c.name},
              {"image", c.image},
              {"imageID", ""},
              {"ready", c.ready},
              {"restartCount", c.restart_count},
              {"started", c.started}};
  json state = json::object();
  switch (c.state) {
    case ContainerView::State::kWaiting: {
      json waiting = {{"reason", c.waiting_reason}};
      if (!c.waiting_message.empty()) waiting["message"] = c.waiting_message;
      state["waiting"] = waiting;
      break;
    }
    case ContainerView::State::kRunning:
      state["running"] = {{"startedAt", kube::formatTime(c.started_at)}};
      out["containerID"] = c.container_id;
      break;
    case ContainerView::State::kTerminated:
      if (c.terminated) {
        state["terminated"] = terminatedJson(*c.terminated);
        if (!c.terminated->container_id.empty()) out["containerID"] = c.terminated->container_id;
      }
      break;
  }
  out["state"] = state;
  out["lastState"] = c.last_termination ? json{{"terminated", terminatedJson(*c.last_termination)}}
                                        : json::object();
  return out;
}

json buildPodStatus(const PodView& view, const json& pod, const json& last_sent, WallTime now) {
  const json basis = last_sent.is_object() ? last_sent : pod.value("status", json::object());
  const std::string phase = podPhase(view);
  const bool initialized = everyoneSucceeded(view.init_containers);
  const bool containers_ready =
      !view.containers.empty() && std::all_of(view.containers.begin(), view.containers.end(),
                                              [](const ContainerView& c) { return c.ready; });
  const bool completed = phase == "Succeeded" || phase == "Failed";
  const bool ready = containers_ready && readinessGatesPass(pod);

  json conditions = json::array();
  const json scheduled = previousCondition(pod, "PodScheduled");
  conditions.push_back(scheduled.is_object() ? scheduled
                                             : condition(basis, "PodScheduled", true, "", "", now));
  conditions.push_back(
      condition(basis, "PodReadyToStartContainers", view.sandbox_ready, "", "", now));
  conditions.push_back(condition(
      basis, "Initialized", initialized, initialized ? "" : "ContainersNotInitialized",
      initialized ? "" : "containers with incomplete status: " + unreadyList(view.init_containers),
      now));
  const std::string not_ready_reason = completed ? "PodCompleted" : "ContainersNotReady";
  const std::string not_ready_message =
      completed ? "" : "containers with unready status: " + unreadyList(view.containers);
  conditions.push_back(condition(basis, "ContainersReady", containers_ready,
                                 containers_ready ? "" : not_ready_reason,
                                 containers_ready ? "" : not_ready_message, now));
  conditions.push_back(condition(basis, "Ready", ready, ready ? "" : not_ready_reason,
                                 ready ? "" : not_ready_message, now));
  // Keep conditions written by others (readiness gates, DisruptionTarget).
  const json& status = pod.value("status", json::object());
  for (const json& c : status.value("conditions", json::array())) {
    if (!ownedByAgent(c.value("type", ""))) conditions.push_back(c);
  }

  json out = {{"phase", phase}, {"conditions", conditions}};
  out["hostIP"] = view.host_ip;
  out["hostIPs"] = json::array({{{"ip", view.host_ip}}});
  if (!view.pod_ip.empty()) {
    out["podIP"] = view.pod_ip;
    out["podIPs"] = json::array({{{"ip", view.pod_ip}}});
  }
  if (view.start_time != WallTime{}) out["startTime"] = kube::formatTime(view.start_time);
  json statuses = json::array();
  for (const ContainerView& c : view.containers) statuses.push_back(containerStatusJson(c));
  out["containerStatuses"] = statuses;
  if (!view.init_containers.empty()) {
    json init = json::array();
    for (const ContainerView& c : view.init_containers) init.push_back(containerStatusJson(c));
    out["initContainerStatuses"] = init;
  }
  return out;
}

}  // namespace slotkeeper::agent
