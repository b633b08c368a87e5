#include "kube/events.h"

#include <atomic>
#include <cstdio>

#include "kube/timefmt.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

// The API server rejects longer Event messages; cut rather than lose the event.
constexpr size_t kMaxMessageBytes = 1024;

std::string stringAt(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string eventNameFor(const json& involved_object, std::chrono::system_clock::time_point now) {
  // Distinct even for events recorded in the same nanosecond (or with a frozen test clock).
  static std::atomic<uint64_t> sequence{0};
  const auto nanos = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  char suffix[40];
  std::snprintf(suffix, sizeof(suffix), ".%llx", nanos + sequence.fetch_add(1));
  std::string name = objectName(involved_object);
  if (name.empty()) name = "unnamed";
  return name + suffix;
}

std::string eventNamespaceFor(const json& involved_object) {
  const std::string ns = objectNamespace(involved_object);
  // Events about cluster-scoped objects (Nodes, CRDs) go to "default", as kubectl expects.
  return ns.empty() ? "default" : ns;
}

}  // namespace

std::string_view eventTypeName(EventType type) {
  return type == EventType::kWarning ? "Warning" : "Normal";
}

json objectReferenceFor(const json& object) {
  json ref = json::object();
  const auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) ref[key] = value;
  };
  put("apiVersion", stringAt(object, "apiVersion"));
  put("kind", stringAt(object, "kind"));
  put("namespace", objectNamespace(object));
  put("name", objectName(object));
  put("uid", objectUid(object));
  put("resourceVersion", objectResourceVersion(object));
  return ref;
}

json makeEvent(const json& involved_object, EventType type, std::string_view reason,
               std::string_view message, std::string_view component, std::string_view host,
               std::string_view name, std::chrono::system_clock::time_point now) {
  std::string text(message.substr(0, kMaxMessageBytes));
  const std::string stamp = formatTime(now);
  json source = {{"component", std::string(component)}};
  if (!host.empty()) source["host"] = std::string(host);
  return json{{"apiVersion", "v1"},
              {"kind", "Event"},
              {"metadata",
               {{"name", std::string(name)}, {"namespace", eventNamespaceFor(involved_object)}}},
              {"involvedObject", objectReferenceFor(involved_object)},
              {"reason", std::string(reason)},
              {"message", std::move(text)},
              {"type", std::string(eventTypeName(type))},
              {"source", std::move(source)},
              {"reportingComponent", std::string(component)},
              {"reportingInstance", std::string(host)},
              {"count", 1},
              {"firstTimestamp", stamp},
              {"lastTimestamp", stamp}};
}

std::string eventDedupKey(const json& involved_object, EventType type, std::string_view reason,
                          std::string_view message) {
  // The uid separates a deleted-and-recreated object from its predecessor.
  return stringAt(involved_object, "kind") + "\x1f" + objectNamespace(involved_object) + "\x1f" +
         objectName(involved_object) + "\x1f" + objectUid(involved_object) + "\x1f" +
         std::string(eventTypeName(type)) + "\x1f" + std::string(reason) + "\x1f" +
         std::string(message.substr(0, kMaxMessageBytes));
}

EventRecorder::EventRecorder(KubeClient& client, std::string component, Clock& clock,
                             std::string host, size_t max_cached)
    : client_(client),
      component_(std::move(component)),
      clock_(clock),
      host_(std::move(host)),
      max_cached_(max_cached == 0 ? 1 : max_cached) {}

Status EventRecorder::record(const json& involved_object, EventType type, std::string_view reason,
                             std::string_view message) {
  const std::string key = eventDedupKey(involved_object, type, reason, message);
  // Serialised: two concurrent repeats must not both create a fresh Event.
  std::lock_guard lock(mu_);
  auto it = recorded_.find(key);
  if (it == recorded_.end()) return createFresh(involved_object, type, reason, message, key);

  Recorded& seen = it->second;
  const json patch = {{"count", seen.count + 1}, {"lastTimestamp", formatTime(clock_.wallNow())}};
  auto patched = client_.patch(kEvents.in(seen.ns).named(seen.name), PatchType::kMerge, patch);
  if (patched.isOk()) {
    seen.count += 1;
    return Status::ok();
  }
  // The Event expired (TTL, default 1h) or was deleted: start a new one.
  if (patched.status().code() == StatusCode::kNotFound) {
    recorded_.erase(it);
    order_.remove(key);
    return createFresh(involved_object, type, reason, message, key);
  }
  return patched.status();
}

Status EventRecorder::createFresh(const json& involved_object, EventType type,
                                  std::string_view reason, std::string_view message,
                                  const std::string& key) {
  const auto now = clock_.wallNow();
  json event = makeEvent(involved_object, type, reason, message, component_, host_,
                         eventNameFor(involved_object, now), now);
  const std::string ns = eventNamespaceFor(involved_object);
  auto created = client_.create(kEvents.in(ns), event);
  if (!created.isOk()) return created.status();
  remember(key, Recorded{ns, objectName(*created), 1});
  return Status::ok();
}

void EventRecorder::remember(const std::string& key, Recorded recorded) {
  recorded_[key] = std::move(recorded);
  order_.push_back(key);
  while (recorded_.size() > max_cached_ && !order_.empty()) {
    recorded_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace slotkeeper::kube
