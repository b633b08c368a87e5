// The per-pod state machine of the node agent.
#include "pod_runner.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "common/log.h"
#include "kube/timefmt.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kTick{200};
constexpr milliseconds kIdleTick{1000};
constexpr milliseconds kSandboxRetry{1000};
constexpr milliseconds kConfigRetry{2000};
constexpr milliseconds kImageRetry{10000};
// A force-deleted pod (no grace left to honour) still gets a moment to shut down cleanly.
constexpr milliseconds kGoneGrace{2000};
// A container that ran this long before exiting starts its back-off afresh.
constexpr std::chrono::seconds kBackoffReset{60};

const json& field(const json& object, const char* key) {
  static const json kEmpty = json::object();
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

std::string podKey(const json& pod) {
  return field(pod, "metadata").value("namespace", "") + "/" +
         field(pod, "metadata").value("name", "");
}

std::string podDirFor(const AgentOptions& options, const json& pod) {
  const json& meta = field(pod, "metadata");
  return options.state_dir + "/pods/" + meta.value("namespace", "") + "_" + meta.value("name", "") +
         "_" + meta.value("uid", "");
}

bool isDeleting(const json& pod) { return field(pod, "metadata").contains("deletionTimestamp"); }

int64_t gracePeriodSeconds(const json& pod) {
  const json& meta = field(pod, "metadata");
  if (meta.contains("deletionGracePeriodSeconds") &&
      meta["deletionGracePeriodSeconds"].is_number_integer()) {
    return meta["deletionGracePeriodSeconds"].get<int64_t>();
  }
  return field(pod, "spec").value("terminationGracePeriodSeconds", int64_t{30});
}

std::vector<std::string> stringList(const json& container, const char* key) {
  std::vector<std::string> out;
  for (const json& v : container.value(key, json::array())) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

void makeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
}

std::string envValue(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& e : env) {
    if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
  }
  return "";
}

std::string fmtMs(milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                               : std::to_string(d.count()) + "ms";
}

}  // namespace

PodRunner::PodRunner(AgentContext& ctx, const json& pod)
    : ctx_(ctx),
      uid_(field(pod, "metadata").value("uid", "")),
      ns_(field(pod, "metadata").value("namespace", "")),
      name_(field(pod, "metadata").value("name", "")),
      key_(podKey(pod)),
      pod_dir_(podDirFor(*ctx.options, pod)),
      restart_policy_(field(pod, "spec").value("restartPolicy", "Always")),
      pod_(pod),
      current_(pod),
      volumes_(pod_dir_, ctx.options->state_dir) {
  for (const char* list : {"initContainers", "containers"}) {
    for (const json& spec : field(pod, "spec").value(list, json::array())) {
      Container c;
      c.spec = spec;
      c.init = std::string(list) == "initContainers";
      c.view.name = spec.value("name", "");
      c.view.image = spec.value("image", "");
      (c.init ? init_ : main_).push_back(std::move(c));
    }
  }
  adoptPreviousStatus(pod);
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

PodRunner::~PodRunner() {
  requestShutdown();
  join();
}

void PodRunner::update(const json& pod) {
  {
    std::lock_guard lock(mu_);
    pod_ = pod;
    changed_ = true;
  }
  cv_.notify_all();
}

void PodRunner::markGone() {
  {
    std::lock_guard lock(mu_);
    gone_ = true;
  }
  cv_.notify_all();
}

void PodRunner::requestShutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

void PodRunner::join() {
  if (thread_.joinable()) thread_.join();
}

// After an agent restart the pod object already carries an IP, restart counts and maybe a
// final phase: keep them, so the pod does not change identity under its users.
void PodRunner::adoptPreviousStatus(const json& pod) {
  const json& status = field(pod, "status");
  const std::string phase = status.value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") {
    terminal_ = true;
    last_sent_ = status;
    return;
  }
  pod_ip_ = status.value("podIP", "");
  if (!pod_ip_.empty()) ctx_.ips->reserve(pod_ip_);
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    for (const json& s : status.value(list, json::array())) {
      for (Container* c : allContainers()) {
        if (c->view.name != s.value("name", "")) continue;
        c->view.restart_count = s.value("restartCount", 0);
        const json& state = field(s, "state");
        c->ever_started = state.contains("running") || state.contains("terminated") ||
                          !field(s, "lastState").empty();
        if (c->init && state.contains("terminated") &&
            field(state, "terminated").value("exitCode", -1) == 0) {
          // A finished init container is not run twice.
          c->done = true;
          c->view.state = ContainerView::State::kTerminated;
          c->view.terminated = TerminatedState{0, 0, "Completed", "", {}, {}, ""};
        }
      }
    }
  }
}

