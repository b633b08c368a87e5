// The API calls a pod runner makes, behind an interface so env/volume resolution can be
// unit tested with a fake, and one implementation over kube::KubeClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "kube/client.h"

namespace slotkeeper::agent {

struct TokenGrant {
  std::string token;
  std::chrono::system_clock::time_point expires_at;
};

class PodApi {
 public:
  virtual ~PodApi() = default;
  virtual Result<nlohmann::json> getConfigMap(const std::string& ns, const std::string& name) = 0;
  virtual Result<nlohmann::json> getSecret(const std::string& ns, const std::string& name) = 0;
  virtual Result<nlohmann::json> getPersistentVolumeClaim(const std::string& ns,
                                                          const std::string& name) = 0;
  virtual Result<nlohmann::json> getPersistentVolume(const std::string& name) = 0;
  // TokenRequest for the pod's service account, bound to the pod (invalid once it is gone).
  // Empty audience = the API server's own.
  virtual Result<TokenGrant> requestToken(const std::string& ns, const std::string& service_account,
                                          const std::string& audience, int64_t expiration_seconds,
                                          const std::string& pod_name,
                                          const std::string& pod_uid) = 0;
  // Merge-patches status, guarded by the uid (a recreated pod with the same name is never
  // written by a stale runner: the server refuses the patch).
  virtual Status patchPodStatus(const std::string& ns, const std::string& name,
                                const std::string& uid, const nlohmann::json& status) = 0;
  // Final delete after the processes are gone: gracePeriodSeconds=0 with a uid precondition.
  virtual Status deletePod(const std::string& ns, const std::string& name,
                           const std::string& uid) = 0;
};

class KubePodApi final : public PodApi {
 public:
  explicit KubePodApi(kube::KubeClient& client) : client_(client) {}
  Result<nlohmann::json> getConfigMap(const std::string& ns, const std::string& name) override;
  Result<nlohmann::json> getSecret(const std::string& ns, const std::string& name) override;
  Result<nlohmann::json> getPersistentVolumeClaim(const std::string& ns,
                                                  const std::string& name) override;
  Result<nlohmann::json> getPersistentVolume(const std::string& name) override;
  Result<TokenGrant> requestToken(const std::string& ns, const std::string& service_account,
                                  const std::string& audience, int64_t expiration_seconds,
                                  const std::string& pod_name, const std::string& pod_uid) override;
  Status patchPodStatus(const std::string& ns, const std::string& name, const std::string& uid,
                        const nlohmann::json& status) override;
  Status deletePod(const std::string& ns, const std::string& name, const std::string& uid) override;

 private:
  kube::KubeClient& client_;
};

}  // namespace slotkeeper::agent
