#include "redis/reader_client.h"

#include <hiredis/hiredis.h>

#include "redis/resp_session.h"

namespace slotkeeper::redis {

ReaderNodeClient::ReaderNodeClient(std::string address, std::string host, int port,
                                   ConnectOptions options)
    : address_(std::move(address)),
      host_(std::move(host)),
      port_(port),
      options_(std::move(options)) {}

ReaderNodeClient::~ReaderNodeClient() { drop(); }

Result<std::unique_ptr<ReaderNodeClient>> ReaderNodeClient::connect(const std::string& address,
                                                                    const ConnectOptions& options) {
  ASSIGN_OR_RETURN(auto host_port, splitAddress(address));
  std::unique_ptr<ReaderNodeClient> client(
      new ReaderNodeClient(address, host_port.first, host_port.second, options));
  RETURN_IF_ERROR(client->reconnect());
  return client;
}

void ReaderNodeClient::drop() {
  transport_.reset();
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = nullptr;
}

Result<std::vector<Reply>> ReaderNodeClient::pipeline(const std::vector<Command>& commands) {
  if (commands.empty()) return std::vector<Reply>{};
  RETURN_IF_ERROR(checkPipeline(address_, commands));
  if (!transport_) RETURN_IF_ERROR(reconnect());
  return roundTrip(commands);
}

Status ReaderNodeClient::reconnect() {
  drop();
  const TransportTimeouts timeouts{options_.connect_timeout, options_.command_timeout};
  ScopedSigpipeBlock no_sigpipe;
  auto opened = options_.tls.enabled ? openTlsTransport(host_, port_, timeouts, options_.tls)
                                     : openPlainTransport(host_, port_, timeouts);
  if (!opened.isOk()) return opened.status();
  transport_ = std::move(opened).value();
  served_certificate_ = transport_->peerCertificateSha256();
  reader_ = redisReaderCreate();
  if (reader_ == nullptr) {
    drop();
    return internalError(address_ + ": cannot allocate a reply reader");
  }
  Status started = startSession(address_, options_, [this](const std::vector<Command>& commands) {
    return roundTrip(commands);
  });
  if (!started.isOk()) drop();
  return started;
}

Result<std::vector<Reply>> ReaderNodeClient::roundTrip(const std::vector<Command>& commands) {
  ScopedSigpipeBlock no_sigpipe;
  std::string bytes;
  for (const Command& cmd : commands) {
    ArgvView args(cmd);
    char* formatted = nullptr;
    const int len =
        redisFormatCommandArgv(&formatted, args.argc(), args.argv.data(), args.lengths.data());
    if (len < 0 || formatted == nullptr)
      return internalError(address_ + ": cannot encode " + cmd[0]);
    bytes.append(formatted, static_cast<size_t>(len));
    redisFreeCommand(formatted);
  }
  if (Status sent = transport_->writeAll(bytes); !sent.isOk()) {
    drop();
    return sent;
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (const Command& cmd : commands) {
    auto reply = nextReply();
    if (!reply.isOk()) {
      drop();  // the remaining replies can no longer be matched to their commands
      return reply.status().withContext(cmd[0]);
    }
    replies.push_back(std::move(reply).value());
  }
  return replies;
}

Result<Reply> ReaderNodeClient::nextReply() {
  char buffer[16 * 1024];
  while (true) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      return internalError(address_ + ": protocol error: " + reader_->errstr);
    }
    if (raw != nullptr) {
      ReplyPtr owned(raw);
      return convertReply(*static_cast<redisReply*>(raw));
    }
    ASSIGN_OR_RETURN(size_t n, transport_->readSome(buffer, sizeof(buffer)));
    if (redisReaderFeed(reader_, buffer, n) != REDIS_OK) {
      return internalError(address_ + ": protocol error: " + reader_->errstr);
    }
  }
}

}  // namespace slotkeeper::redis
