// What a controller manager and its reconcilers share: the reconcile entry point with the
// context of one pass (shutdown, the write fence), and read access to the informer caches.
// Both sides depend on this header only, never on each other.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "kube/resource.h"

namespace slotkeeper::kube {

// The context of one reconcile pass. Thread-safe to read from any thread of the pass.
struct ReconcileContext {
  // Set when the process shuts down or loses leadership: stop at the next safe point.
  const std::atomic<bool>* stopping = nullptr;
  // The write fence: true while this process may still write for at least `margin` (it holds
  // the Lease with that much time left). Empty means no leader election: always true.
  std::function<bool(std::chrono::milliseconds margin)> holds_lease_for;

  bool stopRequested() const { return stopping != nullptr && stopping->load(); }
  bool mayWriteFor(std::chrono::milliseconds margin) const {
    return !holds_lease_for || holds_lease_for(margin);
  }
};

// One reconcile pass for "namespace/name". Returns when to look again (0 = only on a change),
// or an error whose code decides the retry (common/status.h, retryClassFor).
// Implementations must be safe to call from several workers at once for different keys.
class KeyReconciler {
 public:
  virtual ~KeyReconciler() = default;
  virtual Result<std::chrono::milliseconds> reconcile(const std::string& key,
                                                      const ReconcileContext& context) = 0;
};

// Read-only access to the objects the informers hold, so a pass reads Kubernetes from memory.
// Thread-safe.
class ObjectCache {
 public:
  virtual ~ObjectCache() = default;
  // The cached object, or nullopt when the cache does not hold it (or is not running).
  virtual std::optional<nlohmann::json> get(const ResourceRef& collection, const std::string& ns,
                                            const std::string& name) const = 0;
  // Cached objects of `collection` in `ns` whose labels contain every pair of `labels`.
  virtual std::vector<nlohmann::json> list(
      const ResourceRef& collection, const std::string& ns,
      const std::map<std::string, std::string>& labels) const = 0;
};

}  // namespace slotkeeper::kube
