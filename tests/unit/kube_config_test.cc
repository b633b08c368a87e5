#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "kube/base64.h"
#include "kube/config.h"

namespace slotkeeper::kube {
namespace {

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

// A scratch directory removed at the end of each test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sk-kube-config-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& contents) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << contents;
    return file;
  }

 private:
  std::string path_;
};

std::string kubeconfigWithData() {
  return std::string(R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: )") +
         base64Encode(kCaPem) + R"(
- name: other
  cluster:
    server: https://127.0.0.2:7443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: )" +
         base64Encode(kCertPem) + R"(
    client-key-data: )" +
         base64Encode(kKeyPem) + R"(
- name: robot
  user:
    token: s3cret
contexts:
- name: dev
  context:
    cluster: local
    user: admin
    namespace: redis
- name: ops
  context:
    cluster: other
    user: robot
)";
}

TEST(KubeConfig, CurrentContextWithEmbeddedData) {
  auto config = parseKubeConfig(kubeconfigWithData(), "/nowhere");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->context_name, "dev");
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(config->default_namespace, "redis");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_TRUE(config->token.empty());
}

TEST(KubeConfig, ExplicitContextSelectsClusterAndUser) {
  auto config = parseKubeConfig(kubeconfigWithData(), "", "ops");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->server, "https://127.0.0.2:7443");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  EXPECT_EQ(config->token, "s3cret");
  EXPECT_EQ(config->default_namespace, "default");
  EXPECT_TRUE(config->ca_pem.empty());
}

TEST(KubeConfig, FileReferencesResolveRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("ca.crt", kCaPem);
  dir.write("admin.crt", kCertPem);
  const std::string key_path = dir.write("admin.key", kKeyPem);
  dir.write("token", "tok\n");
  const std::string path = dir.write("config", R"(
current-context: c
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:1234", certificate-authority: ca.crt}
users:
- name: u
  user: {client-certificate: admin.crt, client-key: )" +
                                                   key_path +
                                                   R"(, tokenFile: token}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  auto config = loadKubeConfigFile(path);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(config->token_file, dir.path() + "/token");
}

TEST(KubeConfig, MissingReferencedFileIsNotFound) {
  auto config = parseKubeConfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://h", certificate-authority: /no/such/ca}}]
contexts: [{name: c, context: {cluster: k}}]
)",
                                "/");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find("certificate-authority"), std::string::npos);
}

TEST(KubeConfig, UnknownContextIsInvalidArgument) {
  auto config = parseKubeConfig(kubeconfigWithData(), "", "prod");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("prod"), std::string::npos);
}

TEST(KubeConfig, NoCurrentContextIsInvalidArgument) {
  auto config = parseKubeConfig("clusters: []\ncontexts: []\n", "");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("current-context"), std::string::npos);
}

TEST(KubeConfig, ContextPointingAtMissingClusterIsInvalidArgument) {
  auto config = parseKubeConfig(
      "current-context: c\ncontexts: [{name: c, "
      "context: {cluster: gone, user: u}}]\n",
      "");
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("gone"), std::string::npos);
}

TEST(KubeConfig, BadYamlIsInvalidArgumentNotAnException) {
  auto config = parseKubeConfig("current-context: [unclosed\n  - : :", "");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("YAML"), std::string::npos);
}

TEST(KubeConfig, WrongShapesAreInvalidArgument) {
  EXPECT_FALSE(parseKubeConfig("- just\n- a list\n", "").isOk());
  // contexts entry whose context is a scalar.
  auto config = parseKubeConfig("current-context: c\ncontexts: [{name: c, context: x}]\n", "");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
}

TEST(KubeConfig, BadBase64IsInvalidArgument) {
  auto config = parseKubeConfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://h", certificate-authority-data: "!!notbase64"}}]
contexts: [{name: c, context: {cluster: k}}]
)",
                                "");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
}