std::vector<PodRunner::Container*> PodRunner::allContainers() {
  std::vector<Container*> out;
  for (Container& c : init_) out.push_back(&c);
  for (Container& c : main_) out.push_back(&c);
  return out;
}

PodView PodRunner::view() const {
  PodView v;
  v.restart_policy = restart_policy_;
  v.pod_ip = sandbox_ready_ ? pod_ip_ : "";
  v.host_ip = ctx_.options->node_ip;
  v.sandbox_ready = sandbox_ready_;
  v.start_time = start_time_;
  for (const Container& c : init_) v.init_containers.push_back(c.view);
  for (const Container& c : main_) v.containers.push_back(c.view);
  return v;
}

PodFacts PodRunner::facts() const {
  PodFacts f;
  f.pod_ip = pod_ip_;
  f.host_ip = ctx_.options->node_ip;
  f.node_cpu = ctx_.options->node_cpu;
  f.node_memory = ctx_.options->node_memory;
  return f;
}

void PodRunner::run(std::stop_token stop) {
  log::info("pod runner started", {{"pod", key_}, {"uid", uid_}});
  while (true) {
    bool gone = false;
    bool shutdown = false;
    {
      std::lock_guard lock(mu_);
      // Copied only when it changed: most passes just reap and probe.
      if (changed_) {
        current_ = pod_;
        pod_dirty_ = true;
        changed_ = false;
      }
      gone = gone_;
      shutdown = shutdown_ || stop.stop_requested();
    }
    const json& pod = current_;
    if (shutdown) {
      stopForShutdown(pod);
      break;
    }
    if (gone) {
      stopAll(kGoneGrace, /*run_hooks=*/false);
      cleanup();
      deleted_ = true;
      break;
    }
    if (isDeleting(pod)) {
      terminateAndDelete(pod);
      break;
    }
    const milliseconds sleep = syncOnce(pod);
    publishStatus(pod);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, sleep, [this] { return changed_ || gone_ || shutdown_; });
  }
  log::info("pod runner finished", {{"pod", key_}, {"uid", uid_}});
  finished_ = true;
}

milliseconds PodRunner::syncOnce(const json& pod) {
  if (terminal_) return kIdleTick;
  if (!sandbox_ready_ && !setupSandbox(pod)) return kTick;
  if (Status refreshed = volumes_.refreshTokens(pod, *ctx_.api, std::chrono::system_clock::now());
      !refreshed.isOk()) {
    log::warn("token refresh failed", {{"pod", key_}, {"error", refreshed.toString()}});
  }
  if (Status refreshed = volumes_.refreshSources(pod, *ctx_.api, std::chrono::steady_clock::now());
      !refreshed.isOk()) {
    log::warn("volume refresh failed", {{"pod", key_}, {"error", refreshed.toString()}});
  }
  // Init containers one at a time, in order; containers only once all of them succeeded.
  bool initializing = false;
  for (Container& c : init_) {
    if (c.done && c.view.terminated && c.view.terminated->exit_code == 0) continue;
    if (!c.done) stepContainer(c, pod);
    initializing = true;  // running, backing off, or failed for good
    break;
  }
  if (initializing) {
    for (Container& c : main_) {
      if (!c.ever_started) c.view.waiting_reason = "PodInitializing";
    }
  } else {
    for (Container& c : main_) stepContainer(c, pod);
    runProbes(pod);
  }
  const std::string phase = podPhase(view());
  if (phase == "Succeeded" || phase == "Failed") {
    terminal_ = true;
    log::info("pod completed", {{"pod", key_}, {"phase", phase}});
  }
  return kTick;
}

