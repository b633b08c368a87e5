// KubeClient-backed PodApi.
#include "pod_api.h"

#include "kube/api_error.h"
#include "kube/timefmt.h"

namespace slotkeeper::agent {

using nlohmann::json;

Result<json> KubePodApi::getConfigMap(const std::string& ns, const std::string& name) {
  return client_.get(kube::kConfigMaps.in(ns).named(name));
}

Result<json> KubePodApi::getSecret(const std::string& ns, const std::string& name) {
  return client_.get(kube::kSecrets.in(ns).named(name));
}

Result<json> KubePodApi::getPersistentVolumeClaim(const std::string& ns, const std::string& name) {
  return client_.get(kube::kPersistentVolumeClaims.in(ns).named(name));
}

Result<json> KubePodApi::getPersistentVolume(const std::string& name) {
  return client_.get(kube::kPersistentVolumes.named(name));
}

Result<TokenGrant> KubePodApi::requestToken(const std::string& ns,
                                            const std::string& service_account,
                                            const std::string& audience, int64_t expiration_seconds,
                                            const std::string& pod_name,
                                            const std::string& pod_uid) {
  json spec = {{"expirationSeconds", expiration_seconds},
               {"boundObjectRef",
                {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", pod_name}, {"uid", pod_uid}}}};
  if (!audience.empty()) spec["audiences"] = json::array({audience});
  const json body = {
      {"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}};
  // KubeClient::create() posts to the collection (it drops name and subresource), so the
  // serviceaccounts/<name>/token subresource goes through the raw request.
  const std::string path = kube::kServiceAccounts.in(ns).named(service_account).sub("token").path();
  ASSIGN_OR_RETURN(kube::HttpResponse response, client_.request("POST", path, body.dump()));
  if (response.status < 200 || response.status >= 300) {
    return kube::statusFromResponse(response.status, response.body)
        .withContext("token request for " + ns + "/" + service_account);
  }
  json parsed = json::parse(response.body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("status") ||
      !parsed["status"].value("token", "").size()) {
    return internalError("token request reply has no status.token");
  }
  TokenGrant grant;
  grant.token = parsed["status"]["token"].get<std::string>();
  auto expires = kube::parseTime(parsed["status"].value("expirationTimestamp", ""));
  grant.expires_at =
      expires.isOk() ? *expires
                     : std::chrono::system_clock::now() + std::chrono::seconds(expiration_seconds);
  return grant;
}

Status KubePodApi::patchPodStatus(const std::string& ns, const std::string& name,
                                  const std::string& uid, const json& status) {
  const json patch = {{"metadata", {{"uid", uid}}}, {"status", status}};
  return client_.patch(kube::kPods.in(ns).named(name).sub("status"), kube::PatchType::kMerge, patch)
      .status();
}

Status KubePodApi::deletePod(const std::string& ns, const std::string& name,
                             const std::string& uid) {
  kube::DeleteOptions options;
  options.grace_period_seconds = 0;
  options.precondition_uid = uid;
  return client_.remove(kube::kPods.in(ns).named(name), options).status();
}

}  // namespace slotkeeper::agent
