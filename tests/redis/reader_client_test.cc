// ReaderNodeClient (hiredis's protocol over a transport of its own) against a real redis-server,
// plain and over TLS: the NodeClient contract both ways (pipelines, binary-safe arguments and
// replies bigger than one read, error replies, AUTH and its fallback, a paused server timing out
// and the next call reconnecting, a stopped one refused), then what TLS adds: the chain verified
// against the CA given, the name against the address (or server_name), plaintext refused.
#include "redis/reader_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "redis/hiredis_client.h"
#include "redis/support/redis_fixture.h"
#include "redis/transport.h"
#include "resources/operator_user.h"

namespace slotkeeper::test {
namespace {

using redis::ReaderNodeClient;
using std::chrono::milliseconds;

constexpr int kPlainPort = 7000;  // the fixture's port
constexpr int kTlsPort = 7001;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A CA and a certificate it signed for `ip` (and node-0.example), made with the openssl tool;
// `san` replaces those names when given.
struct Certificates {
  std::string ca, cert, key;  // PEM
  std::string ca_file, cert_file, key_file;
};

Certificates makeCertificates(const std::string& dir, const std::string& ip,
                              const std::string& name, std::string san = "") {
  if (san.empty()) san = "IP:" + ip + ",DNS:node-0.example";
  const std::string d = dir + "/" + name;
  int code = -1;
  const std::string out = runCommand(
      "mkdir -p " + d + " && cd " + d +
          " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
          " -subj /CN=" +
          name +
          "-ca"
          " && openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj /CN=redis"
          " && printf 'subjectAltName=" +
          san +
          "\\n' > san.ext"
          " && openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
          " -out tls.crt -days 2 -extfile san.ext",
      &code);
  EXPECT_EQ(code, 0) << out;
  return {readFile(d + "/ca.crt"), readFile(d + "/tls.crt"), readFile(d + "/tls.key"),
          d + "/ca.crt",           d + "/tls.crt",           d + "/tls.key"};
}

enum class Wire { kPlain, kTls };

// One redis-server serving plain TCP on 7000 and, once the certificates exist, TLS on 7001
// (Redis 7 takes tls-port and the certificate files with CONFIG SET).
class ReaderClient : public ::testing::TestWithParam<Wire> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(startServer({})); }

  void startServer(const std::string& password) {
    servers_ = std::make_unique<RedisServers>(
        RedisServersOptions{.count = 1, .password = password, .cluster_enabled = false});
    ASSERT_TRUE(servers_->status().isOk()) << servers_->status().toString();
    certs_ = makeCertificates(servers_->dir(), servers_->ip(0), "good");
    auto admin = servers_->client(0);
    ASSERT_TRUE(admin.isOk()) << admin.status().toString();
    auto set =
        (*admin)->command({"CONFIG", "SET", "tls-cert-file", certs_.cert_file, "tls-key-file",
                           certs_.key_file, "tls-ca-cert-file", certs_.ca_file});
    ASSERT_TRUE(set.isOk() && !set->isError()) << (set.isOk() ? set->str : set.status().message());
    auto port = (*admin)->command({"CONFIG", "SET", "tls-port", std::to_string(kTlsPort)});
    ASSERT_TRUE(port.isOk() && !port->isError())
        << (port.isOk() ? port->str : port.status().message());
  }

  redis::ConnectOptions options() const {
    redis::ConnectOptions o = servers_->connectOptions();
    if (GetParam() == Wire::kTls) {
      o.tls = {true, certs_.ca, certs_.cert, certs_.key, "", {}};
    }
    return o;
  }

  std::string address() const {
    return servers_->ip(0) + ":" + std::to_string(GetParam() == Wire::kTls ? kTlsPort : kPlainPort);
  }

  std::unique_ptr<ReaderNodeClient> connect(const redis::ConnectOptions& o) {
    auto client = ReaderNodeClient::connect(address(), o);
    EXPECT_TRUE(client.isOk()) << client.status().toString();
    return client.isOk() ? std::move(client).value() : nullptr;
  }

  std::unique_ptr<RedisServers> servers_;
  Certificates certs_;
};

