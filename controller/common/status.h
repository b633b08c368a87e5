// Errors as values: Status carries a code whose meaning decides the retry policy,
// Result<T> carries either a value or a non-OK Status.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace slotkeeper {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // bad input: surface to the user, never retry as-is
  kNotFound,            // the object or node does not exist
  kAlreadyExists,       // create of something that is there
  kConflict,            // optimistic-concurrency clash: re-read and retry now
  kFailedPrecondition,  // the world is not in a state where this can proceed: wait
  kUnavailable,         // transient I/O failure: retry with backoff
  kDeadlineExceeded,    // timed out: retry with backoff
  kGone,                // a watch's resourceVersion expired: relist
  kPermissionDenied,
  kUnauthenticated,
  kAborted,   // stopped on purpose (shutdown, cancelled)
  kInternal,  // a bug or a malformed reply
};

std::string_view statusCodeName(StatusCode code);

// How a caller should react to a failed operation: not at all (done, or stopped on purpose),
// at once after re-reading (a conflict, an expired watch), after a growing backoff (transient
// trouble), or only once something it depends on changes (retrying the same request would fail
// the same way). docs/architecture.md describes where each class is used.
enum class RetryClass { kNone, kImmediate, kBackoff, kWaitForChange };
RetryClass retryClassFor(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool isOk() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with where it happened, keeping the code.
  Status withContext(std::string_view context) const;
  std::string toString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status failedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status deadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {
    if (std::get<Status>(data_).isOk()) {
      data_ = Status(StatusCode::kInternal, "Result constructed from an OK status");
    }
  }

  bool isOk() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return isOk() ? kOkStatus : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace slotkeeper

#define SK_CONCAT_INNER(a, b) a##b
#define SK_CONCAT(a, b) SK_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::slotkeeper::Status sk_status_ = (expr);  \
    if (!sk_status_.isOk()) return sk_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SK_CONCAT(sk_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.isOk()) return tmp.status();       \
  lhs = std::move(tmp).value()
