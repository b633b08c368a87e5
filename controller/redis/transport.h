// Byte streams to a Redis node for the reader-based client: plain TCP or TLS (OpenSSL), each
// with a connect timeout and a per-read/write timeout. The RESP encoding and parsing stay with
// hiredis (its command formatter and reply reader); only the bytes travel here.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "redis/node_client.h"

namespace slotkeeper::redis {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends every byte, or fails (kUnavailable).
  virtual Status writeAll(std::string_view bytes) = 0;
  // Reads what has arrived, at least one byte, waiting up to the I/O timeout; a timeout fails
  // with kNoReplyWithin in the message, a closed connection with "connection closed".
  virtual Result<size_t> readSome(char* buffer, size_t capacity) = 0;
  // The SHA-256 (hex) of the certificate the server presented; empty over plain TCP.
  virtual std::string peerCertificateSha256() const { return {}; }
};

struct TransportTimeouts {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds io{10000};  // 0: none
};

// Connects to host:port (an IPv4 address or a name) over TCP.
Result<std::unique_ptr<Transport>> openPlainTransport(const std::string& host, int port,
                                                      const TransportTimeouts& timeouts);

// Connects over TCP and completes a TLS handshake that verifies the server's chain against
// tls.ca_pem and its name against `host` (or tls.server_name, or one of tls.dns_names[host]); a
// server that fails either is refused with the reason (kUnavailable, "certificate" in the
// message).
Result<std::unique_ptr<Transport>> openTlsTransport(const std::string& host, int port,
                                                    const TransportTimeouts& timeouts,
                                                    const TlsOptions& tls);

// The SHA-256 (hex) of the first certificate of a PEM bundle (the leaf of a cert-manager
// tls.crt), comparable with Transport::peerCertificateSha256().
Result<std::string> pemCertificateSha256(const std::string& pem);

}  // namespace slotkeeper::redis
