// RFC 3339 timestamps as the Kubernetes API writes them: metav1.Time ("...Z", seconds) and
// metav1.MicroTime ("....000000Z", microseconds), both UTC.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace slotkeeper::kube {

std::string formatTime(std::chrono::system_clock::time_point t);       // 2024-01-02T03:04:05Z
std::string formatMicroTime(std::chrono::system_clock::time_point t);  // ...05.123456Z
// Accepts both forms, any fraction length, and numeric offsets (+01:00).
Result<std::chrono::system_clock::time_point> parseTime(std::string_view text);

}  // namespace slotkeeper::kube
