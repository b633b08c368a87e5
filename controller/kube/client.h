// KubeClient: a thread-safe Kubernetes REST client over cpp-httplib. Objects are plain
// nlohmann::json; every call returns a Status/Result whose code follows api_error.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "kube/api_error.h"
#include "kube/config.h"
#include "kube/resource.h"

namespace slotkeeper::kube {

enum class PatchType {
  kJson,            // application/json-patch+json (RFC 6902 array of operations)
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in types only)
  kApply,           // application/apply-patch+yaml: server-side apply (JSON is valid YAML)
};
std::string_view contentTypeFor(PatchType type);

// A raw HTTP exchange, for callers that need something the typed methods do not cover.
struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
};

// Lets another thread abort a streaming request (a watch) by closing its connection.
// Thread-safe; cancel() before the stream starts makes the stream return at once.
class StreamCanceller {
 public:
  void cancel();
  bool cancelled() const;
  // Used by KubeClient: registers the action that closes the live connection (nullptr to
  // clear). If already cancelled, runs it immediately.
  void setCloser(std::function<void()> closer);

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> closer_;
};

class KubeClient {
 public:
  struct Options {
    std::chrono::seconds connect_timeout{5};
    std::chrono::seconds read_timeout{30};  // per request; watches use their own timeout
    std::string user_agent = "slotkeeper";
    std::chrono::seconds token_refresh{60};
    Clock* clock = nullptr;  // nullptr: a process-wide RealClock
    // Told of every request the API server answered (its HTTP status) or that got no answer
    // (status 0); a watch counts once, as "WATCH", when its stream opens. Called from the
    // requesting thread: must be thread-safe and quick.
    std::function<void(std::string_view verb, int status)> on_request;
  };

  // Validates the config (server URL, PEM parse) and builds the client. No request is made.
  // Sets SIGPIPE to SIG_IGN if it is still SIG_DFL: closing TLS sockets must not kill the
  // process (writes then fail with EPIPE instead).
  static Result<std::unique_ptr<KubeClient>> create(KubeConfig config);
  static Result<std::unique_ptr<KubeClient>> create(KubeConfig config, Options options);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  const KubeConfig& config() const { return config_; }
  const std::string& defaultNamespace() const { return config_.default_namespace; }

  // --- typed verbs; `ref` carries group/version/plural/namespace/name/subresource ---
  Result<nlohmann::json> get(const ResourceRef& ref);
  // One page (a *List object with metadata.resourceVersion and metadata.continue).
  Result<nlohmann::json> list(const ResourceRef& ref, const ListOptions& options = {});
  // Follows `continue` until done and returns one List holding every item; the list's
  // resourceVersion is that of the first page (a consistent snapshot). A 410 on a continue
  // token (expired snapshot) is returned as kGone for the caller to restart.
  Result<nlohmann::json> listAll(const ResourceRef& ref, ListOptions options = {});
  Result<nlohmann::json> create(const ResourceRef& ref, const nlohmann::json& object,
                                const WriteOptions& options = {});
  // PUT. The name comes from ref.name or else object.metadata.name; a stale
  // metadata.resourceVersion yields kConflict.
  Result<nlohmann::json> update(const ResourceRef& ref, const nlohmann::json& object,
                                const WriteOptions& options = {});
  // PUT to the status subresource.
  Result<nlohmann::json> updateStatus(const ResourceRef& ref, const nlohmann::json& object,
                                      const WriteOptions& options = {});
  Result<nlohmann::json> patch(const ResourceRef& ref, PatchType type, const nlohmann::json& patch,
                               const WriteOptions& options = {});
  // Server-side apply of a full intent object (apiVersion/kind/metadata.name required).
  Result<nlohmann::json> apply(const ResourceRef& ref, const nlohmann::json& object,
                               std::string field_manager, bool force = true);
  // DELETE; returns the server's reply (the object being deleted, or a Status).
  Result<nlohmann::json> remove(const ResourceRef& ref, const DeleteOptions& options = {});

  // Scale subresource (autoscaling/v1 Scale).
  Result<nlohmann::json> getScale(const ResourceRef& ref);
  Result<nlohmann::json> setScale(const ResourceRef& ref, int32_t replicas);

  // --- raw access ---
  // `path_and_query` excludes the server's path prefix ("/api/v1/pods?limit=1"). Non-2xx
  // responses are returned as values (status != 2xx), only transport errors as Status.
  Result<HttpResponse> request(std::string_view method, const std::string& path_and_query,
                               const std::string& body = "",
                               std::string_view content_type = "application/json");

  // Streaming GET (watch): calls on_data for every received chunk until the server ends the
  // response, on_data returns false, the read times out, or `canceller` fires. Each stream
  // gets its own connection so cancelling it never disturbs other requests.
  // Returns the HTTP status (200 on a normal end; the error body in *error_body otherwise).
  // A cancelled stream returns kAborted.
  Result<int> stream(const std::string& path_and_query,
                     const std::function<bool(std::string_view)>& on_data,
                     std::chrono::seconds read_timeout, StreamCanceller* canceller,
                     std::string* error_body);

 private:
  struct Impl;
  KubeClient(KubeConfig config, Options options, std::unique_ptr<Impl> impl);
  Result<nlohmann::json> callJson(std::string_view method, const std::string& path_and_query,
                                  const std::string& body, std::string_view content_type);

  KubeConfig config_;
  Options options_;
  std::unique_ptr<Impl> impl_;
};

// metadata.namespace/name helpers that never throw (empty string when absent).
std::string objectNamespace(const nlohmann::json& object);
std::string objectName(const nlohmann::json& object);
std::string objectResourceVersion(const nlohmann::json& object);
std::string objectUid(const nlohmann::json& object);
// "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string objectKey(const nlohmann::json& object);
// Splits a key back; namespace empty for cluster-scoped keys.
void splitObjectKey(std::string_view key, std::string* ns, std::string* name);

}  // namespace slotkeeper::kube