bool PodRunner::setupSandbox(const json& pod) {
  if (SteadyClock::now() < next_sandbox_try_) return false;
  next_sandbox_try_ = SteadyClock::now() + kSandboxRetry;
  if (!pod_ip_.empty() && ctx_.ips->inUse(pod_ip_)) {
    // Adopted after an agent restart, but meanwhile someone else (another agent sharing
    // the range) listens there: take a fresh address rather than crash-loop on bind.
    log::warn("adopted pod IP is taken, allocating a new one", {{"pod", key_}, {"ip", pod_ip_}});
    pod_ip_.clear();
  }
  if (pod_ip_.empty()) {
    auto ip = ctx_.ips->allocate();
    if (!ip.isOk()) {
      for (Container* c : allContainers()) c->view.waiting_message = ip.status().message();
      return false;
    }
    pod_ip_ = *ip;
  }
  makeDirs(pod_dir_ + "/logs");
  for (Container* c : allContainers()) makeDirs(pod_dir_ + "/containers/" + c->view.name);
  Status prepared = volumes_.prepare(pod, facts(), *ctx_.api);
  if (!prepared.isOk()) {
    // Shown as ContainerCreating with the reason, as `kubectl describe` would show events.
    const bool changed = allContainers().empty() ||
                         allContainers().front()->view.waiting_message != prepared.message();
    for (Container* c : allContainers()) c->view.waiting_message = prepared.message();
    if (changed) {
      log::info("pod sandbox not ready", {{"pod", key_}, {"reason", prepared.toString()}});
      event(kube::EventType::kWarning, "FailedMount", prepared.message());
    }
    return false;
  }
  for (Container* c : allContainers()) c->view.waiting_message.clear();
  const std::string previous_start = field(pod, "status").value("startTime", "");
  start_time_ = std::chrono::system_clock::now();
  if (auto parsed = kube::parseTime(previous_start); parsed.isOk()) start_time_ = *parsed;
  sandbox_ready_ = true;
  log::info("pod sandbox ready", {{"pod", key_}, {"ip", pod_ip_}, {"dir", pod_dir_}});
  return true;
}

void PodRunner::stepContainer(Container& c, const json& pod) {
  if (c.pid > 0) {
    if (auto exit = pollExit(c.pid)) onExit(c, *exit, "", false);
    return;
  }
  if (c.done || SteadyClock::now() < c.next_start) return;
  startContainer(c, pod);
}

void PodRunner::waitFor(Container& c, const std::string& reason, const std::string& message,
                        milliseconds retry) {
  if (c.view.waiting_reason != reason || c.view.waiting_message != message) {
    log::warn(
        "container cannot start",
        {{"pod", key_}, {"container", c.view.name}, {"reason", reason}, {"message", message}});
    event(kube::EventType::kWarning, "Failed", reason + ": " + message);
  }
  c.view.state = ContainerView::State::kWaiting;
  c.view.waiting_reason = reason;
  c.view.waiting_message = message;
  c.next_start = SteadyClock::now() + retry;
}

EnvList PodRunner::baseEnv(const Container& c) const {
  EnvList env;
  env.set("PATH", kContainerPath);
  env.set("HOSTNAME", name_);
  env.set("HOME", pod_dir_ + "/containers/" + c.view.name);
  env.set("KUBERNETES_SERVICE_HOST", ctx_.apiserver_host);
  env.set("KUBERNETES_SERVICE_PORT", ctx_.apiserver_port);
  env.set("KUBERNETES_SERVICE_PORT_HTTPS", ctx_.apiserver_port);
  const std::string sa_dir = volumes_.serviceAccountDir(c.spec);
  if (!sa_dir.empty()) {
    // No mount namespace: in-cluster clients are told where the token directory is.
    env.set("SLOTKEEPER_SA_DIR", sa_dir);
    env.set("SK_SERVICEACCOUNT_DIR", sa_dir);
  }
  return env;
}

