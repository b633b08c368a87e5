// The reconciler's side-effect boundaries: what it reads from and writes to Kubernetes, and how
// it reaches Redis. Narrow on purpose, so a pass can be driven by fakes in unit tests.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/resource.h"
#include "redis/node_client.h"

namespace slotkeeper::reconciler {

// Kubernetes as one pass sees it. Implementations must be safe to call from several workers.
class KubePort {
 public:
  virtual ~KubePort() = default;
  // The RedisCluster from the informer cache (nullopt: it does not exist).
  virtual Result<std::optional<nlohmann::json>> readCluster(const std::string& ns,
                                                            const std::string& name) = 0;
  // Cached StatefulSets or Pods labelled as the cluster's.
  virtual std::vector<nlohmann::json> readOwned(const kube::ResourceRef& collection,
                                                const std::string& ns,
                                                const std::string& cluster) = 0;
  // A Secret, read from the API server (Secrets are not cached: the operator may only get).
  virtual Result<nlohmann::json> readSecret(const std::string& ns, const std::string& name) = 0;
  // A Node, from the API server (for its zone label).
  virtual Result<nlohmann::json> readNode(const std::string& name) = 0;

  virtual Status apply(const kube::ResourceRef& ref, const nlohmann::json& object) = 0;
  // NotFound counts as done.
  virtual Status remove(const kube::ResourceRef& ref) = 0;
  // Deletes a pod if it still has `uid`; NotFound and another uid (already replaced) are done.
  virtual Status deletePod(const std::string& ns, const std::string& name,
                           const std::string& uid) = 0;
  // Removes annotations from the RedisCluster (a merge patch of its metadata).
  virtual Status removeClusterAnnotations(const std::string& ns, const std::string& name,
                                          const std::vector<std::string>& keys) = 0;
  // A merge patch of the status subresource with `status`.
  virtual Status patchStatus(const std::string& ns, const std::string& name,
                             const nlohmann::json& status) = 0;
  // Best effort: a failure is logged, never fails the pass.
  virtual void recordEvent(const nlohmann::json& object, kube::EventType type,
                           std::string_view reason, const std::string& message) = 0;
};

// Opens Redis connections with the options of one cluster (password, timeouts, client name).
class RedisPort {
 public:
  virtual ~RedisPort() = default;
  virtual std::unique_ptr<redis::NodeConnector> connector(const redis::ConnectOptions& options) = 0;
};

// The real ports: the API server for writes and Secrets, the manager's informer caches for
// reads, hiredis for Redis. Thread-safe (the client, recorder and cache are).
class LiveKubePort final : public KubePort {
 public:
  LiveKubePort(kube::KubeClient& client, kube::EventRecorder& events, std::string field_manager);
  // The caches to read from; set once the manager exists, before any pass runs.
  void setCache(const kube::ObjectCache* cache) { cache_ = cache; }

  Result<std::optional<nlohmann::json>> readCluster(const std::string& ns,
                                                    const std::string& name) override;
  std::vector<nlohmann::json> readOwned(const kube::ResourceRef& collection, const std::string& ns,
                                        const std::string& cluster) override;
  Result<nlohmann::json> readSecret(const std::string& ns, const std::string& name) override;
  Result<nlohmann::json> readNode(const std::string& name) override;
  Status apply(const kube::ResourceRef& ref, const nlohmann::json& object) override;
  Status remove(const kube::ResourceRef& ref) override;
  Status deletePod(const std::string& ns, const std::string& name, const std::string& uid) override;
  Status removeClusterAnnotations(const std::string& ns, const std::string& name,
                                  const std::vector<std::string>& keys) override;
  Status patchStatus(const std::string& ns, const std::string& name,
                     const nlohmann::json& status) override;
  void recordEvent(const nlohmann::json& object, kube::EventType type, std::string_view reason,
                   const std::string& message) override;

 private:
  kube::KubeClient& client_;
  kube::EventRecorder& events_;
  std::string field_manager_;
  const kube::ObjectCache* cache_ = nullptr;
};

class HiredisPort final : public RedisPort {
 public:
  std::unique_ptr<redis::NodeConnector> connector(const redis::ConnectOptions& options) override;
};

}  // namespace slotkeeper::reconciler
