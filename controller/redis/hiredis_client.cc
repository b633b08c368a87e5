#include "redis/hiredis_client.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace slotkeeper::redis {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// hiredis writes with write(2), so a write to a connection the peer already closed raises
// SIGPIPE, whose default action kills the whole operator. Blocking it on this thread for the
// duration of the I/O (and swallowing one we caused) turns that into an EPIPE error instead,
// without changing the process-wide disposition behind the caller's back.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    if (!was_pending_) {
      timespec no_wait{};
      while (sigtimedwait(&pipe_set_, nullptr, &no_wait) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_{};
  sigset_t old_mask_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

struct ReplyDeleter {
  void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

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

// The server answers this to AUTH when it has no password: talking to it works without one,
// and refusing would stop the operator from reconciling a cluster while a password is rolled
// out node by node.
constexpr std::string_view kNoPasswordConfigured = "without any password configured";

}  // namespace

void HiredisNodeClient::ContextDeleter::operator()(redisContext* ctx) const { redisFree(ctx); }

HiredisNodeClient::HiredisNodeClient(std::string address, std::string host, int port,
                                     ConnectOptions options)
    : address_(std::move(address)),
      host_(std::move(host)),
      port_(port),
      options_(std::move(options)) {}

Result<std::unique_ptr<HiredisNodeClient>> HiredisNodeClient::connect(
    const std::string& address, const ConnectOptions& options) {
  ASSIGN_OR_RETURN(auto host_port, splitAddress(address));
  std::unique_ptr<HiredisNodeClient> client(
      new HiredisNodeClient(address, host_port.first, host_port.second, options));
  RETURN_IF_ERROR(client->reconnect());
  return client;
}

Result<std::vector<Reply>> HiredisNodeClient::pipeline(const std::vector<Command>& commands) {
  if (commands.empty()) return std::vector<Reply>{};
  for (const Command& cmd : commands) {
    // Checked before anything is sent so a bad batch never leaves the connection half-used.
    if (cmd.empty()) return invalidArgument(address_ + ": pipeline holds an empty command");
  }
  if (!ctx_) RETURN_IF_ERROR(reconnect());
  return roundTrip(commands);
}

Status HiredisNodeClient::reconnect() {
  ctx_.reset();
  // A zero timeout would make hiredis give up at once, so it means "no timeout" here.
  ContextPtr ctx(
      options_.connect_timeout.count() > 0
          ? redisConnectWithTimeout(host_.c_str(), port_, toTimeval(options_.connect_timeout))
          : redisConnect(host_.c_str(), port_));
  if (!ctx) return unavailable(address_ + ": connect: cannot allocate a hiredis context");
  if (ctx->err != 0) {
    return unavailable(address_ + ": connect: " + ctx->errstr);
  }
  if (options_.command_timeout.count() > 0 &&
      redisSetTimeout(ctx.get(), toTimeval(options_.command_timeout)) != REDIS_OK) {
    return unavailable(address_ + ": setting the command timeout: " + ctx->errstr);
  }
  ctx_ = std::move(ctx);
  RETURN_IF_ERROR(authenticate());
  if (options_.client_name.empty()) return Status::ok();
  ASSIGN_OR_RETURN(std::vector<Reply> named,
                   roundTrip({{"CLIENT", "SETNAME", options_.client_name}}));
  if (named[0].isError()) {
    ctx_.reset();
    return invalidArgument(address_ + ": CLIENT SETNAME: " + named[0].str);
  }
  return Status::ok();
}

// AUTH with the password, then with the fallback if the first is refused.
Status HiredisNodeClient::authenticate() {
  std::string refusal;
  for (const std::string* password : {&options_.password, &options_.fallback_password}) {
    if (password->empty() || (password != &options_.password && *password == options_.password)) {
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<Reply> replies, roundTrip({{"AUTH", *password}}));
    const Reply& reply = replies[0];
    if (!reply.isError() || reply.str.find(kNoPasswordConfigured) != std::string::npos) {
      return Status::ok();
    }
    if (refusal.empty()) refusal = reply.str;
  }
  if (refusal.empty()) return Status::ok();  // no password to send
  // Dropped so the next call authenticates again, e.g. after the password was fixed.
  ctx_.reset();
  return Status(StatusCode::kUnauthenticated, address_ + ": AUTH: " + refusal);
}

Result<std::vector<Reply>> HiredisNodeClient::roundTrip(const std::vector<Command>& commands) {
  ScopedSigpipeBlock no_sigpipe;
  redisContext* ctx = ctx_.get();
  std::vector<const char*> argv;
  std::vector<size_t> argv_lengths;
  for (const Command& cmd : commands) {
    argv.clear();
    argv_lengths.clear();
    for (const std::string& arg : cmd) {
      argv.push_back(arg.data());
      argv_lengths.push_back(arg.size());  // binary-safe: keys and DUMP payloads hold NULs
    }
    if (redisAppendCommandArgv(ctx, static_cast<int>(cmd.size()), argv.data(),
                               argv_lengths.data()) != REDIS_OK) {
      return transportError(ctx, "queueing " + cmd[0]);
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (const Command& cmd : commands) {
    void* raw = nullptr;
    if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
      return transportError(ctx, cmd[0]);
    }
    ReplyPtr owned(raw);
    auto reply = convertReply(*static_cast<redisReply*>(raw));
    if (!reply.isOk()) {
      ctx_.reset();  // the remaining replies can no longer be matched to their commands
      return reply.status().withContext(address_);
    }
    replies.push_back(std::move(reply).value());
  }
  return replies;
}

Status HiredisNodeClient::transportError(redisContext* ctx, const std::string& what) {
  std::string detail = ctx->err != 0 ? ctx->errstr : "unknown hiredis error";
  // With SO_RCVTIMEO set by redisSetTimeout, a read that times out fails with EAGAIN.
  if (ctx->err == REDIS_ERR_IO && detail == std::strerror(EAGAIN)) {
    detail = std::string(kNoReplyWithin) + std::to_string(options_.command_timeout.count()) + " ms";
  }
  ctx_.reset();
  return unavailable(address_ + ": " + what + ": " + detail);
}

Result<std::unique_ptr<NodeClient>> HiredisConnector::connect(const std::string& address) {
  ASSIGN_OR_RETURN(std::unique_ptr<HiredisNodeClient> client,
                   HiredisNodeClient::connect(address, options_));
  return std::unique_ptr<NodeClient>(std::move(client));
}

}  // namespace slotkeeper::redis
