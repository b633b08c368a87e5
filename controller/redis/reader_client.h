// A NodeClient over a Transport of its own (plain TCP or TLS), with hiredis only for the
// protocol: its formatter encodes the commands and its reader parses the replies from whatever
// bytes arrive. The same contract as HiredisNodeClient: connect, AUTH and name up front; a
// transport failure drops the connection and the next call reconnects once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "redis/node_client.h"
#include "redis/transport.h"

struct redisReader;

namespace slotkeeper::redis {

// Not thread-safe: one client per thread (or guard it with a mutex).
class ReaderNodeClient final : public NodeClient {
 public:
  // TLS when options.tls.enabled, else plain TCP.
  static Result<std::unique_ptr<ReaderNodeClient>> connect(const std::string& address,
                                                           const ConnectOptions& options);
  ~ReaderNodeClient() override;

  const std::string& address() const override { return address_; }
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands) override;
  std::string servedCertificateSha256() const override { return served_certificate_; }

 private:
  ReaderNodeClient(std::string address, std::string host, int port, ConnectOptions options);
  Status reconnect();
  Result<std::vector<Reply>> roundTrip(const std::vector<Command>& commands);
  // The next complete reply, reading from the transport as needed.
  Result<Reply> nextReply();
  void drop();

  std::string address_;
  std::string host_;
  int port_ = 0;
  ConnectOptions options_;
  std::unique_ptr<Transport> transport_;  // null when not connected
  redisReader* reader_ = nullptr;         // paired with transport_
  std::string served_certificate_;        // of the last handshake
};

}  // namespace slotkeeper::redis