void PodRunner::startContainer(Container& c, const json& pod) {
  const PathRewriter paths = volumes_.rewriterFor(c.spec);
  auto env = resolveContainerEnv(pod, c.spec, facts(), baseEnv(c), paths, *ctx_.api);
  if (!env.isOk())
    return waitFor(c, "CreateContainerConfigError", env.status().message(), kConfigRetry);
  std::vector<std::string> command, args;
  for (const std::string& word : stringList(c.spec, "command")) {
    command.push_back(paths.rewrite(expandVars(word, env->asMap())));
  }
  for (const std::string& word : stringList(c.spec, "args")) {
    args.push_back(paths.rewrite(expandVars(word, env->asMap())));
  }
  auto mapped = mapContainerCommand(c.view.image, command, args, ctx_.images);
  if (!mapped.isOk()) return waitFor(c, "ErrImagePull", mapped.status().message(), kImageRetry);

  const std::vector<std::string> env_strings = env->asStrings();
  SpawnRequest request;
  request.executable = findExecutable(mapped->executable, envValue(env_strings, "PATH"));
  request.argv = mapped->argv;
  if (mapped->redis_server) {
    for (std::string& arg : redisLoopbackArgs(pod_ip_)) request.argv.push_back(std::move(arg));
  }
  request.env = env_strings;
  const std::string working_dir = c.spec.value("workingDir", "");
  request.working_dir = pod_dir_ + "/containers/" + c.view.name;
  if (!working_dir.empty()) {
    std::string host = paths.hostPathFor(working_dir);
    request.working_dir = host.empty() ? pod_dir_ + "/rootfs" + working_dir : host;
    makeDirs(request.working_dir);
  }
  const std::string logs = pod_dir_ + "/logs/" + c.view.name;
  request.stdout_path = logs + ".stdout.log";
  request.stderr_path = logs + ".stderr.log";

  if (c.ever_started) ++c.view.restart_count;
  c.ever_started = true;
  c.started_mono = SteadyClock::now();
  c.view.started_at = std::chrono::system_clock::now();
  Result<pid_t> pid = request.executable.empty()
                          ? Result<pid_t>(failedPrecondition("executable \"" + mapped->executable +
                                                             "\" not found in $PATH"))
                          : ctx_.spawner->spawn(request);
  if (!pid.isOk()) {
    // The kubelet reports a container that could not be started as terminated StartError.
    log::warn("container start failed",
              {{"pod", key_}, {"container", c.view.name}, {"error", pid.status().message()}});
    onExit(c, ExitInfo{128, 0}, pid.status().message(), false, "StartError");
    return;
  }
  c.pid = *pid;
  std::ofstream(logs + ".pid", std::ios::trunc) << c.pid << "\n";
  c.view.state = ContainerView::State::kRunning;
  c.view.container_id = "slotkeeper://" + std::to_string(c.pid);
  c.view.waiting_reason.clear();
  c.view.waiting_message.clear();
  c.view.terminated.reset();
  c.exec = ExecTarget{env_strings, request.working_dir, logs + ".probe.log"};
  c.startup.reset();
  c.readiness.reset();
  c.liveness.reset();
  const std::pair<ProbeKind, std::optional<ProbeTracker>*> probes[] = {
      {ProbeKind::kStartup, &c.startup},
      {ProbeKind::kReadiness, &c.readiness},
      {ProbeKind::kLiveness, &c.liveness}};
  for (const auto& [kind, slot] : probes) {
    auto spec = parseProbe(kind, c.spec);
    if (!spec.isOk()) {
      log::warn("bad probe",
                {{"pod", key_}, {"container", c.view.name}, {"error", spec.status().message()}});
      continue;
    }
    if (!*spec) continue;
    if ((*spec)->action == ProbeSpec::Action::kExec) {
      (*spec)->command = retargetExecCommand(
          [&] {
            std::vector<std::string> words;
            for (const std::string& w : (*spec)->command) {
              words.push_back(paths.rewrite(expandVars(w, env->asMap())));
            }
            return words;
          }(),
          pod_ip_);
    }
    slot->emplace(**spec, c.started_mono);
  }
  c.view.started = !c.startup.has_value();
  c.view.ready = c.view.started && !c.readiness.has_value() && !c.init;
  event(kube::EventType::kNormal, "Started", "Started container " + c.view.name);
  log::info("container started", {{"pod", key_},
                                  {"container", c.view.name},
                                  {"pid", c.pid},
                                  {"ip", pod_ip_},
                                  {"restarts", c.view.restart_count},
                                  {"argv", request.argv}});
}

