#include "kube/store.h"

#include "kube/client.h"

namespace slotkeeper::kube {

using nlohmann::json;

std::optional<json> Store::get(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

std::optional<json> Store::get(const std::string& ns, const std::string& name) const {
  return get(ns.empty() ? name : ns + "/" + name);
}

std::vector<json> Store::list() const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<json> Store::listNamespace(const std::string& ns) const {
  return listNamespaceByLabels(ns, {});
}

namespace {

// Runs for every cached object on every list, so it compares in place: no copies of the labels.
bool labelsMatch(const json& object, const std::map<std::string, std::string>& wanted) {
  if (wanted.empty()) return true;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return false;
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) return false;
  for (const auto& [key, value] : wanted) {
    auto it = labels->find(key);
    if (it == labels->end() || !it->is_string()) return false;
    if (it->get_ref<const std::string&>() != value) return false;
  }
  return true;
}

}  // namespace

std::vector<json> Store::listByLabels(const std::map<std::string, std::string>& labels) const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  for (const auto& [key, object] : objects_) {
    if (labelsMatch(object, labels)) out.push_back(object);
  }
  return out;
}

std::vector<json> Store::listNamespaceByLabels(
    const std::string& ns, const std::map<std::string, std::string>& labels) const {
  const std::string prefix = ns + "/";
  std::lock_guard lock(mu_);
  std::vector<json> out;
  // Keys sort by namespace first, so one namespace is a contiguous range.
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (labelsMatch(it->second, labels)) out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> Store::keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

size_t Store::size() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

std::optional<json> Store::upsert(const json& object) {
  const std::string key = objectKey(object);
  std::lock_guard lock(mu_);
  auto [it, inserted] = objects_.try_emplace(key, object);
  if (inserted) return std::nullopt;
  json previous = std::move(it->second);
  it->second = object;
  return previous;
}

std::optional<json> Store::remove(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  json previous = std::move(it->second);
  objects_.erase(it);
  return previous;
}

std::map<std::string, json> Store::replaceAll(std::map<std::string, json> objects) {
  std::lock_guard lock(mu_);
  std::swap(objects_, objects);
  return objects;
}

}  // namespace slotkeeper::kube
