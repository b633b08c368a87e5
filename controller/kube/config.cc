#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kube/base64.h"

namespace slotkeeper::kube {
namespace {

std::string trimmed(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  auto begin = std::find_if(text.begin(), text.end(), not_space);
  auto end = std::find_if(text.rbegin(), text.rend(), not_space).base();
  if (begin >= end) return "";
  return std::string(begin, end);
}

std::string envOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string resolvePath(const std::string& path, std::string_view base_dir) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

// Finds the entry called `name` in a kubeconfig list (clusters/users/contexts) and returns
// its `field` map ("cluster", "user", "context").
Result<YAML::Node> findNamed(const YAML::Node& root, const char* list, const std::string& name,
                             const char* field) {
  const YAML::Node entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& entry : entries) {
      if (entry["name"] && entry["name"].as<std::string>() == name) {
        const YAML::Node body = entry[field];
        if (!body || !body.IsMap()) {
          return invalidArgument(std::string("kubeconfig ") + list + " entry \"" + name +
                                 "\" has no " + field + " map");
        }
        return body;
      }
    }
  }
  return invalidArgument(std::string("kubeconfig has no ") + field + " named \"" + name + "\"");
}

std::string scalar(const YAML::Node& map, const char* key) {
  const YAML::Node node = map[key];
  if (!node || !node.IsScalar()) return "";
  return node.as<std::string>();
}

// `<key>-data` (base64 PEM) wins over `<key>` (a path, relative to the kubeconfig).
Result<std::string> pemFrom(const YAML::Node& map, const std::string& key,
                            std::string_view base_dir) {
  const std::string data = scalar(map, (key + "-data").c_str());
  if (!data.empty()) {
    std::string decoded;
    if (!base64Decode(data, &decoded)) {
      return invalidArgument("kubeconfig " + key + "-data is not valid base64");
    }
    return decoded;
  }
  const std::string path = scalar(map, key.c_str());
  if (path.empty()) return std::string();
  auto contents = readFileToString(resolvePath(path, base_dir));
  if (!contents.isOk()) return contents.status().withContext("kubeconfig " + key);
  return contents;
}

bool parseBool(const std::string& text) { return text == "true" || text == "True" || text == "1"; }

Result<KubeConfig> parseKubeConfigUnsafe(std::string_view yaml_text, std::string_view base_dir,
                                         std::string_view context) {
  const YAML::Node root = YAML::Load(std::string(yaml_text));
  if (!root.IsMap()) return invalidArgument("kubeconfig is not a YAML map");

  KubeConfig config;
  config.context_name = context.empty() ? scalar(root, "current-context") : std::string(context);
  if (config.context_name.empty()) {
    return invalidArgument("kubeconfig has no current-context and none was given");
  }
  ASSIGN_OR_RETURN(YAML::Node ctx, findNamed(root, "contexts", config.context_name, "context"));
  const std::string cluster_name = scalar(ctx, "cluster");
  const std::string user_name = scalar(ctx, "user");
  if (!scalar(ctx, "namespace").empty()) config.default_namespace = scalar(ctx, "namespace");

  ASSIGN_OR_RETURN(YAML::Node cluster, findNamed(root, "clusters", cluster_name, "cluster"));
  config.server = scalar(cluster, "server");
  if (config.server.empty()) {
    return invalidArgument("kubeconfig cluster \"" + cluster_name + "\" has no server");
  }
  config.insecure_skip_tls_verify = parseBool(scalar(cluster, "insecure-skip-tls-verify"));
  ASSIGN_OR_RETURN(config.ca_pem, pemFrom(cluster, "certificate-authority", base_dir));

  // A context without a user is legal (anonymous access).
  if (!user_name.empty()) {
    ASSIGN_OR_RETURN(YAML::Node user, findNamed(root, "users", user_name, "user"));
    ASSIGN_OR_RETURN(config.client_cert_pem, pemFrom(user, "client-certificate", base_dir));
    ASSIGN_OR_RETURN(config.client_key_pem, pemFrom(user, "client-key", base_dir));
    config.token = scalar(user, "token");
    const std::string token_file = scalar(user, "tokenFile");
    if (!token_file.empty()) config.token_file = resolvePath(token_file, base_dir);
    config.username = scalar(user, "username");
    config.password = scalar(user, "password");
  }
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return invalidArgument("kubeconfig user \"" + user_name +
                           "\" has a client certificate without a key or vice versa");
  }
  return config;
}

}  // namespace

