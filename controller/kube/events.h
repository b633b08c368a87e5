// Records core/v1 Events about objects (what `kubectl describe` shows). Repeats of the same
// event are folded into one Event whose count and lastTimestamp are patched.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"

namespace slotkeeper::kube {

enum class EventType { kNormal, kWarning };
std::string_view eventTypeName(EventType type);

// core/v1 ObjectReference built from an object's apiVersion/kind/metadata.
nlohmann::json objectReferenceFor(const nlohmann::json& object);

// The Event a first occurrence creates (count 1). Pure; `name` is the Event's own name.
nlohmann::json makeEvent(const nlohmann::json& involved_object, EventType type,
                         std::string_view reason, std::string_view message,
                         std::string_view component, std::string_view host, std::string_view name,
                         std::chrono::system_clock::time_point now);

// Identifies "the same event" for de-duplication.
std::string eventDedupKey(const nlohmann::json& involved_object, EventType type,
                          std::string_view reason, std::string_view message);

class EventRecorder {
 public:
  // `component` becomes source.component and reportingController ("slotkeeper").
  EventRecorder(KubeClient& client, std::string component, Clock& clock, std::string host = "",
                size_t max_cached = 4096);

  // Creates the Event, or bumps count/lastTimestamp of the one recorded before for the same
  // (object, type, reason, message). `reason` is a CamelCase constant shared with conditions.
  // Returns the API result; callers usually log and carry on (events are best effort).
  Status record(const nlohmann::json& involved_object, EventType type, std::string_view reason,
                std::string_view message);
  Status normal(const nlohmann::json& object, std::string_view reason, std::string_view msg) {
    return record(object, EventType::kNormal, reason, msg);
  }
  Status warning(const nlohmann::json& object, std::string_view reason, std::string_view msg) {
    return record(object, EventType::kWarning, reason, msg);
  }

 private:
  struct Recorded {
    std::string ns;
    std::string name;
    int64_t count = 0;
  };
  Status createFresh(const nlohmann::json& involved_object, EventType type, std::string_view reason,
                     std::string_view message, const std::string& key);
  void remember(const std::string& key, Recorded recorded);

  KubeClient& client_;
  std::string component_;
  Clock& clock_;
  std::string host_;
  size_t max_cached_;
  std::mutex mu_;
  std::map<std::string, Recorded> recorded_;
  std::list<std::string> order_;  // oldest first, bounds the cache
};

}  // namespace slotkeeper::kube
