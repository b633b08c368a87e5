// Maps API server failures (HTTP code + metav1.Status body, or a transport error) onto
// slotkeeper's Status codes, keeping the HTTP code, reason and field causes inspectable.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace slotkeeper::kube {

// One entry of Status.details.causes (422 validation errors name the offending field).
struct StatusCause {
  std::string reason;   // "FieldValueInvalid", "FieldValueRequired", ...
  std::string message;  // "Invalid value: -1: spec.masters in body should be >= 3"
  std::string field;    // "spec.masters"
};

// The server's view of a failed request.
struct ApiError {
  int http_status = 0;  // 0 for transport failures (no response)
  std::string reason;   // metav1.StatusReason: "Conflict", "AlreadyExists", "NotFound", ...
  std::string message;
  std::vector<StatusCause> causes;
  int64_t retry_after_seconds = 0;  // details.retryAfterSeconds, when given
};

// Parses a metav1.Status body (tolerates non-JSON bodies: the text becomes the message).
ApiError parseApiError(int http_status, std::string_view body);

// The slotkeeper code for an API error. 409 is kAlreadyExists when reason is AlreadyExists,
// else kConflict; 404 kNotFound; 410 kGone; 400/422 kInvalidArgument; 401 kUnauthenticated;
// 403 kPermissionDenied; 408/429/5xx kUnavailable (504 kDeadlineExceeded).
StatusCode statusCodeForApiError(const ApiError& error);

// "Conflict (HTTP 409): <message>" plus "; field spec.x: <cause>" for every cause.
Status statusFromApiError(const ApiError& error);
inline Status statusFromResponse(int http_status, std::string_view body) {
  return statusFromApiError(parseApiError(http_status, body));
}

// The ApiError of the most recent failed KubeClient call made on the calling thread
// (http_status 0 and empty fields after a success). Lets a caller that needs more than the
// Status code (retry-after, causes) look at the details without widening every signature.
const ApiError& lastApiError();
void setLastApiError(ApiError error);
void clearLastApiError();

}  // namespace slotkeeper::kube