Result<ServerAddress> parseServerUrl(std::string_view url) {
  ServerAddress out;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalidArgument("server URL has no scheme: \"" + std::string(url) + "\"");
  }
  out.scheme = std::string(url.substr(0, scheme_end));
  if (out.scheme != "https" && out.scheme != "http") {
    return invalidArgument("unsupported server URL scheme \"" + out.scheme + "\"");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    out.path_prefix = std::string(prefix);
  }
  out.port = out.scheme == "https" ? 443 : 80;
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:6443
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalidArgument("bad IPv6 server address");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return invalidArgument("bad server address \"" + std::string(url) + "\"");
    }
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {
    std::string_view digits = authority.substr(1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.port);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || out.port <= 0 ||
        out.port > 65535) {
      return invalidArgument("bad port in server URL \"" + std::string(url) + "\"");
    }
  }
  if (host.empty()) return invalidArgument("server URL has no host: \"" + std::string(url) + "\"");
  out.host = std::string(host);
  return out;
}

Result<KubeConfig> parseKubeConfig(std::string_view yaml_text, std::string_view base_dir,
                                   std::string_view context) {
  // yaml-cpp reports malformed input and type mismatches by throwing; this is the boundary.
  try {
    return parseKubeConfigUnsafe(yaml_text, base_dir, context);
  } catch (const YAML::Exception& e) {
    return invalidArgument(std::string("kubeconfig is not valid YAML: ") + e.what());
  }
}

Result<KubeConfig> loadKubeConfigFile(const std::string& path, std::string_view context) {
  ASSIGN_OR_RETURN(std::string text, readFileToString(path));
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  auto config = parseKubeConfig(text, base_dir, context);
  if (!config.isOk()) return config.status().withContext(path);
  return config;
}

Result<KubeConfig> loadInClusterConfig(std::string_view sa_dir) {
  std::string dir(sa_dir);
  if (dir.empty()) dir = envOrEmpty(std::string(kServiceAccountDirEnv).c_str());
  if (dir.empty()) dir = std::string(kServiceAccountDir);

  const std::string host = envOrEmpty("KUBERNETES_SERVICE_HOST");
  const std::string port = envOrEmpty("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return failedPrecondition("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  KubeConfig config;
  const bool ipv6 = host.find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  config.token_file = dir + "/token";
  // Fail early when the token is unreadable rather than on the first request.
  ASSIGN_OR_RETURN(std::string token, readFileToString(config.token_file));
  config.token = trimmed(std::move(token));
  ASSIGN_OR_RETURN(config.ca_pem, readFileToString(dir + "/ca.crt"));
  auto ns = readFileToString(dir + "/namespace");
  if (ns.isOk() && !trimmed(*ns).empty()) config.default_namespace = trimmed(*ns);
  return config;
}

Result<KubeConfig> loadDefaultConfig(const std::string& explicit_path) {
  if (!explicit_path.empty()) return loadKubeConfigFile(explicit_path);
  std::string env = envOrEmpty("KUBECONFIG");
  if (!env.empty()) return loadKubeConfigFile(env.substr(0, env.find(':')));
  if (!envOrEmpty("KUBERNETES_SERVICE_HOST").empty()) return loadInClusterConfig();
  const std::string home = envOrEmpty("HOME");
  if (home.empty()) return failedPrecondition("no kubeconfig: KUBECONFIG and HOME are unset");
  return loadKubeConfigFile(home + "/.kube/config");
}

Result<std::string> readFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot open " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return unavailable("cannot read " + path);
  return contents.str();
}

TokenSource::TokenSource(std::string static_token, std::string token_file, Clock& clock,
                         std::chrono::seconds refresh_every)
    : static_token_(std::move(static_token)),
      token_file_(std::move(token_file)),
      clock_(clock),
      refresh_every_(refresh_every) {}

std::string TokenSource::token() {
  std::lock_guard lock(mu_);
  if (token_file_.empty()) return static_token_;
  const auto now = clock_.now();
  if (loaded_ && now - loaded_at_ < refresh_every_) return cached_;
  auto contents = readFileToString(token_file_);
  loaded_at_ = now;
  if (contents.isOk() && !trimmed(*contents).empty()) {
    cached_ = trimmed(std::move(*contents));
    loaded_ = true;
    return cached_;
  }
  // Keep the last good token; before any good read, fall back to the static one.
  if (!loaded_) return static_token_;
  return cached_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mu_);
  // Backdating the last load makes the next token() re-read the file.
  loaded_at_ = clock_.now() - refresh_every_;
}

}  // namespace slotkeeper::kube
