// Addressing of Kubernetes API resources: which group/version/plural, namespace, name and
// subresource a request is about, and the URL path and query string that follow from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slotkeeper::kube {

// One resource collection or object. Core resources have an empty group and live under
// /api/v1; everything else (apps, policy, coordination.k8s.io, CRDs) under /apis/<g>/<v>.
// Copy and adjust with the fluent helpers: `kPods.in("ns").named("p").sub("status")`.
struct ResourceRef {
  std::string group;        // "" for core
  std::string version;      // "v1"
  std::string plural;       // "pods"
  std::string ns;           // namespace; empty for cluster-scoped or all-namespaces lists
  std::string name;         // empty for collection requests (list, create, watch)
  std::string subresource;  // "status", "scale", ... or empty

  ResourceRef in(std::string namespace_name) const;
  ResourceRef named(std::string object_name) const;
  ResourceRef sub(std::string subresource_name) const;
  // The collection this object belongs to (drops name and subresource).
  ResourceRef collection() const;
  // "v1" or "apps/v1", as written in an object's apiVersion.
  std::string apiVersion() const;

  // "/api/v1/namespaces/ns/pods/name/status" (without the server's path prefix).
  std::string path() const;

  friend bool operator==(const ResourceRef&, const ResourceRef&) = default;
};

// A collection reference (namespace and name left empty).
inline ResourceRef resourceOf(std::string group, std::string version, std::string plural) {
  ResourceRef ref;
  ref.group = std::move(group);
  ref.version = std::move(version);
  ref.plural = std::move(plural);
  return ref;
}

// Well-known resources; namespace and name left empty.
inline const ResourceRef kPods = resourceOf("", "v1", "pods");
inline const ResourceRef kServices = resourceOf("", "v1", "services");
inline const ResourceRef kEndpoints = resourceOf("", "v1", "endpoints");
inline const ResourceRef kConfigMaps = resourceOf("", "v1", "configmaps");
inline const ResourceRef kSecrets = resourceOf("", "v1", "secrets");
inline const ResourceRef kNamespaces = resourceOf("", "v1", "namespaces");
inline const ResourceRef kNodes = resourceOf("", "v1", "nodes");
inline const ResourceRef kEvents = resourceOf("", "v1", "events");
inline const ResourceRef kServiceAccounts = resourceOf("", "v1", "serviceaccounts");
inline const ResourceRef kPersistentVolumeClaims = resourceOf("", "v1", "persistentvolumeclaims");
inline const ResourceRef kPersistentVolumes = resourceOf("", "v1", "persistentvolumes");
inline const ResourceRef kStatefulSets = resourceOf("apps", "v1", "statefulsets");
inline const ResourceRef kDeployments = resourceOf("apps", "v1", "deployments");
inline const ResourceRef kReplicaSets = resourceOf("apps", "v1", "replicasets");
inline const ResourceRef kPodDisruptionBudgets = resourceOf("policy", "v1", "poddisruptionbudgets");
inline const ResourceRef kLeases = resourceOf("coordination.k8s.io", "v1", "leases");
inline const ResourceRef kCustomResourceDefinitions =
    resourceOf("apiextensions.k8s.io", "v1", "customresourcedefinitions");
inline const ResourceRef kStorageClasses = resourceOf("storage.k8s.io", "v1", "storageclasses");
inline const ResourceRef kRedisClusters =
    resourceOf("redis.slotkeeper.io", "v1alpha1", "redisclusters");

// Query parameters for list and watch.
struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;        // "" = most recent (quorum read), "0" = any cached
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
  int64_t limit = 0;                   // 0 = no paging
  std::string continue_token;
  // Watch only.
  int64_t timeout_seconds = 0;  // 0 = server default
  bool allow_watch_bookmarks = false;
};

// Query and body parameters for delete.
struct DeleteOptions {
  std::string propagation_policy;  // "", "Orphan", "Background", "Foreground"
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;               // delete only if the object still has this uid
  std::string precondition_resource_version;  // ... and/or this resourceVersion
  bool dry_run = false;
};

// Query parameters for create, update and patch.
struct WriteOptions {
  std::string field_manager;  // required for server-side apply
  bool force = false;         // server-side apply: take ownership of conflicting fields
  bool dry_run = false;
};

// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
std::string urlEncode(std::string_view value);
// "?labelSelector=...&limit=..." (empty when no option is set); `watch` adds watch=1.
std::string listQuery(const ListOptions& options, bool watch);
std::string writeQuery(const WriteOptions& options);

}  // namespace slotkeeper::kube
