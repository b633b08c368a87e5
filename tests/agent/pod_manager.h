// Watches the pods bound to the agent's Nodes (one reflector per Node, field selector
// spec.nodeName=<node>) and keeps exactly one PodRunner per pod uid. Runners are keyed by
// uid, not name: a StatefulSet pod deleted and recreated under the same name is a new pod
// with a new runner, a new IP and a fresh start.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/reflector.h"
#include "pod_runner.h"

namespace slotkeeper::agent {

class PodManager {
 public:
  PodManager(AgentContext& ctx, kube::KubeClient& client, std::vector<std::string> nodes);
  ~PodManager();
  PodManager(const PodManager&) = delete;
  PodManager& operator=(const PodManager&) = delete;

  void start();
  // Stops the watches, then every runner in parallel (each honours its grace period capped
  // by --shutdown-grace), and waits for all of them.
  void shutdown();
  size_t runnerCount() const;

 private:
  void onPod(const nlohmann::json& pod);
  void onPodDeleted(const nlohmann::json& pod);
  void reapFinished(std::stop_token stop);

  AgentContext& ctx_;
  kube::KubeClient& client_;
  std::vector<std::string> nodes_;
  std::vector<std::unique_ptr<kube::Reflector>> reflectors_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<PodRunner>> runners_;  // by uid
  // Uids whose pod this agent saw deleted: late watch events must not revive them.
  std::set<std::string> retired_;
  bool stopping_ = false;
  std::jthread reaper_;
};

}  // namespace slotkeeper::agent
