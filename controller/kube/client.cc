#include "kube/client.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>

#include <vector>

#include "kube/base64.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdleConnections = 8;

RealClock& processClock() {
  static RealClock clock;
  return clock;
}

bool isSuccess(int http_status) { return http_status >= 200 && http_status < 300; }

// RAII owners for OpenSSL objects.
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

Result<std::vector<X509Ptr>> parseCertificates(const std::string& pem, const char* what) {
  std::vector<X509Ptr> certs;
  BioPtr bio = memoryBio(pem);
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the loop ends on an expected "no start line" error
  if (certs.empty()) return invalidArgument(std::string(what) + " holds no PEM certificate");
  return certs;
}

Result<KeyPtr> parsePrivateKey(const std::string& pem) {
  BioPtr bio = memoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (key == nullptr) return invalidArgument("client key is not a PEM private key");
  return KeyPtr(key);
}

std::string metadataString(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  auto value = metadata->find(key);
  if (value == metadata->end() || !value->is_string()) return "";
  return value->get<std::string>();
}

// TLS writes go through write(2), which raises SIGPIPE when the peer (or our own stop() of a
// watch) has closed the socket; the default action would kill the whole process. A handler
// the host program installed itself is left alone.
void ignoreSigpipeUnlessHandled() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) != 0) return;
    if (current.sa_handler != SIG_DFL) return;
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
  });
}

std::string transportErrorMessage(httplib::Error error, const std::string& what) {
  return what + ": " + httplib::to_string(error);
}

}  // namespace

std::string_view contentTypeFor(PatchType type) {
  switch (type) {
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/json";
}

void StreamCanceller::cancel() {
  std::function<void()> closer;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    closer = closer_;
  }
  if (closer) closer();
}

bool StreamCanceller::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void StreamCanceller::setCloser(std::function<void()> closer) {
  bool run_now = false;
  {
    std::lock_guard lock(mu_);
    closer_ = closer;
    run_now = cancelled_ && closer_ != nullptr;
  }
  if (run_now) closer();
}

// Connection state: parsed credentials and a pool of idle keep-alive connections. httplib
// clients are not safe for concurrent requests, so each request borrows one exclusively.
struct KubeClient::Impl {
  ServerAddress address;
  X509Ptr client_cert;
  KeyPtr client_key;
  std::unique_ptr<TokenSource> tokens;
  std::mutex pool_mu;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle;

  std::unique_ptr<httplib::ClientImpl> newConnection(const KubeConfig& config,
                                                     const Options& options,
                                                     std::chrono::seconds read_timeout) {
    std::unique_ptr<httplib::ClientImpl> http;
    if (address.scheme == "https") {
      auto tls = std::make_unique<httplib::SSLClient>(address.host, address.port, client_cert.get(),
                                                      client_key.get());
      if (config.insecure_skip_tls_verify) {
        tls->enable_server_certificate_verification(false);
      } else {
        tls->enable_server_certificate_verification(true);
        if (!config.ca_pem.empty()) tls->set_ca_cert_store(buildCaStore(config.ca_pem));
      }
      http = std::move(tls);
    } else {
      http = std::make_unique<httplib::ClientImpl>(address.host, address.port);
    }
    http->set_connection_timeout(options.connect_timeout);
    http->set_read_timeout(read_timeout);
    http->set_write_timeout(options.connect_timeout + std::chrono::seconds(10));
    http->set_keep_alive(true);
    // Paths and queries are percent-encoded by resource.cc already.
    http->set_url_encode(false);
    return http;
  }

  // A fresh store per connection: SSL_CTX_set_cert_store takes ownership.
  static X509_STORE* buildCaStore(const std::string& ca_pem) {
    X509_STORE* store = X509_STORE_new();
    auto certs = parseCertificates(ca_pem, "CA bundle");
    if (!certs.isOk()) return store;  // validated in create(); an empty store fails closed
    for (const X509Ptr& cert : *certs) X509_STORE_add_cert(store, cert.get());
    return store;
  }

  std::unique_ptr<httplib::ClientImpl> borrow(const KubeConfig& config, const Options& options) {
    {
      std::lock_guard lock(pool_mu);
      if (!idle.empty()) {
        auto http = std::move(idle.back());
        idle.pop_back();
        return http;
      }
    }
    return newConnection(config, options, options.read_timeout);
  }

  void giveBack(std::unique_ptr<httplib::ClientImpl> http) {
    std::lock_guard lock(pool_mu);
    if (idle.size() < kMaxIdleConnections) idle.push_back(std::move(http));
  }
};

Result<std::unique_ptr<KubeClient>> KubeClient::create(KubeConfig config) {
  return create(std::move(config), Options{});
}

