#include "kube/reflector.h"

#include "common/log.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

// A watch that ends this quickly without delivering anything is treated as a failure, so a
// server that keeps closing at once cannot make the loop spin.
constexpr std::chrono::seconds kMinHealthyWatch{1};

}  // namespace

Reflector::Reflector(KubeClient& client, ResourceRef collection, ReflectorOptions options,
                     ResourceEventHandlers handlers)
    : client_(client),
      collection_(collection.collection()),
      options_(std::move(options)),
      handlers_(std::move(handlers)) {}

Reflector::~Reflector() { stop(); }

void Reflector::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Reflector::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();  // the stop_callback in run() closes the live watch
  thread_.join();
}

bool Reflector::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_.load(); });
}

std::string Reflector::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

void Reflector::setResourceVersion(std::string rv) {
  std::lock_guard lock(mu_);
  resource_version_ = std::move(rv);
}

void Reflector::interruptibleWait(std::stop_token stop, std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, stop, d, [] { return false; });
}

void Reflector::run(std::stop_token stop) {
  std::stop_callback close_watch(stop, [this] {
    std::lock_guard lock(mu_);
    if (current_watch_ != nullptr) current_watch_->stop();
    cv_.notify_all();
  });
  std::chrono::milliseconds backoff = options_.backoff_base;
  const auto backOff = [&](const Status& error, const char* what) {
    log::warn(what, {{"resource", collection_.path()},
                     {"error", error.toString()},
                     {"retry_in_ms", backoff.count()}});
    interruptibleWait(stop, backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  };
  bool need_list = true;
  while (!stop.stop_requested()) {
    if (need_list) {
      Status listed = listAndReplace();
      if (!listed.isOk()) {
        backOff(listed, "reflector list failed");
        continue;
      }
      need_list = false;
      backoff = options_.backoff_base;
    }
    const auto started = std::chrono::steady_clock::now();
    const uint64_t events_before = event_count_.load();
    Status watched = watchOnce(stop);
    if (stop.stop_requested()) break;
    if (watched.code() == StatusCode::kGone) {
      // Our resourceVersion was compacted away: only a fresh list can give a consistent view.
      gone_count_.fetch_add(1);
      log::info("reflector watch expired, relisting",
                {{"resource", collection_.path()}, {"error", watched.message()}});
      need_list = true;
      continue;
    }
    if (!watched.isOk()) {
      backOff(watched, "reflector watch failed");
      continue;
    }
    const bool too_short = std::chrono::steady_clock::now() - started < kMinHealthyWatch;
    if (too_short && events_before == event_count_.load()) {
      backOff(internalError("watch closed immediately"), "reflector watch ended early");
      continue;
    }
    backoff = options_.backoff_base;
  }
}

Status Reflector::listAndReplace() {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.limit = options_.page_size;
  auto listed = client_.listAll(collection_, options);
  if (!listed.isOk()) return listed.status();
  list_count_.fetch_add(1);

  std::map<std::string, json> fresh;
  if (listed->contains("items") && (*listed)["items"].is_array()) {
    for (json& item : (*listed)["items"]) {
      if (options_.transform) options_.transform(item);
      std::string key = objectKey(item);
      fresh.emplace(std::move(key), std::move(item));
    }
  }
  const std::string list_rv = objectResourceVersion(*listed);
  std::map<std::string, json> previous = store_.replaceAll(fresh);
  setResourceVersion(list_rv);

  // Tell handlers what changed while we were not watching.
  for (const auto& [key, object] : fresh) {
    auto old = previous.find(key);
    if (old == previous.end()) {
      if (handlers_.on_add) handlers_.on_add(object);
    } else if (objectResourceVersion(old->second) != objectResourceVersion(object)) {
      if (handlers_.on_update) handlers_.on_update(old->second, object);
    }
  }
  for (const auto& [key, object] : previous) {
    if (fresh.count(key) == 0 && handlers_.on_delete) handlers_.on_delete(object);
  }

  // Only now: a caller woken by waitForSync may rely on every listed object having gone
  // through on_add (a controller's queue already holds its key).
  {
    std::lock_guard lock(mu_);
    synced_.store(true);
  }
  cv_.notify_all();
  return Status::ok();
}

Status Reflector::watchOnce(std::stop_token stop) {
  WatchOptions options;
  options.resource_version = lastResourceVersion();
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.timeout = options_.watch_timeout;
  options.allow_bookmarks = true;
  Watch watch(client_, collection_, options);
  {
    std::lock_guard lock(mu_);
    // Checked under the lock the stop callback takes, so a stop cannot slip in between.
    if (stop.stop_requested()) return aborted("reflector stopped");
    current_watch_ = &watch;
  }
  watch_count_.fetch_add(1);
  Status result = watch.run([this](const WatchEvent& event) {
    applyEvent(event);
    return true;
  });
  {
    std::lock_guard lock(mu_);
    current_watch_ = nullptr;
  }
  return result;
}

void Reflector::applyEvent(const WatchEvent& event) {
  event_count_.fetch_add(1);
  const std::string rv = objectResourceVersion(event.object);
  switch (event.type) {
    case WatchEventType::kAdded:
    case WatchEventType::kModified: {
      json object = event.object;
      if (options_.transform) options_.transform(object);
      std::optional<json> old = store_.upsert(object);
      if (!old) {
        if (handlers_.on_add) handlers_.on_add(object);
      } else if (handlers_.on_update) {
        handlers_.on_update(*old, object);
      }
      break;
    }
    case WatchEventType::kDeleted: {
      store_.remove(objectKey(event.object));
      if (handlers_.on_delete) handlers_.on_delete(event.object);
      break;
    }
    case WatchEventType::kBookmark:
    case WatchEventType::kError:
      break;
  }
  if (!rv.empty()) setResourceVersion(rv);
}

void dropManagedFields(json& object) {
  auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
}

}  // namespace slotkeeper::kube
