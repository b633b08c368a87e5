// Reflector: keeps a Store in step with the API server by list + watch, resuming from the
// last resourceVersion (bookmarks included), relisting on 410 Gone, and calling handlers so a
// controller can enqueue keys.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"
#include "kube/resource.h"
#include "kube/store.h"
#include "kube/watch.h"

namespace slotkeeper::kube {

// Called from the reflector's thread; keep them short (enqueue a key).
struct ResourceEventHandlers {
  std::function<void(const nlohmann::json& object)> on_add;
  std::function<void(const nlohmann::json& old_object, const nlohmann::json& new_object)> on_update;
  // For deletions noticed only at relist, `object` is the last state the store had.
  std::function<void(const nlohmann::json& object)> on_delete;
};

struct ReflectorOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  std::chrono::seconds watch_timeout{300};  // server-side timeoutSeconds per watch
  // Backoff between failed list/watch attempts (doubles up to max; reset after success).
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_max{30000};
  // Applied to every listed or watched object before it is stored and handed to the handlers:
  // fields no reader needs are dropped here once instead of being kept and copied on every read.
  std::function<void(nlohmann::json& object)> transform;
};

// A transform for caches whose readers never look at metadata.managedFields, the server-side
// apply bookkeeping that often outweighs the rest of a Pod or StatefulSet.
void dropManagedFields(nlohmann::json& object);

class Reflector {
 public:
  Reflector(KubeClient& client, ResourceRef collection, ReflectorOptions options = {},
            ResourceEventHandlers handlers = {});
  ~Reflector();  // stops and joins
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  Store& store() { return store_; }
  const Store& store() const { return store_; }

  // Runs the list+watch loop on a background thread.
  void start();
  // Stops the loop (closing the live watch) and joins. Idempotent.
  void stop();
  // The loop itself, for callers that own the thread. Returns when `stop` is requested.
  void run(std::stop_token stop);

  // True once the first successful list has been stored and the handlers have been called for
  // all of it (on_add for every listed object), so a caller that saw it true finds every
  // listed object both in the store and in whatever the handlers feed.
  bool hasSynced() const { return synced_.load(); }
  // Blocks until hasSynced() or `timeout`; returns hasSynced().
  bool waitForSync(std::chrono::milliseconds timeout) const;

  std::string lastResourceVersion() const;
  // Counters, mostly for tests and metrics.
  uint64_t listCount() const { return list_count_.load(); }
  uint64_t watchCount() const { return watch_count_.load(); }
  uint64_t goneCount() const { return gone_count_.load(); }    // watches that ended in 410
  uint64_t eventCount() const { return event_count_.load(); }  // watch events applied

 private:
  Status listAndReplace();
  Status watchOnce(std::stop_token stop);
  void applyEvent(const WatchEvent& event);
  void setResourceVersion(std::string rv);
  // Sleeps up to `d`, waking early when stop is requested.
  void interruptibleWait(std::stop_token stop, std::chrono::milliseconds d);

  KubeClient& client_;
  ResourceRef collection_;
  ReflectorOptions options_;
  ResourceEventHandlers handlers_;
  Store store_;

  mutable std::mutex mu_;
  mutable std::condition_variable_any cv_;
  std::string resource_version_;
  Watch* current_watch_ = nullptr;  // guarded by mu_, for stop()
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> list_count_{0};
  std::atomic<uint64_t> watch_count_{0};
  std::atomic<uint64_t> gone_count_{0};
  std::atomic<uint64_t> event_count_{0};
  std::jthread thread_;
};

}  // namespace slotkeeper::kube
