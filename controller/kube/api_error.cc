#include "kube/api_error.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

std::string stringField(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string defaultReason(int http_status) {
  switch (http_status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return http_status == 0 ? "TransportError" : "Unknown";
  }
}

void parseCauses(const json& details, ApiError* error) {
  if (!details.is_object()) return;
  auto retry = details.find("retryAfterSeconds");
  if (retry != details.end() && retry->is_number_integer()) {
    error->retry_after_seconds = retry->get<int64_t>();
  }
  auto causes = details.find("causes");
  if (causes == details.end() || !causes->is_array()) return;
  for (const json& cause : *causes) {
    error->causes.push_back(StatusCause{stringField(cause, "reason"), stringField(cause, "message"),
                                        stringField(cause, "field")});
  }
}

}  // namespace

ApiError parseApiError(int http_status, std::string_view body) {
  ApiError error;
  error.http_status = http_status;
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && stringField(parsed, "kind") == "Status") {
    error.reason = stringField(parsed, "reason");
    error.message = stringField(parsed, "message");
    // A Status body's own code wins (watch ERROR events carry it without an HTTP status).
    auto code = parsed.find("code");
    if (code != parsed.end() && code->is_number_integer() && code->get<int>() != 0) {
      error.http_status = code->get<int>();
    }
    auto details = parsed.find("details");
    if (details != parsed.end()) parseCauses(*details, &error);
  } else {
    error.message = std::string(body.substr(0, 512));
  }
  if (error.reason.empty()) error.reason = defaultReason(error.http_status);
  return error;
}

StatusCode statusCodeForApiError(const ApiError& error) {
  const int code = error.http_status;
  if (code == 0) return StatusCode::kUnavailable;
  if (code == 409) {
    return error.reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kConflict;
  }
  if (code == 404) return StatusCode::kNotFound;
  if (code == 410) return StatusCode::kGone;
  if (code == 400 || code == 422) return StatusCode::kInvalidArgument;
  if (code == 401) return StatusCode::kUnauthenticated;
  if (code == 403) return StatusCode::kPermissionDenied;
  if (code == 504) return StatusCode::kDeadlineExceeded;
  if (code == 408 || code == 429 || code >= 500) return StatusCode::kUnavailable;
  // 405, 406, 415 ...: a request the server will never accept as sent.
  if (code >= 400) return StatusCode::kInvalidArgument;
  return StatusCode::kInternal;
}

Status statusFromApiError(const ApiError& error) {
  std::string message = error.reason;
  if (error.http_status != 0) message += " (HTTP " + std::to_string(error.http_status) + ")";
  if (!error.message.empty()) message += ": " + error.message;
  for (const StatusCause& cause : error.causes) {
    message += "; ";
    if (!cause.field.empty()) message += "field " + cause.field + ": ";
    message += cause.message.empty() ? cause.reason : cause.message;
  }
  return Status(statusCodeForApiError(error), std::move(message));
}

namespace {
thread_local ApiError tls_last_error;
}  // namespace

const ApiError& lastApiError() { return tls_last_error; }
void setLastApiError(ApiError error) { tls_last_error = std::move(error); }
void clearLastApiError() { tls_last_error = ApiError{}; }

}  // namespace slotkeeper::kube
