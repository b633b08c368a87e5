// One watch request: streams newline-delimited watch events for a resource collection until
// the server closes the stream, the handler says stop, or another thread calls stop().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "kube/client.h"
#include "kube/resource.h"

namespace slotkeeper::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view watchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kError;
  // The object (for ERROR: a metav1.Status; for BOOKMARK: only metadata.resourceVersion).
  nlohmann::json object;
};

// Parses one line of a watch stream: {"type":"ADDED","object":{...}}.
Result<WatchEvent> parseWatchEvent(std::string_view line);

// The Status an ERROR event stands for (410 → kGone, ...), via api_error.h.
Status statusFromErrorEvent(const WatchEvent& event);

// Reassembles lines from arbitrary chunk boundaries (HTTP chunks do not align with events).
class LineSplitter {
 public:
  // Calls on_line for every complete non-empty line in data; keeps the partial tail. Stops
  // early and returns false when on_line returns false.
  bool feed(std::string_view data, const std::function<bool(std::string_view)>& on_line);
  size_t pendingBytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

struct WatchOptions {
  std::string resource_version;  // where to start; "" = "now" (server picks)
  std::string label_selector;
  std::string field_selector;
  // The server ends the watch after this long (the client's read timeout is set a bit
  // longer, so a silent dead connection is noticed too).
  std::chrono::seconds timeout{300};
  bool allow_bookmarks = true;
};

class Watch {
 public:
  Watch(KubeClient& client, ResourceRef collection, WatchOptions options);

  // Blocks. Returns OK when the server closed the stream normally or the handler returned
  // false; kGone when the resourceVersion is too old (HTTP 410 or an ERROR event with code
  // 410); kAborted after stop(); other API/transport errors as mapped by api_error.h.
  Status run(const std::function<bool(const WatchEvent&)>& handler);

  // Thread-safe; closes the connection so run() returns promptly.
  void stop();

  // The resourceVersion of the last event seen (including bookmarks); starts at
  // options.resource_version. Where a reconnecting caller resumes from.
  std::string lastResourceVersion() const;
  uint64_t eventsReceived() const { return events_received_.load(); }

 private:
  KubeClient& client_;
  ResourceRef collection_;
  WatchOptions options_;
  StreamCanceller canceller_;
  mutable std::mutex mu_;
  std::string last_resource_version_;
  std::atomic<uint64_t> events_received_{0};
};

}  // namespace slotkeeper::kube
