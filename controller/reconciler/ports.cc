#include "reconciler/ports.h"

#include "common/log.h"
#include "redis/hiredis_client.h"
#include "resources/metadata.h"

namespace slotkeeper::reconciler {

using nlohmann::json;

LiveKubePort::LiveKubePort(kube::KubeClient& client, kube::EventRecorder& events,
                           std::string field_manager)
    : client_(client), events_(events), field_manager_(std::move(field_manager)) {}

Result<std::optional<json>> LiveKubePort::readCluster(const std::string& ns,
                                                      const std::string& name) {
  if (cache_ != nullptr) return cache_->get(kube::kRedisClusters, ns, name);
  // Without caches (tools, tests) the API server answers.
  auto object = client_.get(kube::kRedisClusters.in(ns).named(name));
  if (!object.isOk() && object.status().code() == StatusCode::kNotFound) {
    return std::optional<json>();
  }
  if (!object.isOk()) return object.status();
  return std::optional<json>(std::move(object).value());
}

std::vector<json> LiveKubePort::readOwned(const kube::ResourceRef& collection,
                                          const std::string& ns, const std::string& cluster) {
  const std::map<std::string, std::string> labels = {
      {std::string(resources::kLabelCluster), cluster}};
  if (cache_ != nullptr) return cache_->list(collection, ns, labels);
  kube::ListOptions options;
  options.label_selector = std::string(resources::kLabelCluster) + "=" + cluster;
  auto list = client_.listAll(collection.in(ns), options);
  if (!list.isOk()) return {};
  return list->value("items", json::array()).get<std::vector<json>>();
}

Result<json> LiveKubePort::readSecret(const std::string& ns, const std::string& name) {
  return client_.get(kube::kSecrets.in(ns).named(name));
}

Result<json> LiveKubePort::readNode(const std::string& name) {
  return client_.get(kube::kNodes.named(name));
}

Status LiveKubePort::apply(const kube::ResourceRef& ref, const json& object) {
  return client_.apply(ref, object, field_manager_).status();
}

Status LiveKubePort::remove(const kube::ResourceRef& ref) {
  auto gone = client_.remove(ref);
  if (!gone.isOk() && gone.status().code() != StatusCode::kNotFound) return gone.status();
  return Status::ok();
}

Status LiveKubePort::deletePod(const std::string& ns, const std::string& name,
                               const std::string& uid) {
  kube::DeleteOptions options;
  options.precondition_uid = uid;
  auto gone = client_.remove(kube::kPods.in(ns).named(name), options);
  if (gone.isOk()) return Status::ok();
  const StatusCode code = gone.status().code();
  // A failed uid precondition is a 409: the pod was already replaced by a new one.
  if (code == StatusCode::kNotFound || code == StatusCode::kConflict) return Status::ok();
  return gone.status();
}

Status LiveKubePort::removeClusterAnnotations(const std::string& ns, const std::string& name,
                                              const std::vector<std::string>& keys) {
  json annotations = json::object();
  for (const auto& key : keys) annotations[key] = nullptr;
  return client_
      .patch(kube::kRedisClusters.in(ns).named(name), kube::PatchType::kMerge,
             json{{"metadata", {{"annotations", std::move(annotations)}}}})
      .status();
}

Status LiveKubePort::patchStatus(const std::string& ns, const std::string& name,
                                 const json& status) {
  // A merge patch of the status subresource: no resourceVersion race with spec edits, and
  // `operation: null` removes a finished operation.
  return client_
      .patch(kube::kRedisClusters.in(ns).named(name).sub("status"), kube::PatchType::kMerge,
             json{{"status", status}})
      .status();
}

void LiveKubePort::recordEvent(const json& object, kube::EventType type, std::string_view reason,
                               const std::string& message) {
  Status s = events_.record(object, type, reason, message);
  // Warn: a missing RBAC rule for events would otherwise go unnoticed.
  if (!s.isOk()) {
    log::warn("event not recorded", {{"reason", std::string(reason)}, {"error", s.toString()}});
  }
}

std::unique_ptr<redis::NodeConnector> HiredisPort::connector(const redis::ConnectOptions& options) {
  return std::make_unique<redis::HiredisConnector>(options);
}

}  // namespace slotkeeper::reconciler