void PodRunner::onExit(Container& c, const ExitInfo& exit, const std::string& message,
                       bool force_restart, const std::string& reason) {
  const auto now = SteadyClock::now();
  TerminatedState t;
  t.exit_code = exit.exit_code;
  t.signal = exit.signal;
  t.reason = !reason.empty() ? reason : exit.exit_code == 0 ? "Completed" : "Error";
  t.message = message;
  t.started_at = c.view.started_at;
  t.finished_at = std::chrono::system_clock::now();
  t.container_id = c.view.container_id;
  log::info("container exited", {{"pod", key_},
                                 {"container", c.view.name},
                                 {"pid", c.pid},
                                 {"exit_code", exit.exit_code},
                                 {"signal", exit.signal},
                                 {"message", message}});
  c.pid = 0;
  c.view.ready = false;
  c.view.started = false;
  c.view.container_id.clear();
  c.startup.reset();
  c.readiness.reset();
  c.liveness.reset();
  if (c.init && exit.exit_code == 0) {
    c.done = true;
    c.view.state = ContainerView::State::kTerminated;
    c.view.terminated = t;
    return;
  }
  // Init containers under restartPolicy Always are retried like OnFailure.
  const bool restart = force_restart                    ? restart_policy_ != "Never"
                       : restart_policy_ == "Always"    ? !c.init || exit.exit_code != 0
                       : restart_policy_ == "OnFailure" ? exit.exit_code != 0
                                                        : false;
  if (!restart) {
    c.done = true;
    c.view.state = ContainerView::State::kTerminated;
    c.view.terminated = t;
    return;
  }
  if (now - c.started_mono >= kBackoffReset) c.failures = 0;
  ++c.failures;
  milliseconds delay = ctx_.options->backoff_base;
  for (int i = 1; i < c.failures && delay < ctx_.options->backoff_max; ++i) delay *= 2;
  delay = std::min(delay, ctx_.options->backoff_max);
  c.view.last_termination = t;
  c.view.terminated.reset();
  c.view.state = ContainerView::State::kWaiting;
  c.view.waiting_reason = "CrashLoopBackOff";
  c.view.waiting_message = "back-off " + fmtMs(delay) +
                           " restarting failed container=" + c.view.name + " pod=" + name_ + "_" +
                           ns_ + "(" + uid_ + ")";
  c.next_start = now + delay;
  event(kube::EventType::kWarning, "BackOff",
        "Back-off restarting failed container " + c.view.name + " in pod " + name_);
}

bool PodRunner::probe(Container& c, ProbeTracker& tracker) {
  std::string detail;
  const bool ok = runProbe(tracker.spec(), pod_ip_, c.exec, &detail);
  const bool before = tracker.succeeded();
  tracker.record(ok, SteadyClock::now());
  tracker.setDetail(detail);
  if (!ok && tracker.failures() == 1) {
    // One Event per failing streak, not one per period.
    std::string kind(probeKindName(tracker.spec().kind));
    kind[0] = static_cast<char>(std::toupper(kind[0]));
    event(kube::EventType::kWarning, "Unhealthy", kind + " probe failed: " + detail);
  }
  if (before != tracker.succeeded() || !ok) {
    log::write(ok ? log::Level::kInfo : log::Level::kDebug, "probe result",
               {{"pod", key_},
                {"container", c.view.name},
                {"probe", std::string(probeKindName(tracker.spec().kind))},
                {"success", ok},
                {"result", tracker.succeeded()},
                {"detail", detail}});
  }
  return ok;
}

void PodRunner::runProbes(const json& pod) {
  for (Container& c : main_) {
    if (c.pid <= 0) continue;
    const auto now = SteadyClock::now();
    if (c.startup && !c.view.started) {
      if (!c.startup->due(now)) continue;
      probe(c, *c.startup);
      if (c.startup->succeeded()) {
        c.view.started = true;
        // Liveness and readiness start counting once startup succeeded.
        if (c.liveness) c.liveness.emplace(c.liveness->spec(), SteadyClock::now());
        if (c.readiness) c.readiness.emplace(c.readiness->spec(), SteadyClock::now());
      } else if (c.startup->failing()) {
        killForProbe(c, *c.startup, pod);
        continue;
      }
    }
    if (!c.view.started) continue;
    if (c.liveness && c.liveness->due(now)) {
      probe(c, *c.liveness);
      if (c.liveness->failing()) {
        killForProbe(c, *c.liveness, pod);
        continue;
      }
    }
    if (c.readiness && c.readiness->due(now)) probe(c, *c.readiness);
    c.view.ready = c.readiness ? c.readiness->succeeded() : true;
  }
}

void PodRunner::killForProbe(Container& c, const ProbeTracker& tracker, const json& pod) {
  const int64_t grace = tracker.spec().termination_grace_seconds.value_or(
      field(pod, "spec").value("terminationGracePeriodSeconds", int64_t{30}));
  const std::string message = "Container " + c.view.name + " failed " +
                              std::string(probeKindName(tracker.spec().kind)) +
                              " probe, will be restarted: " + tracker.lastDetail();
  log::info("killing container", {{"pod", key_}, {"container", c.view.name}, {"why", message}});
  event(kube::EventType::kNormal, "Killing", message);
  const std::vector<ExitInfo> exits = stopProcesses({c.pid}, std::chrono::seconds(grace));
  onExit(c, exits.front(), message, /*force_restart=*/true);
}