Result<std::unique_ptr<KubeClient>> KubeClient::create(KubeConfig config, Options options) {
  ignoreSigpipeUnlessHandled();
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(impl->address, parseServerUrl(config.server));
  if (!config.ca_pem.empty()) {
    RETURN_IF_ERROR(parseCertificates(config.ca_pem, "certificate-authority").status());
  }
  if (!config.client_cert_pem.empty()) {
    ASSIGN_OR_RETURN(auto certs, parseCertificates(config.client_cert_pem, "client certificate"));
    impl->client_cert = std::move(certs.front());
    ASSIGN_OR_RETURN(impl->client_key, parsePrivateKey(config.client_key_pem));
  }
  if (options.clock == nullptr) options.clock = &processClock();
  impl->tokens = std::make_unique<TokenSource>(config.token, config.token_file, *options.clock,
                                               options.token_refresh);
  return std::unique_ptr<KubeClient>(
      new KubeClient(std::move(config), std::move(options), std::move(impl)));
}

KubeClient::KubeClient(KubeConfig config, Options options, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), options_(std::move(options)), impl_(std::move(impl)) {}

KubeClient::~KubeClient() = default;

namespace {

httplib::Headers requestHeaders(const KubeConfig& config, const KubeClient::Options& options,
                                const std::string& token) {
  httplib::Headers headers{{"Accept", "application/json"}, {"User-Agent", options.user_agent}};
  if (!token.empty()) {
    headers.emplace("Authorization", "Bearer " + token);
  } else if (!config.username.empty()) {
    headers.emplace("Authorization",
                    "Basic " + base64Encode(config.username + ":" + config.password));
  }
  return headers;
}

}  // namespace

Result<HttpResponse> KubeClient::request(std::string_view method, const std::string& path_and_query,
                                         const std::string& body, std::string_view content_type) {
  // One retry after a 401 when the token comes from a file: it may just have rotated.
  for (int attempt = 0;; ++attempt) {
    httplib::Request req;
    req.method = std::string(method);
    req.path = impl_->address.path_prefix + path_and_query;
    req.headers = requestHeaders(config_, options_, impl_->tokens->token());
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body = body;
      req.headers.emplace("Content-Type", std::string(content_type));
    }
    auto http = impl_->borrow(config_, options_);
    httplib::Result result = http->send(req);
    if (options_.on_request) options_.on_request(method, result ? result->status : 0);
    if (!result) {
      // A broken connection is not returned to the pool.
      return unavailable(transportErrorMessage(
          result.error(), std::string(method) + " " + impl_->address.host + ":" +
                              std::to_string(impl_->address.port) + path_and_query));
    }
    HttpResponse response{result->status, result->body, result->get_header_value("Content-Type")};
    impl_->giveBack(std::move(http));
    if (response.status == 401 && attempt == 0 && !config_.token_file.empty()) {
      impl_->tokens->invalidate();
      continue;
    }
    return response;
  }
}

Result<json> KubeClient::callJson(std::string_view method, const std::string& path_and_query,
                                  const std::string& body, std::string_view content_type) {
  auto response = request(method, path_and_query, body, content_type);
  if (!response.isOk()) {
    setLastApiError(ApiError{0, "TransportError", response.status().message(), {}, 0});
    return response.status();
  }
  if (!isSuccess(response->status)) {
    ApiError error = parseApiError(response->status, response->body);
    Status status = statusFromApiError(error);
    setLastApiError(std::move(error));
    return status.withContext(std::string(method) + " " + path_and_query);
  }
  clearLastApiError();
  json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return internalError("API server sent a non-JSON " + std::to_string(response->status) +
                         " reply to " + std::string(method) + " " + path_and_query);
  }
  return parsed;
}

Result<json> KubeClient::get(const ResourceRef& ref) {
  return callJson("GET", ref.path(), "", "application/json");
}

Result<json> KubeClient::list(const ResourceRef& ref, const ListOptions& options) {
  return callJson("GET", ref.collection().path() + listQuery(options, false), "",
                  "application/json");
}

Result<json> KubeClient::listAll(const ResourceRef& ref, ListOptions options) {
  ASSIGN_OR_RETURN(json merged, list(ref, options));
  if (!merged.is_object()) return internalError("list reply is not a JSON object");
  if (!merged.contains("items") || !merged["items"].is_array()) merged["items"] = json::array();
  // Later pages come from the same snapshot, named by the continue token alone.
  options.resource_version.clear();
  options.resource_version_match.clear();
  std::string token = metadataString(merged, "continue");
  while (!token.empty()) {
    options.continue_token = token;
    ASSIGN_OR_RETURN(json page, list(ref, options));
    if (page.is_object() && page.contains("items") && page["items"].is_array()) {
      for (json& item : page["items"]) merged["items"].push_back(std::move(item));
    }
    token = metadataString(page, "continue");
  }
  if (merged.contains("metadata") && merged["metadata"].is_object()) {
    merged["metadata"].erase("continue");
    merged["metadata"].erase("remainingItemCount");
  }
  return merged;
}

Result<json> KubeClient::create(const ResourceRef& ref, const json& object,
                                const WriteOptions& options) {
  return callJson("POST", ref.collection().path() + writeQuery(options), object.dump(),
                  "application/json");
}

