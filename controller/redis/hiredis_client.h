// The real NodeClient: one blocking hiredis connection to one Redis node, with connect and
// command timeouts, AUTH, and a single reconnect attempt after the connection breaks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "redis/node_client.h"

struct redisContext;

namespace slotkeeper::redis {

// Not thread-safe: one client per thread (or guard it with a mutex).
class HiredisNodeClient final : public NodeClient {
 public:
  // Connects (and authenticates when options.password is set) before returning, so an
  // unreachable node or a wrong password is reported here rather than on the first command.
  static Result<std::unique_ptr<HiredisNodeClient>> connect(const std::string& address,
                                                            const ConnectOptions& options);

  const std::string& address() const override { return address_; }

  // A transport failure (refused, reset, timed out) answers kUnavailable and drops the
  // connection: after a timeout a late reply could otherwise be read as the answer to the
  // next command. The next call reconnects once; if that fails it answers kUnavailable too.
  // When a pipeline fails midway some of its commands may have run; callers re-observe.
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands) override;

 private:
  struct ContextDeleter {
    void operator()(redisContext* ctx) const;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

  HiredisNodeClient(std::string address, std::string host, int port, ConnectOptions options);

  // Opens a fresh connection, sets the command timeout and starts the session (AUTH, name).
  Status reconnect();
  // Appends every command, then reads one reply per command. Requires a live connection.
  Result<std::vector<Reply>> roundTrip(const std::vector<Command>& commands);
  // Drops the connection and describes the hiredis error of `ctx` for `what`.
  Status transportError(redisContext* ctx, const std::string& what);

  std::string address_;
  std::string host_;
  int port_ = 0;
  ConnectOptions options_;
  ContextPtr ctx_;  // null when not connected (never connected, or broken)
};

// Opens clients with the same options for every node of a cluster: HiredisNodeClients, or
// ReaderNodeClients over TLS when options.tls.enabled.
class HiredisConnector final : public NodeConnector {
 public:
  explicit HiredisConnector(ConnectOptions options) : options_(std::move(options)) {}
  Result<std::unique_ptr<NodeClient>> connect(const std::string& address) override;

 private:
  ConnectOptions options_;
};

}  // namespace slotkeeper::redis