void PodRunner::event(kube::EventType type, std::string_view reason, const std::string& message) {
  if (ctx_.events == nullptr) return;
  // Watched list items carry no kind; kubectl describe finds Events by kind/name/uid.
  const json involved = {{"apiVersion", "v1"},
                         {"kind", "Pod"},
                         {"metadata", {{"namespace", ns_}, {"name", name_}, {"uid", uid_}}}};
  Status recorded = ctx_.events->record(involved, type, reason, message);
  if (!recorded.isOk()) {
    log::debug("event not recorded", {{"pod", key_}, {"error", recorded.toString()}});
  }
}

void PodRunner::publishStatus(const json& pod) {
  const std::string sent_phase = last_sent_.is_object() ? last_sent_.value("phase", "") : "";
  if (terminal_ && (sent_phase == "Succeeded" || sent_phase == "Failed")) return;
  if (SteadyClock::now() < next_publish_try_) return;
  PodView current = view();
  // Nothing moved since the last successful write: skip building JSON (runs every tick).
  if (!pod_dirty_ && !shutting_down_ && last_view_ && *last_view_ == current) return;
  json status = buildPodStatus(current, pod, last_sent_, std::chrono::system_clock::now());
  // Stopped by an agent shutdown is not "completed": the phase stays what it was.
  if (shutting_down_ && !sent_phase.empty()) status["phase"] = sent_phase;
  if (status == last_sent_) {
    last_view_ = std::move(current);
    pod_dirty_ = false;
    return;
  }
  Status patched = ctx_.api->patchPodStatus(ns_, name_, uid_, status);
  if (patched.isOk()) {
    if (!last_sent_.is_object() || last_sent_.value("phase", "") != status.value("phase", "")) {
      log::info("pod phase",
                {{"pod", key_}, {"phase", status.value("phase", "")}, {"ip", pod_ip_}});
    }
    last_sent_ = status;
    last_view_ = std::move(current);
    pod_dirty_ = false;
    return;
  }
  // NotFound, or the uid guard refused (a new pod took the name): this pod is gone.
  if (patched.code() == StatusCode::kNotFound ||
      (patched.code() == StatusCode::kInvalidArgument &&
       patched.message().find("metadata.uid") != std::string::npos)) {
    log::info("pod no longer exists", {{"pod", key_}, {"uid", uid_}});
    markGone();
    return;
  }
  log::warn("pod status update failed", {{"pod", key_}, {"error", patched.toString()}});
  next_publish_try_ = SteadyClock::now() + std::chrono::seconds(1);
}

void PodRunner::runPreStop(Container& c, SteadyClock::time_point deadline) {
  const json& pre_stop = field(field(c.spec, "lifecycle"), "preStop");
  if (pre_stop.empty() || c.pid <= 0) return;
  const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
  if (remaining <= milliseconds(0)) return;
  if (pre_stop.contains("sleep")) {
    const auto wanted = std::chrono::seconds(field(pre_stop, "sleep").value("seconds", 0));
    std::this_thread::sleep_for(std::min<milliseconds>(wanted, remaining));
    return;
  }
  ProbeSpec hook;
  hook.timeout = std::chrono::duration_cast<std::chrono::seconds>(remaining);
  if (hook.timeout.count() < 1) hook.timeout = std::chrono::seconds(1);
  if (pre_stop.contains("exec")) {
    hook.action = ProbeSpec::Action::kExec;
    const PathRewriter paths = volumes_.rewriterFor(c.spec);
    std::vector<std::string> words;
    for (const std::string& w : stringList(field(pre_stop, "exec"), "command")) {
      words.push_back(paths.rewrite(w));
    }
    hook.command = retargetExecCommand(words, pod_ip_);
  } else if (pre_stop.contains("httpGet")) {
    json as_probe = {{"livenessProbe", {{"httpGet", pre_stop["httpGet"]}}}};
    as_probe["ports"] = c.spec.value("ports", json::array());
    auto parsed = parseProbe(ProbeKind::kLiveness, as_probe);
    if (!parsed.isOk() || !*parsed) return;
    hook = **parsed;
    hook.timeout = std::chrono::duration_cast<std::chrono::seconds>(remaining);
  } else {
    return;
  }
  std::string detail;
  const bool ok = runProbe(hook, pod_ip_, c.exec, &detail);
  log::info("preStop hook ran",
            {{"pod", key_}, {"container", c.view.name}, {"success", ok}, {"detail", detail}});
}