Result<json> KubeClient::update(const ResourceRef& ref, const json& object,
                                const WriteOptions& options) {
  ResourceRef target = ref;
  if (target.name.empty()) target.name = objectName(object);
  if (target.ns.empty()) target.ns = objectNamespace(object);
  if (target.name.empty()) return invalidArgument("update needs a name (ref or metadata.name)");
  return callJson("PUT", target.path() + writeQuery(options), object.dump(), "application/json");
}

Result<json> KubeClient::updateStatus(const ResourceRef& ref, const json& object,
                                      const WriteOptions& options) {
  return update(ref.sub("status"), object, options);
}

Result<json> KubeClient::patch(const ResourceRef& ref, PatchType type, const json& patch,
                               const WriteOptions& options) {
  if (ref.name.empty()) return invalidArgument("patch needs ref.name");
  if (type == PatchType::kApply && options.field_manager.empty()) {
    return invalidArgument("server-side apply needs a field manager");
  }
  return callJson("PATCH", ref.path() + writeQuery(options), patch.dump(), contentTypeFor(type));
}

Result<json> KubeClient::apply(const ResourceRef& ref, const json& object,
                               std::string field_manager, bool force) {
  ResourceRef target = ref;
  if (target.name.empty()) target.name = objectName(object);
  if (target.ns.empty()) target.ns = objectNamespace(object);
  WriteOptions options;
  options.field_manager = std::move(field_manager);
  options.force = force;
  return patch(target, PatchType::kApply, object, options);
}

Result<json> KubeClient::remove(const ResourceRef& ref, const DeleteOptions& options) {
  if (ref.name.empty()) return invalidArgument("delete needs ref.name");
  json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (options.dry_run) body["dryRun"] = json::array({"All"});
  return callJson("DELETE", ref.path(), body.dump(), "application/json");
}

Result<json> KubeClient::getScale(const ResourceRef& ref) { return get(ref.sub("scale")); }

Result<json> KubeClient::setScale(const ResourceRef& ref, int32_t replicas) {
  return patch(ref.sub("scale"), PatchType::kMerge, json{{"spec", {{"replicas", replicas}}}});
}

Result<int> KubeClient::stream(const std::string& path_and_query,
                               const std::function<bool(std::string_view)>& on_data,
                               std::chrono::seconds read_timeout, StreamCanceller* canceller,
                               std::string* error_body) {
  // A dedicated connection: stop() on it must not cut a pooled request in half.
  std::shared_ptr<httplib::ClientImpl> http = impl_->newConnection(config_, options_, read_timeout);
  http->set_keep_alive(false);
  if (canceller != nullptr) {
    canceller->setCloser([http] { http->stop(); });
    if (canceller->cancelled()) {
      canceller->setCloser(nullptr);
      return aborted("watch cancelled");
    }
  }
  int http_status = 0;
  httplib::Request req;
  req.method = "GET";
  req.path = impl_->address.path_prefix + path_and_query;
  req.headers = requestHeaders(config_, options_, impl_->tokens->token());
  req.response_handler = [&](const httplib::Response& response) {
    http_status = response.status;
    if (options_.on_request) options_.on_request("WATCH", http_status);
    // Checked here too: a cancel that raced with connect found no socket to close.
    return canceller == nullptr || !canceller->cancelled();
  };
  req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    if (!isSuccess(http_status)) {
      if (error_body != nullptr && error_body->size() < 64 * 1024) error_body->append(data, length);
      return true;
    }
    return on_data(std::string_view(data, length));
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool ok = http->send(req, response, error);
  if (canceller != nullptr) canceller->setCloser(nullptr);
  if (http_status == 0 && options_.on_request) options_.on_request("WATCH", 0);
  if (canceller != nullptr && canceller->cancelled()) return aborted("watch cancelled");
  if (ok) return http_status != 0 ? http_status : response.status;
  // The receiver returning false (the caller is done) surfaces as Canceled.
  if (error == httplib::Error::Canceled && isSuccess(http_status)) return http_status;
  if (error == httplib::Error::Read && isSuccess(http_status)) {
    return unavailable("watch stream broke: " + httplib::to_string(error));
  }
  return unavailable(transportErrorMessage(error, "GET " + path_and_query));
}

std::string objectNamespace(const json& object) { return metadataString(object, "namespace"); }
std::string objectName(const json& object) { return metadataString(object, "name"); }
std::string objectResourceVersion(const json& object) {
  return metadataString(object, "resourceVersion");
}
std::string objectUid(const json& object) { return metadataString(object, "uid"); }

std::string objectKey(const json& object) {
  const std::string ns = objectNamespace(object);
  return ns.empty() ? objectName(object) : ns + "/" + objectName(object);
}

void splitObjectKey(std::string_view key, std::string* ns, std::string* name) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) {
    ns->clear();
    *name = std::string(key);
    return;
  }
  *ns = std::string(key.substr(0, slash));
  *name = std::string(key.substr(slash + 1));
}

}  // namespace slotkeeper::kube