TEST_P(ReaderClient, PipelinesThousandsOfCommandsAndRepliesLargerThanOneRead) {
  auto client = connect(options());
  ASSERT_NE(client, nullptr);
  std::vector<redis::Command> sets;
  for (int i = 0; i < 3000; ++i) sets.push_back({"SET", "k" + std::to_string(i), "v"});
  auto replies = client->pipeline(sets);
  ASSERT_TRUE(replies.isOk()) << replies.status().toString();
  ASSERT_EQ(replies->size(), 3000u);
  EXPECT_EQ(replies->back().str, "OK");

  // 1 MB with NULs: encoded and parsed byte for byte, across many reads.
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  auto echoed = client->pipeline(
      {{"SET", std::string("bi\0n", 4), big}, {"GET", std::string("bi\0n", 4)}, {"DBSIZE"}});
  ASSERT_TRUE(echoed.isOk()) << echoed.status().toString();
  EXPECT_EQ((*echoed)[1].str, big);
  EXPECT_EQ((*echoed)[2].integer, 3001);
}

TEST_P(ReaderClient, ErrorRepliesKeepRedisTextAndTheConnection) {
  auto client = connect(options());
  ASSERT_NE(client, nullptr);
  auto replies = client->pipeline({{"SET", "s", "text"}, {"INCR", "s"}, {"ECHO", "still here"}});
  ASSERT_TRUE(replies.isOk()) << replies.status().toString();
  EXPECT_TRUE((*replies)[1].isError());
  EXPECT_TRUE(contains((*replies)[1].str, "not an integer")) << (*replies)[1].str;
  EXPECT_EQ((*replies)[2].str, "still here");
}

TEST_P(ReaderClient, AServerThatStopsAnsweringTimesOutAndTheNextCallReconnects) {
  redis::ConnectOptions o = options();
  o.command_timeout = milliseconds(300);
  auto client = connect(o);
  ASSERT_NE(client, nullptr);
  servers_->pause(0);
  Status timed_out = client->ping();
  EXPECT_TRUE(redis::isNoReply(timed_out)) << timed_out.toString();
  EXPECT_TRUE(contains(timed_out.message(), "300 ms")) << timed_out.message();
  servers_->resume(0);
  // The late PONG must not be read as the answer to the next command.
  auto echo = client->command({"ECHO", "after"});
  ASSERT_TRUE(echo.isOk()) << echo.status().toString();
  EXPECT_EQ(echo->str, "after");
}

TEST_P(ReaderClient, AStoppedServerIsUnavailableAndNotMistakenForAPausedOne) {
  auto client = connect(options());
  ASSERT_NE(client, nullptr);
  servers_->stop(0);
  Status ping = client->ping();
  EXPECT_EQ(ping.code(), StatusCode::kUnavailable) << ping.toString();
  Status again = client->ping();  // a reconnect, refused
  EXPECT_EQ(again.code(), StatusCode::kUnavailable) << again.toString();
  EXPECT_TRUE(contains(again.message(), "refused")) << again.message();
  EXPECT_FALSE(redis::isNoReply(again));
}

TEST_P(ReaderClient, AuthenticatesFallsBackToThePreviousPasswordAndRefusesAWrongOne) {
  ASSERT_NO_FATAL_FAILURE(startServer("s3cret"));
  redis::ConnectOptions o = options();
  o.password = "new-one";
  o.fallback_password = "s3cret";
  o.client_name = "reader-test";
  auto client = connect(o);
  ASSERT_NE(client, nullptr);
  auto name = client->command({"CLIENT", "GETNAME"});
  ASSERT_TRUE(name.isOk());
  EXPECT_EQ(name->str, "reader-test");

  o.fallback_password = "";
  auto refused = ReaderNodeClient::connect(address(), o);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated) << refused.status().toString();
  EXPECT_FALSE(contains(refused.status().message(), "new-one")) << "never echo a password";
}