void PodRunner::stopAll(milliseconds grace, bool run_hooks) {
  const auto deadline = SteadyClock::now() + grace;
  if (run_hooks) {
    for (Container* c : allContainers()) runPreStop(*c, deadline);
  }
  std::vector<pid_t> pids;
  std::vector<Container*> owners;
  for (Container* c : allContainers()) {
    if (c->pid <= 0) continue;
    pids.push_back(c->pid);
    owners.push_back(c);
  }
  if (pids.empty()) return;
  const auto remaining = std::max(
      milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()));
  log::info("stopping containers",
            {{"pod", key_}, {"pids", pids}, {"grace_ms", remaining.count()}});
  for (Container* c : owners) {
    event(kube::EventType::kNormal, "Killing", "Stopping container " + c->view.name);
  }
  const std::vector<ExitInfo> exits = stopProcesses(pids, remaining);
  for (size_t i = 0; i < owners.size(); ++i) {
    Container& c = *owners[i];
    TerminatedState t;
    t.exit_code = exits[i].exit_code;
    t.signal = exits[i].signal;
    t.reason = exits[i].exit_code == 0 ? "Completed" : "Error";
    t.started_at = c.view.started_at;
    t.finished_at = std::chrono::system_clock::now();
    t.container_id = c.view.container_id;
    log::info("container stopped", {{"pod", key_},
                                    {"container", c.view.name},
                                    {"pid", c.pid},
                                    {"exit_code", t.exit_code},
                                    {"signal", t.signal}});
    c.pid = 0;
    c.done = true;
    c.view.ready = false;
    c.view.state = ContainerView::State::kTerminated;
    c.view.terminated = t;
  }
}

void PodRunner::terminateAndDelete(const json& pod) {
  const int64_t grace = gracePeriodSeconds(pod);
  log::info("pod terminating", {{"pod", key_}, {"uid", uid_}, {"grace_seconds", grace}});
  stopAll(std::chrono::seconds(grace), /*run_hooks=*/true);
  // Only now that every process is gone may the object go: the StatefulSet controller
  // creates the replacement (same name, same PVC) as soon as it is deleted.
  for (int attempt = 0; attempt < 10; ++attempt) {
    Status deleted = ctx_.api->deletePod(ns_, name_, uid_);
    if (deleted.isOk() || deleted.code() == StatusCode::kNotFound ||
        deleted.code() == StatusCode::kConflict) {
      log::info("pod deleted", {{"pod", key_}, {"uid", uid_}});
      break;
    }
    log::warn("pod delete failed", {{"pod", key_}, {"error", deleted.toString()}});
    std::this_thread::sleep_for(std::chrono::milliseconds(500 * (attempt + 1)));
  }
  cleanup();
  deleted_ = true;
}

void PodRunner::stopForShutdown(const json& pod) {
  const auto grace = std::min<milliseconds>(std::chrono::seconds(gracePeriodSeconds(pod)),
                                            ctx_.options->shutdown_grace);
  stopAll(grace, /*run_hooks=*/true);
  if (terminal_) return;
  // Tell the API the containers are gone so nothing routes to them while the agent is down;
  // a restarted agent starts them again.
  // Shown as waiting (with the stop as lastState) rather than terminated: `kubectl get`
  // would otherwise print "Completed" for a pod that merely waits for its agent.
  for (Container* c : allContainers()) {
    if (!c->view.terminated || (c->init && c->view.terminated->exit_code == 0)) continue;
    c->view.last_termination = c->view.terminated;
    c->view.last_termination->message = "sk-node-agent stopped";
    c->view.terminated.reset();
    c->view.state = ContainerView::State::kWaiting;
    c->view.waiting_reason = "NodeAgentStopped";
    c->view.waiting_message = "sk-node-agent stopped; the container restarts when it is back";
  }
  shutting_down_ = true;
  next_publish_try_ = {};
  publishStatus(pod);
}

void PodRunner::cleanup() {
  if (!ctx_.options->keep_pod_dirs) volumes_.removeContents();
}

}  // namespace slotkeeper::agent
