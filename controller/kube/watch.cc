#include "kube/watch.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

// Extra read timeout beyond the server-side timeoutSeconds: the server closes first in the
// healthy case; this only catches a connection that died silently.
constexpr std::chrono::seconds kReadTimeoutSlack{30};

bool eventTypeFromName(std::string_view name, WatchEventType* out) {
  if (name == "ADDED")
    *out = WatchEventType::kAdded;
  else if (name == "MODIFIED")
    *out = WatchEventType::kModified;
  else if (name == "DELETED")
    *out = WatchEventType::kDeleted;
  else if (name == "BOOKMARK")
    *out = WatchEventType::kBookmark;
  else if (name == "ERROR")
    *out = WatchEventType::kError;
  else
    return false;
  return true;
}

}  // namespace

std::string_view watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> parseWatchEvent(std::string_view line) {
  json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return internalError("watch event is not a JSON object: " + std::string(line.substr(0, 200)));
  }
  auto type = parsed.find("type");
  if (type == parsed.end() || !type->is_string()) {
    return internalError("watch event has no type");
  }
  WatchEvent event;
  if (!eventTypeFromName(type->get<std::string>(), &event.type)) {
    return internalError("unknown watch event type \"" + type->get<std::string>() + "\"");
  }
  auto object = parsed.find("object");
  if (object == parsed.end() || !object->is_object()) {
    return internalError("watch event has no object");
  }
  event.object = std::move(*object);
  return event;
}

Status statusFromErrorEvent(const WatchEvent& event) {
  // The HTTP status of the stream was 200; the Status object's own code tells what failed.
  ApiError error = parseApiError(0, event.object.dump());
  if (error.http_status == 0) error.http_status = 500;
  return statusFromApiError(error);
}

bool LineSplitter::feed(std::string_view data,
                        const std::function<bool(std::string_view)>& on_line) {
  pending_.append(data);
  size_t start = 0;
  while (true) {
    const size_t newline = pending_.find('\n', start);
    if (newline == std::string::npos) break;
    std::string_view line(pending_.data() + start, newline - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = newline + 1;
    if (line.empty()) continue;
    if (!on_line(line)) {
      pending_.erase(0, start);
      return false;
    }
  }
  pending_.erase(0, start);
  return true;
}

Watch::Watch(KubeClient& client, ResourceRef collection, WatchOptions options)
    : client_(client),
      collection_(std::move(collection)),
      options_(std::move(options)),
      last_resource_version_(options_.resource_version) {}

void Watch::stop() { canceller_.cancel(); }

std::string Watch::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return last_resource_version_;
}

Status Watch::run(const std::function<bool(const WatchEvent&)>& handler) {
  ListOptions query;
  query.resource_version = lastResourceVersion();
  query.label_selector = options_.label_selector;
  query.field_selector = options_.field_selector;
  query.timeout_seconds = options_.timeout.count();
  query.allow_watch_bookmarks = options_.allow_bookmarks;
  const std::string path = collection_.collection().path() + listQuery(query, /*watch=*/true);

  LineSplitter splitter;
  Status outcome = Status::ok();  // set by the line handler to end the stream early
  const auto on_line = [&](std::string_view line) {
    auto event = parseWatchEvent(line);
    if (!event.isOk()) {
      outcome = event.status();
      return false;
    }
    events_received_.fetch_add(1);
    if (event->type == WatchEventType::kError) {
      outcome = statusFromErrorEvent(*event);
      return false;
    }
    const std::string rv = objectResourceVersion(event->object);
    if (!rv.empty()) {
      std::lock_guard lock(mu_);
      last_resource_version_ = rv;
    }
    return handler(*event);
  };
  std::string error_body;
  auto http_status = client_.stream(
      path, [&](std::string_view chunk) { return splitter.feed(chunk, on_line); },
      options_.timeout + kReadTimeoutSlack, &canceller_, &error_body);
  if (!http_status.isOk()) return http_status.status();
  if (*http_status < 200 || *http_status >= 300) {
    return statusFromResponse(*http_status, error_body).withContext("watch " + path);
  }
  return outcome;
}

}  // namespace slotkeeper::kube