TEST(KubeConfig, CertificateWithoutKeyIsRejected) {
  auto config = parseKubeConfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://h"}}]
users: [{name: u, user: {client-certificate-data: )" +
                                    base64Encode(kCertPem) + R"(}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                                "");
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("without a key"), std::string::npos);
}

TEST(KubeConfig, MissingFileIsNotFound) {
  auto config = loadKubeConfigFile("/no/such/kubeconfig");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
}

TEST(ServerUrl, ParsesHostPortSchemeAndPrefix) {
  auto a = parseServerUrl("https://127.0.0.1:6443");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6443);
  EXPECT_EQ(a->path_prefix, "");

  auto b = parseServerUrl("http://localhost/k8s/");
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->path_prefix, "/k8s");

  auto c = parseServerUrl("https://[::1]:8443");
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 8443);
}

TEST(ServerUrl, RejectsMalformedUrls) {
  EXPECT_FALSE(parseServerUrl("127.0.0.1:6443").isOk());
  EXPECT_FALSE(parseServerUrl("ftp://h").isOk());
  EXPECT_FALSE(parseServerUrl("https://h:notaport").isOk());
  EXPECT_FALSE(parseServerUrl("https://h:70000").isOk());
  EXPECT_FALSE(parseServerUrl("https://:443").isOk());
}

// setenv/unsetenv scoped to one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    had_old_ = old != nullptr;
    if (value == nullptr) {
      unsetenv(name);
    } else {
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (had_old_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_old_ = false;
};

TEST(InClusterConfig, ReadsServiceAccountDirectory) {
  TempDir dir;
  dir.write("token", "abc\n");
  dir.write("ca.crt", kCaPem);
  dir.write("namespace", "team-a\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  auto config = loadInClusterConfig(dir.path());
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->token, "abc");
  EXPECT_EQ(config->token_file, dir.path() + "/token");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->default_namespace, "team-a");
}

TEST(InClusterConfig, DirectoryComesFromEnvWhenNotGiven) {
  TempDir dir;
  dir.write("token", "xyz");
  dir.write("ca.crt", kCaPem);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  ScopedEnv sa("SK_SERVICEACCOUNT_DIR", dir.path().c_str());
  auto config = loadInClusterConfig();
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->server, "https://[::1]:443");
  EXPECT_EQ(config->token, "xyz");
  EXPECT_EQ(config->default_namespace, "default");
}

TEST(InClusterConfig, OutsideAClusterIsFailedPrecondition) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  auto config = loadInClusterConfig("/tmp");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kFailedPrecondition);
}

TEST(TokenSource, RereadsTheFileAfterTheRefreshInterval) {
  TempDir dir;
  const std::string file = dir.write("token", "first\n");
  FakeClock clock;
  TokenSource tokens("", file, clock, std::chrono::seconds(60));
  EXPECT_EQ(tokens.token(), "first");
  dir.write("token", "second");
  clock.advance(std::chrono::seconds(59));
  EXPECT_EQ(tokens.token(), "first");  // still cached
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(tokens.token(), "second");
}

TEST(TokenSource, InvalidateForcesARereadAndAMissingFileKeepsTheLastToken) {
  TempDir dir;
  const std::string file = dir.write("token", "one");
  FakeClock clock;
  TokenSource tokens("static", file, clock);
  EXPECT_EQ(tokens.token(), "one");
  dir.write("token", "two");
  tokens.invalidate();
  EXPECT_EQ(tokens.token(), "two");
  std::filesystem::remove(file);
  tokens.invalidate();
  EXPECT_EQ(tokens.token(), "two");
}

TEST(TokenSource, StaticTokenWithoutFile) {
  FakeClock clock;
  TokenSource tokens("fixed", "", clock);
  EXPECT_EQ(tokens.token(), "fixed");
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string text : {"", "a", "ab", "abc", "abcd", "hello world\n"}) {
    std::string decoded;
    ASSERT_TRUE(base64Decode(base64Encode(text), &decoded)) << text;
    EXPECT_EQ(decoded, text);
  }
  std::string out;
  EXPECT_TRUE(base64Decode("aGVs\nbG8=", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(base64Decode("aGVsbG8", &out));  // missing padding
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(base64Decode("a$b=", &out));
  EXPECT_FALSE(base64Decode("aGVs=bG8", &out));
  EXPECT_FALSE(base64Decode("a", &out));
}

}  // namespace
}  // namespace slotkeeper::kube
