// Pod volumes as directories. Each volume gets a host directory: emptyDir, configMap, secret,
// downwardAPI and projected volumes live under <pod dir>/volumes/<name>; a
// persistentVolumeClaim maps to its bound PV's hostPath/local directory (so data outlives
// the pod, like a disk); a hostPath volume maps to <state dir>/hostpath/<path> (tests never
// touch the real host). Container mount paths are then rewritten to these directories
// (container_command.h explains the rewriting).
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "container_command.h"
#include "env.h"
#include "pod_api.h"

namespace slotkeeper::agent {

// The well-known service-account mount; its host directory is exported to processes as
// SLOTKEEPER_SA_DIR (and SK_SERVICEACCOUNT_DIR, which kube::loadInClusterConfig reads).
inline constexpr const char* kServiceAccountMountPath =
    "/var/run/secrets/kubernetes.io/serviceaccount";

class PodVolumes {
 public:
  PodVolumes(std::string pod_dir, std::string state_dir);

  // Resolves every volume to a host directory and writes file contents (configMap, secret,
  // downwardAPI, projected incl. a fresh service-account token). Idempotent; on error (a
  // missing ConfigMap, an unbound PVC) nothing is half-used: call again later.
  Status prepare(const nlohmann::json& pod, const PodFacts& facts, PodApi& api);

  // Mount path -> host path for one container (subPath honoured).
  PathRewriter rewriterFor(const nlohmann::json& container) const;
  // Host directory standing in for the service-account mount of `container`, or "".
  std::string serviceAccountDir(const nlohmann::json& container) const;

  // Re-requests projected tokens that passed 80% of their lifetime (as the kubelet does).
  Status refreshTokens(const nlohmann::json& pod, PodApi& api,
                       std::chrono::system_clock::time_point now);

  // Rewrites configMap and secret volumes whose source changed, at most every `period` (the
  // kubelet's periodic sync): a renewed certificate in a Secret reaches the running pod.
  Status refreshSources(const nlohmann::json& pod, PodApi& api,
                        std::chrono::steady_clock::time_point now,
                        std::chrono::seconds period = std::chrono::seconds(10));

  // Removes the pod-local volume directories (never PV directories).
  void removeContents();

 private:
  struct ProjectedToken {
    std::string file;
    std::string audience;
    int64_t expiration_seconds = 3600;
    int mode = 0644;
    std::chrono::system_clock::time_point refresh_at;
  };

  Result<std::string> hostDirFor(const nlohmann::json& volume, const std::string& ns, PodApi& api);
  Status fill(const nlohmann::json& volume, const nlohmann::json& pod, const PodFacts& facts,
              const PathRewriter& paths, PodApi& api, const std::string& dir);
  Status fillProjected(const nlohmann::json& projected, const nlohmann::json& pod,
                       const PodFacts& facts, const PathRewriter& paths, PodApi& api,
                       const std::string& dir);
  Status writeToken(const nlohmann::json& pod, PodApi& api, ProjectedToken* token);

  std::string pod_dir_;
  std::string state_dir_;
  std::map<std::string, std::string> host_dirs_;  // volume name -> host directory
  std::vector<ProjectedToken> tokens_;
  std::chrono::steady_clock::time_point next_source_refresh_{};
};

// Writes `content` to `path` via a temp file + rename, so readers never see half a file.
Status writeFileAtomically(const std::string& path, const std::string& content, int mode);

}  // namespace slotkeeper::agent
