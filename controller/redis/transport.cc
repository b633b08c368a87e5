#include "redis/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace slotkeeper::redis {
namespace {

std::string where(const std::string& host, int port) { return host + ":" + std::to_string(port); }

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

bool isTimeout(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

std::string noReply(const TransportTimeouts& timeouts) {
  return std::string(kNoReplyWithin) + std::to_string(timeouts.io.count()) + " ms";
}

// SO_RCVTIMEO/SO_SNDTIMEO; 0 is none.
void setIoTimeout(int fd, std::chrono::milliseconds timeout) {
  const timeval tv = toTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// A connected TCP socket with the I/O timeout set (SO_RCVTIMEO/SO_SNDTIMEO), or why not.
Result<std::unique_ptr<Socket>> connectTcp(const std::string& host, int port,
                                           const TransportTimeouts& timeouts) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return unavailable(where(host, port) + ": connect: " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  auto socket = std::make_unique<Socket>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket->fd() < 0) return unavailable(where(host, port) + ": socket: " + std::strerror(errno));
  const int fd = socket->fd();
  // Non-blocking only for the connect, so it can be bounded by poll.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (::connect(fd, addresses->ai_addr, addresses->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return unavailable(where(host, port) + ": connect: " + std::strerror(errno));
  }
  pollfd pfd{fd, POLLOUT, 0};
  const int wait_ms =
      timeouts.connect.count() > 0 ? static_cast<int>(timeouts.connect.count()) : -1;
  const int ready = poll(&pfd, 1, wait_ms);
  if (ready == 0) return unavailable(where(host, port) + ": connect: timed out");
  int error = 0;
  socklen_t len = sizeof(error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  if (ready < 0 || error != 0) {
    return unavailable(where(host, port) +
                       ": connect: " + std::strerror(ready < 0 ? errno : error));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setIoTimeout(fd, timeouts.io);
  return socket;
}

class PlainTransport final : public Transport {
 public:
  PlainTransport(std::unique_ptr<Socket> socket, std::string address, TransportTimeouts timeouts)
      : socket_(std::move(socket)), address_(std::move(address)), timeouts_(timeouts) {}

  Status writeAll(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::send(socket_->fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return unavailable(address_ + ": write: " + std::strerror(errno));
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::ok();
  }

  Result<size_t> readSome(char* buffer, size_t capacity) override {
    while (true) {
      const ssize_t n = ::recv(socket_->fd(), buffer, capacity, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return unavailable(address_ + ": connection closed");
      if (errno == EINTR) continue;
      if (isTimeout(errno)) return unavailable(address_ + ": " + noReply(timeouts_));
      return unavailable(address_ + ": read: " + std::strerror(errno));
    }
  }

 private:
  std::unique_ptr<Socket> socket_;
  std::string address_;
  TransportTimeouts timeouts_;
};

// The OpenSSL error queue as text (emptied), or `fallback` when it is empty.
std::string sslErrors(const std::string& fallback) {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    out += (out.empty() ? "" : "; ") + std::string(text);
  }
  return out.empty() ? fallback : out;
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

std::unique_ptr<BIO, BioDeleter> pemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioDeleter>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Trusts every certificate of the PEM bundle.
Status trustCa(SSL_CTX* ctx, const std::string& ca_pem) {
  auto bio = pemBio(ca_pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  ERR_clear_error();  // the read that ends the loop leaves "no start line"
  if (added == 0) return invalidArgument("TLS: ca.crt holds no PEM certificate");
  return Status::ok();
}

Status useClientCertificate(SSL_CTX* ctx, const TlsOptions& tls) {
  if (tls.cert_pem.empty() && tls.key_pem.empty()) return Status::ok();
  auto cert_bio = pemBio(tls.cert_pem);
  X509* cert = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return invalidArgument("TLS: tls.crt holds no PEM certificate");
  const int used = SSL_CTX_use_certificate(ctx, cert);
  X509_free(cert);
  auto key_bio = pemBio(tls.key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (used != 1 || key == nullptr) {
    return invalidArgument("TLS: client certificate or key unusable: " + sslErrors("no key"));
  }
  const int key_used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (key_used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return invalidArgument("TLS: tls.key does not match tls.crt: " + sslErrors("mismatch"));
  }
  return Status::ok();
}

Result<SslCtxPtr> makeContext(const TlsOptions& tls) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return internalError("TLS: " + sslErrors("cannot create a context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  if (tls.ca_pem.empty()) return invalidArgument("TLS: no CA to verify the nodes with (ca.crt)");
  RETURN_IF_ERROR(trustCa(ctx.get(), tls.ca_pem));
  RETURN_IF_ERROR(useClientCertificate(ctx.get(), tls));
  return ctx;
}

bool isIpAddress(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

// Names the dialled IP may be known by: checked after the handshake, as OpenSSL's own check
// wants every name it is given to match.
const std::vector<std::string>* alternativeNames(const std::string& host, const TlsOptions& tls) {
  if (!tls.server_name.empty()) return nullptr;
  auto it = tls.dns_names.find(host);
  return it == tls.dns_names.end() || it->second.empty() ? nullptr : &it->second;
}

// The name the certificate must carry during the handshake: the DNS name asked for, else the
// address dialled (unless alternative names are checked after it).
Status expectName(SSL* ssl, const std::string& host, const TlsOptions& tls) {
  if (alternativeNames(host, tls) != nullptr) return Status::ok();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  const std::string& name = tls.server_name.empty() ? host : tls.server_name;
  if (isIpAddress(name)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      return invalidArgument("TLS: cannot expect IP " + name);
    }
    return Status::ok();
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) != 1 ||
      SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return invalidArgument("TLS: cannot expect host name " + name);
  }
  return Status::ok();
}

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// After a handshake whose chain verified: the certificate names the IP or one of its names.
Status checkAlternativeNames(SSL* ssl, const std::string& host, const TlsOptions& tls) {
  const std::vector<std::string>* names = alternativeNames(host, tls);
  if (names == nullptr) return Status::ok();
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return unavailable("TLS: the server presented no certificate");
  if (X509_check_ip_asc(cert.get(), host.c_str(), 0) == 1) return Status::ok();
  for (const std::string& name : *names) {
    if (X509_check_host(cert.get(), name.data(), name.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                        nullptr) == 1) {
      return Status::ok();
    }
  }
  std::string listed;
  for (const std::string& name : *names) listed += (listed.empty() ? "" : ", ") + name;
  return unavailable("TLS handshake: the server's certificate is not accepted: it names neither " +
                     host + " nor " + listed);
}

std::string sha256Hex(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(std::unique_ptr<Socket> socket, SslCtxPtr ctx, SslPtr ssl, std::string address,
               TransportTimeouts timeouts)
      : socket_(std::move(socket)),
        ctx_(std::move(ctx)),
        ssl_(std::move(ssl)),
        address_(std::move(address)),
        timeouts_(timeouts) {
    X509Ptr cert(SSL_get1_peer_certificate(ssl_.get()));
    if (cert) peer_sha256_ = sha256Hex(cert.get());
  }

  std::string peerCertificateSha256() const override { return peer_sha256_; }

  Status writeAll(std::string_view bytes) override {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return failure(n, "write");
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::ok();
  }

  Result<size_t> readSome(char* buffer, size_t capacity) override {
    const int n = SSL_read(ssl_.get(), buffer, static_cast<int>(capacity));
    if (n > 0) return static_cast<size_t>(n);
    return failure(n, "read");
  }

 private:
  Status failure(int rc, const char* what) {
    const int error = SSL_get_error(ssl_.get(), rc);
    const int saved_errno = errno;
    if (error == SSL_ERROR_ZERO_RETURN) return unavailable(address_ + ": connection closed");
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ||
        (error == SSL_ERROR_SYSCALL && isTimeout(saved_errno))) {
      return unavailable(address_ + ": " + noReply(timeouts_));
    }
    if (error == SSL_ERROR_SYSCALL && rc == 0) return unavailable(address_ + ": connection closed");
    return unavailable(address_ + ": TLS " + what + ": " +
                       sslErrors(saved_errno != 0 ? std::strerror(saved_errno) : "failed"));
  }

  std::unique_ptr<Socket> socket_;
  SslCtxPtr ctx_;
  SslPtr ssl_;
  std::string address_;
  TransportTimeouts timeouts_;
  std::string peer_sha256_;
};

}  // namespace

Result<std::unique_ptr<Transport>> openPlainTransport(const std::string& host, int port,
                                                      const TransportTimeouts& timeouts) {
  ASSIGN_OR_RETURN(auto socket, connectTcp(host, port, timeouts));
  return std::unique_ptr<Transport>(
      std::make_unique<PlainTransport>(std::move(socket), where(host, port), timeouts));
}

Result<std::unique_ptr<Transport>> openTlsTransport(const std::string& host, int port,
                                                    const TransportTimeouts& timeouts,
                                                    const TlsOptions& tls) {
  ERR_clear_error();
  ASSIGN_OR_RETURN(SslCtxPtr ctx, makeContext(tls));
  ASSIGN_OR_RETURN(auto socket, connectTcp(host, port, timeouts));
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), socket->fd()) != 1) {
    return internalError(where(host, port) + ": TLS: " + sslErrors("cannot set up"));
  }
  RETURN_IF_ERROR(expectName(ssl.get(), host, tls));
  // The handshake is part of connecting: a plaintext server never answers the client hello,
  // and must not hold the caller for a command's timeout.
  const TransportTimeouts handshake{timeouts.connect, timeouts.connect};
  setIoTimeout(socket->fd(), handshake.io);
  const int connected = SSL_connect(ssl.get());
  setIoTimeout(socket->fd(), timeouts.io);
  if (connected != 1) {
    const long verdict = SSL_get_verify_result(ssl.get());
    if (verdict != X509_V_OK) {
      ERR_clear_error();
      return unavailable(where(host, port) +
                         ": TLS handshake: the server's certificate is not "
                         "accepted: " +
                         X509_verify_cert_error_string(verdict));
    }
    const int saved_errno = errno;
    if (isTimeout(saved_errno)) {
      return unavailable(where(host, port) + ": TLS handshake: " + noReply(handshake));
    }
    return unavailable(where(host, port) + ": TLS handshake: " +
                       sslErrors(saved_errno != 0 ? std::strerror(saved_errno)
                                                  : "the server closed the connection"));
  }
  if (Status named = checkAlternativeNames(ssl.get(), host, tls); !named.isOk()) {
    return named.withContext(where(host, port));
  }
  return std::unique_ptr<Transport>(std::make_unique<TlsTransport>(
      std::move(socket), std::move(ctx), std::move(ssl), where(host, port), timeouts));
}

Result<std::string> pemCertificateSha256(const std::string& pem) {
  auto bio = pemBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) return invalidArgument("TLS: tls.crt holds no PEM certificate");
  std::string hex = sha256Hex(cert.get());
  if (hex.empty()) return internalError("TLS: cannot hash the certificate");
  return hex;
}

}  // namespace slotkeeper::redis
