#include "redis/hiredis_client.h"

#include <hiredis/hiredis.h>

#include <cerrno>
#include <cstring>

#include "redis/reader_client.h"
#include "redis/resp_session.h"

namespace slotkeeper::redis {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

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
  RETURN_IF_ERROR(checkPipeline(address_, commands));
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
  Status started = startSession(address_, options_, [this](const std::vector<Command>& commands) {
    return roundTrip(commands);
  });
  // Dropped on a refusal too, so the next call authenticates again (e.g. a fixed password).
  if (!started.isOk()) ctx_.reset();
  return started;
}

Result<std::vector<Reply>> HiredisNodeClient::roundTrip(const std::vector<Command>& commands) {
  ScopedSigpipeBlock no_sigpipe;
  redisContext* ctx = ctx_.get();
  for (const Command& cmd : commands) {
    ArgvView args(cmd);
    if (redisAppendCommandArgv(ctx, args.argc(), args.argv.data(), args.lengths.data()) !=
        REDIS_OK) {
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
  if (options_.tls.enabled) {
    ASSIGN_OR_RETURN(std::unique_ptr<ReaderNodeClient> tls_client,
                     ReaderNodeClient::connect(address, options_));
    return std::unique_ptr<NodeClient>(std::move(tls_client));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<HiredisNodeClient> client,
                   HiredisNodeClient::connect(address, options_));
  return std::unique_ptr<NodeClient>(std::move(client));
}

}  // namespace slotkeeper::redis
