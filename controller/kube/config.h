// Where the Kubernetes API server is and how to authenticate to it: loaded from a kubeconfig
// file or from the in-cluster service-account files, plus a token source that re-reads
// rotating (projected) token files.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace slotkeeper::kube {

// Everything the client needs to reach one API server. PEM fields hold file contents, not
// paths: loaders resolve *-data (base64) and file references up front so the client never
// touches the kubeconfig again.
struct KubeConfig {
  std::string server;  // "https://127.0.0.1:6443", optionally with a path prefix
  std::string ca_pem;  // empty: use the system trust store
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;       // static bearer token (kubeconfig `token`), may be empty
  std::string token_file;  // when set, the bearer token is (re-)read from this file
  std::string username;    // basic auth, rarely used; kept for completeness
  std::string password;
  std::string default_namespace = "default";
  std::string context_name;  // which kubeconfig context this came from (empty in-cluster)
};

// The pieces of `server`, for building an HTTP client.
struct ServerAddress {
  std::string scheme;  // "https" or "http"
  std::string host;
  int port = 0;
  std::string path_prefix;  // "" or "/prefix" without trailing slash
};
Result<ServerAddress> parseServerUrl(std::string_view url);

// Parses kubeconfig YAML. `base_dir` resolves relative file references (the directory of the
// kubeconfig file). `context` empty means the file's current-context.
Result<KubeConfig> parseKubeConfig(std::string_view yaml_text, std::string_view base_dir,
                                   std::string_view context = "");
Result<KubeConfig> loadKubeConfigFile(const std::string& path, std::string_view context = "");

// The default service-account mount, and the env var that overrides it (a node agent runs
// each pod with its own token directory).
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";
inline constexpr std::string_view kServiceAccountDirEnv = "SK_SERVICEACCOUNT_DIR";

// In-cluster config: KUBERNETES_SERVICE_HOST/PORT plus {token,ca.crt,namespace} under
// `sa_dir` (empty: $SK_SERVICEACCOUNT_DIR, else kServiceAccountDir). The token is referenced
// by file so that rotation is picked up.
Result<KubeConfig> loadInClusterConfig(std::string_view sa_dir = "");

// client-go's order: explicit path, else $KUBECONFIG (first entry), else in-cluster when
// KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
Result<KubeConfig> loadDefaultConfig(const std::string& explicit_path = "");

// Supplies the bearer token, re-reading `token_file` when the cached copy is older than
// `refresh_every` (projected service-account tokens rotate roughly hourly). Thread-safe.
class TokenSource {
 public:
  TokenSource(std::string static_token, std::string token_file, Clock& clock,
              std::chrono::seconds refresh_every = std::chrono::seconds(60));

  // The current token; on a failed re-read the last good token is kept (a rotating writer
  // replaces the file atomically, but a missing file must not log every request out).
  std::string token();
  // Forces a re-read on the next token() call, e.g. after a 401.
  void invalidate();

 private:
  std::string static_token_;
  std::string token_file_;
  Clock& clock_;
  std::chrono::seconds refresh_every_;
  std::mutex mu_;
  std::string cached_;
  bool loaded_ = false;
  Clock::TimePoint loaded_at_{};
};

// Reads a whole file; kNotFound when it cannot be opened.
Result<std::string> readFileToString(const std::string& path);

}  // namespace slotkeeper::kube