// The operator's own user where a node has it, the default user's password where it does not yet;
// and the operator user's rules keep it from data commands such as FLUSHALL.
TEST_P(ReaderClient, AuthenticatesAsTheNamedUserAndFallsBackToTheDefaultUserWhereItIsMissing) {
  ASSERT_NO_FATAL_FAILURE(startServer("s3cret"));
  redis::ConnectOptions o = options();
  o.password = "s3cret";
  o.username = std::string(resources::kOperatorUser);
  o.user_password = "op-pass";
  auto before = connect(o);
  ASSERT_NE(before, nullptr);
  auto whoami = before->command({"ACL", "WHOAMI"});
  ASSERT_TRUE(whoami.isOk());
  EXPECT_EQ(whoami->str, "default") << "the node has no operator user yet";

  redis::Command create = {"ACL", "SETUSER", o.username, "reset", "on", ">op-pass"};
  std::istringstream rules{std::string(resources::kOperatorUserRules)};
  for (std::string rule; rules >> rule;) create.push_back(rule);
  auto created = before->command(create);
  ASSERT_TRUE(created.isOk()) << created.status().toString();

  auto after = connect(o);
  ASSERT_NE(after, nullptr);
  auto clients = before->command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.isOk()) << clients.status().toString();
  EXPECT_TRUE(contains(clients->str, "user=" + std::string(resources::kOperatorUser)))
      << clients->str;
  EXPECT_TRUE(after->ping().isOk());
  EXPECT_TRUE(after->configGet("maxmemory").isOk());
  EXPECT_TRUE(after->aclPasswordHashes("default").isOk());
  auto flush = after->command({"FLUSHALL"});
  ASSERT_FALSE(flush.isOk());
  EXPECT_TRUE(contains(flush.status().message(), "NOPERM")) << flush.status().message();
  auto set = after->command({"SET", "k", "v"});
  ASSERT_FALSE(set.isOk());
  EXPECT_TRUE(contains(set.status().message(), "NOPERM")) << set.status().message();
}

INSTANTIATE_TEST_SUITE_P(Wires, ReaderClient, ::testing::Values(Wire::kPlain, Wire::kTls),
                         [](const auto& info) {
                           return info.param == Wire::kTls ? std::string("Tls")
                                                           : std::string("Plain");
                         });

// What TLS adds.
class TlsOnly : public ReaderClient {};

TEST_P(TlsOnly, ACertificateFromAnotherCaIsRefusedSayingWhy) {
  Certificates other = makeCertificates(servers_->dir(), servers_->ip(0), "other");
  redis::ConnectOptions o = options();
  o.tls.ca_pem = other.ca;
  auto refused = ReaderNodeClient::connect(address(), o);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(refused.status().message(), "certificate is not accepted"))
      << refused.status().message();
  EXPECT_TRUE(contains(refused.status().message(), address())) << refused.status().message();
}

TEST_P(TlsOnly, TheNameIsCheckedAgainstTheAddressOrTheServerNameAsked) {
  redis::ConnectOptions o = options();
  o.tls.server_name = "node-0.example";
  EXPECT_NE(connect(o), nullptr) << "the DNS SAN matches";
  o.tls.server_name = "node-1.example";
  auto wrong = ReaderNodeClient::connect(address(), o);
  ASSERT_FALSE(wrong.isOk());
  EXPECT_TRUE(contains(wrong.status().message(), "certificate is not accepted"))
      << wrong.status().message();
  // The certificate names 127.x.y.1, not 127.0.0.1: dialled by another address, refused too.
  o.tls.server_name = "127.0.0.1";
  EXPECT_FALSE(ReaderNodeClient::connect(address(), o).isOk());
}

TEST_P(TlsOnly, NoCaMeansNoConnectionAndPlaintextGetsNoAnswerFromTheTlsPort) {
  redis::ConnectOptions o = options();
  o.tls.ca_pem.clear();
  auto no_ca = ReaderNodeClient::connect(address(), o);
  ASSERT_FALSE(no_ca.isOk());
  EXPECT_EQ(no_ca.status().code(), StatusCode::kInvalidArgument) << no_ca.status().toString();

  redis::ConnectOptions plain = servers_->connectOptions();
  plain.command_timeout = milliseconds(500);
  auto refused = redis::HiredisNodeClient::connect(address(), plain);
  const bool answered = refused.isOk() && (*refused)->ping().isOk();
  EXPECT_FALSE(answered) << "a TLS port must not answer plaintext";
}

TEST_P(TlsOnly, TheConnectorChoosesTlsFromTheOptions) {
  redis::HiredisConnector connector(options());
  auto client = connector.connect(address());
  ASSERT_TRUE(client.isOk()) << client.status().toString();
  EXPECT_TRUE((*client)->ping().isOk());
}

