// A thread-safe in-memory cache of objects keyed by "namespace/name", filled by a Reflector
// and read by controllers (so reconcile reads do not hit the API server).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace slotkeeper::kube {

class Store {
 public:
  std::optional<nlohmann::json> get(const std::string& key) const;
  std::optional<nlohmann::json> get(const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> list() const;
  std::vector<nlohmann::json> listNamespace(const std::string& ns) const;
  // Objects whose metadata.labels contain every pair in `labels`.
  std::vector<nlohmann::json> listByLabels(const std::map<std::string, std::string>& labels) const;
  // The same within one namespace; only that namespace's objects are looked at.
  std::vector<nlohmann::json> listNamespaceByLabels(
      const std::string& ns, const std::map<std::string, std::string>& labels) const;
  std::vector<std::string> keys() const;
  size_t size() const;

  // Writers (used by the Reflector). Return the previous object, if any.
  std::optional<nlohmann::json> upsert(const nlohmann::json& object);
  std::optional<nlohmann::json> remove(const std::string& key);
  // Replaces everything; returns the previous contents so the caller can diff.
  std::map<std::string, nlohmann::json> replaceAll(std::map<std::string, nlohmann::json> objects);

 private:
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> objects_;
};

}  // namespace slotkeeper::kube
