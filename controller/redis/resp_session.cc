#include "redis/resp_session.h"

#include <hiredis/hiredis.h>
#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace slotkeeper::redis {
namespace {

// The server answers this to AUTH when it has no password: talking to it works without one,
// and refusing would stop the operator from reconciling a cluster while a password is rolled
// out node by node.
constexpr std::string_view kNoPasswordConfigured = "without any password configured";

Status authenticate(const std::string& address, const ConnectOptions& options,
                    const RoundTrip& round_trip) {
  std::string refusal;
  if (!options.username.empty()) {
    ASSIGN_OR_RETURN(std::vector<Reply> replies,
                     round_trip({{"AUTH", options.username, options.user_password}}));
    if (!replies[0].isError()) return Status::ok();
    refusal = replies[0].str;
  }
  for (const std::string* password : {&options.password, &options.fallback_password}) {
    if (password->empty() || (password != &options.password && *password == options.password)) {
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<Reply> replies, round_trip({{"AUTH", *password}}));
    const Reply& reply = replies[0];
    if (!reply.isError() || reply.str.find(kNoPasswordConfigured) != std::string::npos) {
      return Status::ok();
    }
    if (refusal.empty()) refusal = reply.str;
  }
  if (refusal.empty()) return Status::ok();  // no password to send
  return Status(StatusCode::kUnauthenticated, address + ": AUTH: " + refusal);
}

}  // namespace

ScopedSigpipeBlock::ScopedSigpipeBlock() {
  sigemptyset(&pipe_set_);
  sigaddset(&pipe_set_, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_) == 0;
}

ScopedSigpipeBlock::~ScopedSigpipeBlock() {
  if (!blocked_) return;
  if (!was_pending_) {
    timespec no_wait{};
    while (sigtimedwait(&pipe_set_, nullptr, &no_wait) == -1 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void ReplyDeleter::operator()(void* reply) const { freeReplyObject(reply); }

Result<Reply> convertReply(const redisReply& raw) {
  switch (raw.type) {
    case REDIS_REPLY_STRING:
      return Reply::string(std::string(raw.str, raw.len));
    case REDIS_REPLY_STATUS:
      return Reply::status(std::string(raw.str, raw.len));
    case REDIS_REPLY_ERROR:
      return Reply::error(std::string(raw.str, raw.len));
    case REDIS_REPLY_INTEGER:
      return Reply::integerReply(raw.integer);
    case REDIS_REPLY_NIL:
      return Reply{};
    case REDIS_REPLY_ARRAY: {
      Reply array;
      array.type = Reply::Type::kArray;
      array.elements.reserve(raw.elements);
      for (size_t i = 0; i < raw.elements; ++i) {
        ASSIGN_OR_RETURN(Reply element, convertReply(*raw.element[i]));
        array.elements.push_back(std::move(element));
      }
      return array;
    }
  }
  return internalError("unsupported hiredis reply type " + std::to_string(raw.type));
}

Status checkPipeline(const std::string& address, const std::vector<Command>& commands) {
  for (const Command& cmd : commands) {
    if (cmd.empty()) return invalidArgument(address + ": pipeline holds an empty command");
  }
  return Status::ok();
}

ArgvView::ArgvView(const Command& command) {
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
}

Status startSession(const std::string& address, const ConnectOptions& options,
                    const RoundTrip& round_trip) {
  RETURN_IF_ERROR(authenticate(address, options, round_trip));
  if (options.client_name.empty()) return Status::ok();
  ASSIGN_OR_RETURN(std::vector<Reply> named,
                   round_trip({{"CLIENT", "SETNAME", options.client_name}}));
  if (named[0].isError()) return invalidArgument(address + ": CLIENT SETNAME: " + named[0].str);
  return Status::ok();
}

}  // namespace slotkeeper::redis