// A pod dialled by IP whose certificate names it only by DNS (a wildcard under its headless
// Service): accepted when one of the names given for that IP matches, refused otherwise.
TEST_P(TlsOnly, AnIpKnownByADnsNameIsAcceptedOnlyWhenTheCertificateNamesIt) {
  Certificates dns = makeCertificates(servers_->dir(), servers_->ip(0), "dns",
                                      "DNS:*.demo-headless.ns.svc.cluster.local");
  auto admin = servers_->client(0);
  ASSERT_TRUE(admin.isOk());
  ASSERT_TRUE((*admin)
                  ->configSetAll({{"tls-cert-file", dns.cert_file},
                                  {"tls-key-file", dns.key_file},
                                  {"tls-ca-cert-file", dns.ca_file}})
                  .isOk());
  redis::ConnectOptions o = options();
  o.tls = {true, dns.ca, dns.cert, dns.key, "", {}};
  auto by_ip = ReaderNodeClient::connect(address(), o);
  ASSERT_FALSE(by_ip.isOk()) << "the certificate does not name the IP";
  o.tls.dns_names[servers_->ip(0)] = {"demo-shard-1-0.other-headless.ns.svc.cluster.local"};
  auto wrong = ReaderNodeClient::connect(address(), o);
  ASSERT_FALSE(wrong.isOk());
  EXPECT_TRUE(contains(wrong.status().message(), "names neither")) << wrong.status().message();
  o.tls.dns_names[servers_->ip(0)] = {"demo-shard-1-0.demo-headless.ns.svc",
                                      "demo-shard-1-0.demo-headless.ns.svc.cluster.local"};
  auto right = connect(o);
  ASSERT_NE(right, nullptr);
  EXPECT_TRUE(right->ping().isOk());
}

// What certificate rotation rests on: the client reports the certificate the node served, and
// Redis reads the files again on CONFIG SET of an unchanged path.
TEST_P(TlsOnly, TheServedCertificateIsReportedAndARewrittenFileIsReloadedOnConfigSet) {
  auto first = connect(options());
  ASSERT_NE(first, nullptr);
  auto expected = redis::pemCertificateSha256(certs_.cert);
  ASSERT_TRUE(expected.isOk()) << expected.status().toString();
  EXPECT_EQ(first->servedCertificateSha256(), *expected);
  EXPECT_EQ(expected->size(), 64u);

  // A renewed certificate from the same CA written over the same file, as a Secret refresh does.
  Certificates renewed = makeCertificates(servers_->dir(), servers_->ip(0), "renewed");
  const std::string cert_file = servers_->dir() + "/good/tls.crt";
  int code = -1;
  const std::string out = runCommand("cd " + servers_->dir() +
                                         " && openssl x509 -req -in renewed/tls.csr -CA good/ca.crt"
                                         " -CAkey good/ca.key -CAcreateserial -out good/tls.crt"
                                         " -days 3 -extfile renewed/san.ext && cp renewed/tls.key "
                                         "good/tls.key",
                                     &code);
  ASSERT_EQ(code, 0) << out;
  auto renewed_sha = redis::pemCertificateSha256(readFile(cert_file));
  ASSERT_TRUE(renewed_sha.isOk());
  ASSERT_NE(*renewed_sha, *expected);

  auto before_reload = connect(options());
  ASSERT_NE(before_reload, nullptr);
  EXPECT_EQ(before_reload->servedCertificateSha256(), *expected) << "not read again by itself";
  auto admin = servers_->client(0);
  ASSERT_TRUE(admin.isOk());
  ASSERT_TRUE((*admin)
                  ->configSetAll({{"tls-cert-file", cert_file},
                                  {"tls-key-file", servers_->dir() + "/good/tls.key"},
                                  {"tls-ca-cert-file", certs_.ca_file}})
                  .isOk());
  auto after_reload = connect(options());
  ASSERT_NE(after_reload, nullptr);
  EXPECT_EQ(after_reload->servedCertificateSha256(), *renewed_sha);
  EXPECT_TRUE(first->ping().isOk()) << "connections made before the reload keep working";
}

INSTANTIATE_TEST_SUITE_P(Tls, TlsOnly, ::testing::Values(Wire::kTls));

}  // namespace
}  // namespace slotkeeper::test
