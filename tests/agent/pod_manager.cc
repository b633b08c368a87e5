// Pod watch fan-out to per-pod runners.
#include "pod_manager.h"

#include "common/log.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

constexpr size_t kMaxRetired = 10000;

}  // namespace

PodManager::PodManager(AgentContext& ctx, kube::KubeClient& client, std::vector<std::string> nodes)
    : ctx_(ctx), client_(client), nodes_(std::move(nodes)) {}

PodManager::~PodManager() { shutdown(); }

void PodManager::start() {
  for (const std::string& node : nodes_) {
    kube::ReflectorOptions options;
    options.field_selector = "spec.nodeName=" + node;
    options.backoff_max = std::chrono::milliseconds(5000);
    kube::ResourceEventHandlers handlers;
    handlers.on_add = [this](const json& pod) { onPod(pod); };
    handlers.on_update = [this](const json&, const json& pod) { onPod(pod); };
    handlers.on_delete = [this](const json& pod) { onPodDeleted(pod); };
    auto reflector =
        std::make_unique<kube::Reflector>(client_, kube::kPods, options, std::move(handlers));
    reflector->start();
    reflectors_.push_back(std::move(reflector));
  }
  reaper_ = std::jthread([this](std::stop_token stop) { reapFinished(stop); });
}

void PodManager::onPod(const json& pod) {
  const std::string uid = kube::objectUid(pod);
  if (uid.empty()) return;
  std::lock_guard lock(mu_);
  if (stopping_ || retired_.count(uid) > 0) return;
  auto it = runners_.find(uid);
  if (it != runners_.end()) {
    it->second->update(pod);
    return;
  }
  log::info("pod assigned", {{"pod", kube::objectKey(pod)},
                             {"uid", uid},
                             {"node", pod.value("spec", json::object()).value("nodeName", "")}});
  runners_.emplace(uid, std::make_unique<PodRunner>(ctx_, pod));
}

void PodManager::onPodDeleted(const json& pod) {
  const std::string uid = kube::objectUid(pod);
  std::lock_guard lock(mu_);
  auto it = runners_.find(uid);
  if (it != runners_.end()) it->second->markGone();
  if (retired_.size() < kMaxRetired) retired_.insert(uid);
}

void PodManager::reapFinished(std::stop_token stop) {
  std::mutex sleep_mu;
  std::condition_variable_any sleeper;
  while (!stop.stop_requested()) {
    std::vector<std::unique_ptr<PodRunner>> done;
    {
      std::lock_guard lock(mu_);
      for (auto it = runners_.begin(); it != runners_.end();) {
        if (!it->second->finished()) {
          ++it;
          continue;
        }
        if (it->second->deleted() && retired_.size() < kMaxRetired) retired_.insert(it->first);
        done.push_back(std::move(it->second));
        it = runners_.erase(it);
      }
    }
    done.clear();  // joins finished threads outside the lock
    std::unique_lock lock(sleep_mu);
    sleeper.wait_for(lock, stop, std::chrono::milliseconds(500), [] { return false; });
  }
}

void PodManager::shutdown() {
  for (auto& reflector : reflectors_) reflector->stop();
  reaper_ = std::jthread();  // request stop + join
  std::map<std::string, std::unique_ptr<PodRunner>> runners;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    runners.swap(runners_);
  }
  for (auto& [uid, runner] : runners) runner->requestShutdown();  // all at once
  for (auto& [uid, runner] : runners) runner->join();
  if (!runners.empty()) log::info("pod runners stopped", {{"count", runners.size()}});
}

size_t PodManager::runnerCount() const {
  std::lock_guard lock(mu_);
  return runners_.size();
}

}  // namespace slotkeeper::agent
