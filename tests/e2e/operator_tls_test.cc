// spec.tls end to end: a cluster that speaks only TLS (clients, cluster bus, replication) is
// created, scaled out and given replicas under a go-redis load over TLS, and takes a renewed
// certificate from its Secret without a pod restart; and TLS is added to a running plaintext
// cluster and removed again under load. Every read of the nodes here goes over TLS
// and verifies the certificate against the Secret's CA.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "e2e/support/control_plane.h"
#include "e2e/support/operator_env.h"
#include "redis/hiredis_client.h"
#include "redis/reader_client.h"
#include "redis/transport.h"

namespace slotkeeper::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCluster = "tls";
constexpr const char* kSecret = "tls-certs";
constexpr const char* kDefaultPassword = "default-pw";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A CA, made once, and certificates it signs for every pod of the cluster by the wildcard DNS
// name under the headless Service (with and without the cluster domain), usable by the nodes as
// servers and as clients of each other.
class CertificateAuthority {
 public:
  CertificateAuthority(std::string dir, std::string ns) : dir_(std::move(dir)), ns_(std::move(ns)) {
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
        "-subj /CN=slotkeeper-e2e-ca");
  }

  // Signs a new key pair as `name`.crt / `name`.key.
  void issue(const std::string& name) {
    const std::string service = std::string(kCluster) + "-headless." + ns_ + ".svc";
    run("printf 'subjectAltName=DNS:*." + service + ",DNS:*." + service +
        ".cluster.local\\nextendedKeyUsage=serverAuth,clientAuth\\n' > " + name + ".ext" +
        " && openssl req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
        ".csr -subj /CN=" + name + " && openssl x509 -req -in " + name +
        ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".crt -extfile " +
        name + ".ext");
  }

  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string pem(const std::string& name) const { return readFile(file(name)); }
  // A name every pod's certificate matches (the wildcard), for clients that dial by IP.
  std::string serverName() const {
    return std::string("any.") + kCluster + "-headless." + ns_ + ".svc.cluster.local";
  }
  const std::string& error() const { return error_; }

 private:
  void run(const std::string& command) {
    CommandResult r = runShell("cd " + dir_ + " && (" + command + ") 2>&1");
    if (r.exit_code != 0 && error_.empty()) error_ = command + ": " + r.output;
  }

  std::string dir_;
  std::string ns_;
  std::string error_;
};

// Applies a Secret's YAML. A loaded API server may refuse a request now and then; each refusal is
// printed, and three in a row fail the test.
Status applySecret(OperatorEnv& env, const std::string& yaml, const std::string& name) {
  CommandResult applied = withRetries("applying Secret " + name, [&] { return env.apply(yaml); });
  if (applied.exit_code != 0) return internalError(applied.output);
  return Status::ok();
}

// The Secret as cert-manager writes it, created or replaced.
Status writeSecret(OperatorEnv& env, const CertificateAuthority& ca, const std::string& name) {
  CommandResult yaml =
      env.kubectl("create secret generic " + std::string(kSecret) + " --from-file=tls.crt=" +
                  ca.file(name + ".crt") + " --from-file=tls.key=" + ca.file(name + ".key") +
                  " --from-file=ca.crt=" + ca.file("ca.crt") + " --dry-run=client -o yaml");
  if (yaml.exit_code != 0) return internalError(yaml.output);
  return applySecret(env, yaml.output, kSecret);
}

// The TLS Secret with a first certificate, and the password Secret tls-auth.
Status writeSecrets(OperatorEnv& env, CertificateAuthority& ca) {
  ca.issue("v1");
  if (!ca.error().empty()) return internalError(ca.error());
  RETURN_IF_ERROR(writeSecret(env, ca, "v1"));
  CommandResult created =
      env.kubectl("create secret generic tls-auth --from-literal=password=default-pw");
  if (created.exit_code != 0) return internalError(created.output);
  return Status::ok();
}

redis::ConnectOptions tlsOptions(const CertificateAuthority& ca) {
  redis::ConnectOptions o;
  o.connect_timeout = 2000ms;
  o.command_timeout = 5000ms;
  o.tls.enabled = true;
  o.tls.ca_pem = ca.pem("ca.crt");
  o.tls.server_name = ca.serverName();
  o.password = kDefaultPassword;
  return o;
}

struct Shape {
  std::map<std::string, int> slots_by_master;  // master address -> slots
  std::map<std::string, int> replicas;         // master id -> replicas
  std::map<std::string, std::string> id_of;    // address -> id
  int open_slots = 0;
  std::string error;
};

Shape readShape(OperatorEnv& env, const CertificateAuthority& ca) {
  Shape shape;
  auto ips = env.podIps(kCluster);
  if (ips.empty()) {
    shape.error = "no pods";
    return shape;
  }
  auto client = redis::ReaderNodeClient::connect(ips.begin()->second + ":6379", tlsOptions(ca));
  if (!client.isOk()) {
    shape.error = client.status().toString();
    return shape;
  }
  auto nodes = (*client)->clusterNodes();
  if (!nodes.isOk()) {
    shape.error = nodes.status().toString();
    return shape;
  }
  for (const auto& n : *nodes) {
    if (n.fail || n.handshake) continue;
    int count = 0;
    for (const auto& r : n.slots) count += r.size();
    if (n.master && count > 0) shape.slots_by_master[n.address()] = count;
    if (n.master) shape.id_of[n.address()] = n.id;
    if (n.replica) ++shape.replicas[n.master_id];
    shape.open_slots += static_cast<int>(n.open_slots.size());
  }
  return shape;
}

void expectShape(OperatorEnv& env, const CertificateAuthority& ca, int masters, int replicas) {
  Shape shape = readShape(env, ca);
  ASSERT_EQ(shape.error, "");
  ASSERT_EQ(static_cast<int>(shape.slots_by_master.size()), masters);
  int total = 0;
  for (const auto& [address, slots] : shape.slots_by_master) {
    total += slots;
    EXPECT_GE(slots, 16384 / masters) << address;
    EXPECT_LE(slots, 16384 / masters + 1) << address;
    EXPECT_EQ(shape.replicas[shape.id_of[address]], replicas) << address;
  }
  EXPECT_EQ(total, 16384);
  EXPECT_EQ(shape.open_slots, 0);
}

// Pod name -> SHA-256 of the certificate it serves now ("" when it cannot be reached).
std::map<std::string, std::string> servedCertificates(OperatorEnv& env,
                                                      const CertificateAuthority& ca) {
  std::map<std::string, std::string> out;
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    auto client = redis::ReaderNodeClient::connect(ip + ":6379", tlsOptions(ca));
    out[pod] = client.isOk() ? (*client)->servedCertificateSha256() : "";
  }
  return out;
}

// redis-cli over TLS as ACL user `user`, following redirects; stdout and stderr.
std::string cliAs(const CertificateAuthority& ca, const std::string& seed, const std::string& user,
                  const std::string& password, const std::string& command) {
  const auto colon = seed.find(':');
  return runShell("REDISCLI_AUTH='" + password + "' timeout 10 redis-cli --tls --cacert " +
                  ca.file("ca.crt") + " -c -h " + seed.substr(0, colon) + " -p " +
                  seed.substr(colon + 1) + " --user " + user + " " + command + " 2>&1")
      .output;
}

Status writeUserSecret(OperatorEnv& env, const std::string& password) {
  CommandResult yaml =
      env.kubectl("create secret generic app-pw --from-literal=password=" + password +
                  " --dry-run=client -o yaml");
  if (yaml.exit_code != 0) return internalError(yaml.output);
  return applySecret(env, yaml.output, "app-pw");
}

// Pod name -> "uid/restartCount".
std::map<std::string, std::string> podIncarnations(OperatorEnv& env) {
  std::map<std::string, std::string> out;
  auto pods = env.getJson(std::string("pods -l redis.slotkeeper.io/cluster=") + kCluster);
  if (!pods.isOk()) return out;
  for (const auto& p : (*pods)["items"]) {
    int restarts = 0;
    for (const auto& c : p["status"].value("containerStatuses", nlohmann::json::array())) {
      restarts += c.value("restartCount", 0);
    }
    out[p["metadata"].value("name", "")] =
        p["metadata"].value("uid", "") + "/" + std::to_string(restarts);
  }
  return out;
}

TEST(OperatorTls, ServesOnlyTlsScalesUnderTlsLoadAndReloadsARenewedCertificateWithoutRestarts) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  CertificateAuthority ca(env.workDir(), env.ns());
  const Status secrets = writeSecrets(env, ca);
  ASSERT_TRUE(secrets.isOk()) << secrets.toString();

  ASSERT_EQ(env.apply("apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\n"
                      "metadata:\n  name: tls\nspec:\n  masters: 3\n  replicasPerMaster: 0\n"
                      "  passwordSecret:\n    name: tls-auth\n"
                      "  tls:\n    secretName: tls-certs\n")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady(kCluster); }, 240s))
      << env.kubectl("get rediscluster tls -o yaml").output << env.operatorLog();
  expectShape(env, ca, 3, 0);

  // Plaintext gets no answer from any pod: there is no plain port.
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    redis::ConnectOptions plain;
    plain.connect_timeout = 1000ms;
    plain.command_timeout = 1000ms;
    auto client = redis::HiredisNodeClient::connect(ip + ":6379", plain);
    EXPECT_FALSE(client.isOk() && (*client)->ping().isOk()) << pod << " answered plaintext";
  }
  // A client trusting another CA is refused by the operator's own TLS client, saying why.
  {
    (void)runShell("mkdir -p " + env.workDir() + "/other");
    CertificateAuthority stranger(env.workDir() + "/other", env.ns());
    redis::ConnectOptions o = tlsOptions(ca);
    o.tls.ca_pem = stranger.pem("ca.crt");
    auto refused =
        redis::ReaderNodeClient::connect(env.podIps(kCluster).begin()->second + ":6379", o);
    ASSERT_FALSE(refused.isOk());
    EXPECT_NE(refused.status().message().find("certificate is not accepted"), std::string::npos)
        << refused.status().message();
  }

  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps(kCluster)) seeds.push_back(ip + ":6379");

  // The operator's own user: on every node, with the password it generated into its Secret, and
  // without the keyspace-wide data commands.
  CommandResult operator_pw =
      env.kubectl("get secret tls-operator-user -o jsonpath='{.data.password}' | base64 -d");
  ASSERT_EQ(operator_pw.exit_code, 0) << operator_pw.output;
  ASSERT_EQ(operator_pw.output.size(), 64u) << operator_pw.output;
  std::string answers;
  EXPECT_TRUE(env.waitFor(
      [&] {
        answers = "";
        for (const auto& seed : seeds) {
          answers += cliAs(ca, seed, "slotkeeper-operator", operator_pw.output, "PING");
        }
        return answers == "PONG\nPONG\nPONG\n";
      },
      60s))
      << answers;
  EXPECT_NE(
      cliAs(ca, seeds[0], "slotkeeper-operator", operator_pw.output, "FLUSHALL").find("NOPERM"),
      std::string::npos);
  EXPECT_NE(cliAs(ca, seeds[0], "slotkeeper-operator", operator_pw.output, "CLUSTER INFO")
                .find("cluster_state:ok"),
            std::string::npos);

  // An application user limited to its key pattern, added to the running cluster.
  ASSERT_TRUE(writeUserSecret(env, "first-pw").isOk());
  ASSERT_EQ(
      env.kubectl(
             "patch rediscluster tls --type merge -p '{\"spec\":{\"users\":[{"
             "\"name\":\"app\",\"passwordSecret\":{\"name\":\"app-pw\",\"rotationGraceSeconds\":5},"
             "\"rules\":\"~app:* +@all -@dangerous\"}]}}'")
          .exit_code,
      0);
  std::string reply;
  EXPECT_TRUE(env.waitFor(
      [&] {
        reply = "";
        for (const auto& seed : seeds) reply += cliAs(ca, seed, "app", "first-pw", "PING");
        return reply == "PONG\nPONG\nPONG\n";
      },
      60s))
      << reply << env.operatorLog();
  EXPECT_EQ(cliAs(ca, seeds[0], "app", "first-pw", "SET app:1 v"), "OK\n");
  EXPECT_NE(cliAs(ca, seeds[0], "app", "first-pw", "SET other:1 v").find("NOPERM"),
            std::string::npos)
      << "a key outside the user's pattern is refused";
  EXPECT_NE(cliAs(ca, seeds[0], "app", "first-pw", "FLUSHALL").find("NOPERM"), std::string::npos);
  // Its password changed in the Secret: added next to the old one on every node, and once every
  // node took it and the 5 s grace period passed, the old one works nowhere.
  ASSERT_TRUE(writeUserSecret(env, "second-pw").isOk());
  EXPECT_TRUE(env.waitFor(
      [&] {
        reply = "";
        bool switched = true;
        for (const auto& seed : seeds) {
          const std::string with_new = cliAs(ca, seed, "app", "second-pw", "PING");
          const std::string with_old = cliAs(ca, seed, "app", "first-pw", "PING");
          reply += seed + ": " + with_new + " / " + with_old + "\n";
          switched =
              switched && with_new == "PONG\n" && with_old.find("WRONGPASS") != std::string::npos;
        }
        return switched;
      },
      90s))
      << reply << env.operatorLog();
  EXPECT_EQ(cliAs(ca, seeds[1], "app", "second-pw", "GET app:1"), "v\n");
  const std::string events = env.kubectl("get events -o custom-columns=R:.reason").output;
  EXPECT_NE(events.find("RotatingUserPassword"), std::string::npos) << events;
  EXPECT_NE(events.find("UserPasswordRotated"), std::string::npos) << events;

  LoadGenerator load;
  ASSERT_TRUE(load.start(seeds, env.workDir(),
                         {"--tls-ca", ca.file("ca.crt"), "--tls-server-name", ca.serverName(),
                          "--password", "default-pw"})
                  .isOk());
  Status flowing = load.waitForWrites(1000, 60s);
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();

  ASSERT_EQ(env.kubectl("scale rediscluster/tls --replicas=4").exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady(kCluster); }, 240s)) << env.operatorLog();
  expectShape(env, ca, 4, 0);
  ASSERT_EQ(env.kubectl("patch rediscluster tls --type merge -p "
                        "'{\"spec\":{\"replicasPerMaster\":1}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady(kCluster); }, 240s)) << env.operatorLog();
  expectShape(env, ca, 4, 1);

  // Renewal: a new key pair from the same CA replaces the Secret's. The node agent refreshes the
  // mounted files as the kubelet does; the operator tells each node to read them again.
  const auto before = podIncarnations(env);
  ca.issue("v2");
  ASSERT_EQ(ca.error(), "");
  auto renewed = redis::pemCertificateSha256(ca.pem("v2.crt"));
  ASSERT_TRUE(renewed.isOk());
  const Status rewritten = writeSecret(env, ca, "v2");
  ASSERT_TRUE(rewritten.isOk()) << rewritten.toString();
  std::map<std::string, std::string> served;
  const bool all_renewed = env.waitFor(
      [&] {
        served = servedCertificates(env, ca);
        for (const auto& [pod, sha] : served) {
          if (sha != *renewed) return false;
        }
        return served.size() == 8;
      },
      120s);
  std::string table;
  for (const auto& [pod, sha] : served) table += pod + " " + sha.substr(0, 12) + "\n";
  EXPECT_TRUE(all_renewed) << table << env.operatorLog();
  EXPECT_EQ(podIncarnations(env), before) << "no pod was restarted or replaced";
  EXPECT_NE(env.operatorLog().find("certificate reload"), std::string::npos);

  auto summary = load.finish();
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::printf("load generator over TLS: %s\n", summary->dump().c_str());
  EXPECT_EQ(loadProblems(*summary, 1000), "");

  CommandResult check = runShell("REDISCLI_AUTH=default-pw redis-cli --tls --cacert " +
                                 ca.file("ca.crt") + " --cluster check " + seeds[0]);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output.find("[ERR]"), std::string::npos) << check.output;
}

// Pod name -> its template's TLS stage ("off" without one), for the pods that are Ready.
std::map<std::string, std::string> readyPodStages(OperatorEnv& env) {
  std::map<std::string, std::string> out;
  auto pods = env.getJson(std::string("pods -l redis.slotkeeper.io/cluster=") + kCluster);
  if (!pods.isOk()) return out;
  for (const auto& p : (*pods)["items"]) {
    bool ready = false;
    for (const auto& c : p["status"].value("conditions", nlohmann::json::array())) {
      ready = ready || (c.value("type", "") == "Ready" && c.value("status", "") == "True");
    }
    if (!ready || p["metadata"].contains("deletionTimestamp")) continue;
    out[p["metadata"].value("name", "")] = p["metadata"]
                                               .value("annotations", nlohmann::json::object())
                                               .value("redis.slotkeeper.io/tls", "off");
  }
  return out;
}

// Every one of `pods` pods is Ready in `stage` and the cluster is Ready.
bool settledIn(OperatorEnv& env, const std::string& stage, size_t pods) {
  const auto stages = readyPodStages(env);
  if (stages.size() != pods) return false;
  for (const auto& [pod, s] : stages) {
    if (s != stage) return false;
  }
  return env.clusterReady(kCluster);
}

redis::ConnectOptions plainOptions() {
  redis::ConnectOptions o;
  o.connect_timeout = 1000ms;
  o.command_timeout = 3000ms;
  o.password = kDefaultPassword;
  return o;
}

// Some pod's live cluster bus is `tls` ("yes"/"no"), read over plaintext on `port`.
bool someBusIs(OperatorEnv& env, int port, const std::string& tls) {
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    auto client =
        redis::HiredisNodeClient::connect(ip + ":" + std::to_string(port), plainOptions());
    if (!client.isOk()) continue;
    auto value = (*client)->configGet("tls-cluster");
    if (value.isOk() && *value == tls) return true;
  }
  return false;
}

// Every reachable pod lists every pod at the port serving TLS (`tls`) or plaintext by its
// stage, read over that protocol: clients of it are sent to the right ports, the pod's own
// entry included.
bool viewsAgree(OperatorEnv& env, const redis::ConnectOptions& options, bool tls) {
  std::map<std::string, int> port_of;  // by ip
  const auto ips = env.podIps(kCluster);
  for (const auto& [pod, stage] : readyPodStages(env)) {
    const bool second = tls ? stage == "adding" : stage == "removing";
    if (ips.count(pod)) port_of[ips.at(pod)] = second ? 6380 : 6379;
  }
  int read = 0;
  for (const auto& [ip, port] : port_of) {
    auto client = redis::ReaderNodeClient::connect(ip + ":" + std::to_string(port), options);
    auto nodes = client.isOk() ? (*client)->clusterNodes()
                               : Result<std::vector<redis::ClusterNodeEntry>>(client.status());
    if (!nodes.isOk()) continue;
    ++read;
    for (const auto& e : *nodes) {
      auto it = port_of.find(e.ip);
      if (it != port_of.end() && it->second != e.port) return false;
    }
  }
  return read > 0;
}

// The keys held by the masters, read with `options` at each pod's `port`.
int64_t keysOnMasters(OperatorEnv& env, const redis::ConnectOptions& options, int port) {
  int64_t keys = 0;
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    auto client = redis::ReaderNodeClient::connect(ip + ":" + std::to_string(port), options);
    if (!client.isOk()) return -1;
    auto role = (*client)->infoReplication();
    auto size = (*client)->dbSize();
    if (!role.isOk() || !size.isOk()) return -1;
    if (role->role == "master") keys += *size;
  }
  return keys;
}

// A pod in the dual "adding" stage that serves as a replica ("" when none).
std::string dualReplica(OperatorEnv& env, const CertificateAuthority& ca) {
  const auto ips = env.podIps(kCluster);
  for (const auto& [pod, stage] : readyPodStages(env)) {
    if (stage != "adding" || !ips.count(pod)) continue;
    auto client = redis::ReaderNodeClient::connect(ips.at(pod) + ":6380", tlsOptions(ca));
    auto role = client.isOk() ? (*client)->infoReplication()
                              : Result<redis::ReplicationInfo>(client.status());
    if (role.isOk() && role->role == "slave") return pod;
  }
  return "";
}

size_t countOf(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

std::vector<std::string> seedsAt(OperatorEnv& env, int port) {
  std::vector<std::string> seeds;
  for (const auto& [pod, ip] : env.podIps(kCluster))
    seeds.push_back(ip + ":" + std::to_string(port));
  return seeds;
}

// Runs a load in its own directory of the work dir.
Status startLoad(OperatorEnv& env, LoadGenerator& load, const std::string& name,
                 const std::vector<std::string>& seeds, std::vector<std::string> args) {
  const std::string dir = env.workDir() + "/" + name;
  (void)runShell("mkdir -p " + dir);
  args.insert(args.end(), {"--prefix", name, "--password", kDefaultPassword});
  RETURN_IF_ERROR(load.start(seeds, dir, args));
  return load.waitForWrites(500, 60s);
}

// TLS is added to a running plaintext cluster and removed again, each a rolling change under
// load: clients on the old protocol are served until every pod serves both and the bus has
// switched; clients on the new protocol, from then on, also while a dual pod's redis is killed
// after the switch. No key is lost on the way.
TEST(OperatorTls, TlsIsAddedToARunningClusterAndRemovedAgainWithoutLosingAKey) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  Status started = env.start(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  CertificateAuthority ca(env.workDir(), env.ns());
  const Status secrets = writeSecrets(env, ca);
  ASSERT_TRUE(secrets.isOk()) << secrets.toString();
  ASSERT_EQ(env.apply("apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\n"
                      "metadata:\n  name: tls\nspec:\n  masters: 3\n  replicasPerMaster: 1\n"
                      "  passwordSecret:\n    name: tls-auth\n")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return settledIn(env, "off", 6); }, 240s)) << env.operatorLog();
  const std::vector<std::string> tls_args = {"--tls-ca", ca.file("ca.crt"), "--tls-server-name",
                                             ca.serverName()};
  int64_t written = 0;  // distinct keys the finished loads verified
  auto finishLoad = [&](LoadGenerator& load, const char* what) {
    auto summary = load.finish();
    ASSERT_TRUE(summary.isOk()) << summary.status().toString();
    std::printf("%s: %s\n", what, summary->dump().c_str());
    EXPECT_EQ(loadProblems(*summary, 500), "") << what;
    written += summary->value("verify_keys", int64_t{0});
  };

  // Adding TLS: plaintext clients are served through the roll onto the dual stage and the bus
  // switch.
  LoadGenerator plain_before;
  Status flowing = startLoad(env, plain_before, "plain1", seedsAt(env, 6379), {});
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();
  ASSERT_EQ(env.kubectl("patch rediscluster tls --type merge -p "
                        "'{\"spec\":{\"tls\":{\"secretName\":\"tls-certs\"}}}'")
                .exit_code,
            0);
  // Once every pod serves both, the final roll is paused (the bus switch is not) to strike a
  // dual pod below. One shard rolls at a time: should the pause come a step late, two dual
  // replicas are still there.
  ASSERT_TRUE(env.waitFor([&] { return settledIn(env, "adding", 6); }, 300s))
      << env.kubectl("get pods -o wide").output << env.operatorLog();
  ASSERT_EQ(env.kubectl("patch rediscluster tls --type merge -p "
                        "'{\"spec\":{\"updateStrategy\":{\"paused\":true}}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return someBusIs(env, 6379, "yes"); }, 120s))
      << env.kubectl("get pods -o wide").output << env.operatorLog();
  finishLoad(plain_before, "plaintext load while TLS was added");
  ASSERT_TRUE(env.waitFor([&] { return viewsAgree(env, tlsOptions(ca), true); }, 60s))
      << env.operatorLog();
  // From the switch on, TLS clients are served: on 6380 of the dual pods, by the redirects.
  LoadGenerator tls_after;
  flowing = startLoad(env, tls_after, "tls2", seedsAt(env, 6380), tls_args);
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();
  // A dual replica whose redis dies comes back on the plaintext bus its command line gives: the
  // operator switches it again.
  const std::string victim = dualReplica(env, ca);
  ASSERT_NE(victim, "");
  const std::string switched_victim =
      "\"msg\":\"cluster bus switch\",\"node\":\"" + env.podIps(kCluster).at(victim) + ":6380\"";
  const size_t switches_before = countOf(env.operatorLog(), switched_victim);
  const std::string pid = env.redisPid(victim);
  ASSERT_NE(pid, "");
  (void)runShell("kill -KILL " + pid);
  EXPECT_TRUE(env.waitFor(
      [&] {
        return countOf(env.operatorLog(), switched_victim) > switches_before &&
               env.redisPid(victim) != pid && viewsAgree(env, tlsOptions(ca), true);
      },
      120s))
      << env.operatorLog();
  ASSERT_EQ(env.kubectl("patch rediscluster tls --type merge -p "
                        "'{\"spec\":{\"updateStrategy\":{\"paused\":false}}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return settledIn(env, "on", 6); }, 300s)) << env.operatorLog();
  finishLoad(tls_after, "TLS load while the pods rolled onto TLS only");
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    for (int port : {6379, 6380}) {
      auto client =
          redis::HiredisNodeClient::connect(ip + ":" + std::to_string(port), plainOptions());
      EXPECT_FALSE(client.isOk() && (*client)->ping().isOk()) << pod << ":" << port;
    }
  }
  expectShape(env, ca, 3, 1);
  EXPECT_EQ(keysOnMasters(env, tlsOptions(ca), 6379), written);
  const std::string events = env.kubectl("get events -o custom-columns=R:.reason").output;
  EXPECT_NE(events.find("ChangingTls"), std::string::npos) << events;
  EXPECT_NE(events.find("SwitchingClusterBus"), std::string::npos) << events;

  // Removing TLS: the same in reverse, with the Secret kept until no pod mounts it.
  LoadGenerator tls_before;
  flowing = startLoad(env, tls_before, "tls3", seedsAt(env, 6379), tls_args);
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();
  ASSERT_EQ(env.kubectl("patch rediscluster tls --type json -p "
                        "'[{\"op\":\"remove\",\"path\":\"/spec/tls\"}]'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor([&] { return someBusIs(env, 6380, "no"); }, 300s))
      << env.kubectl("get pods -o wide").output << env.operatorLog();
  finishLoad(tls_before, "TLS load while TLS was removed");
  ASSERT_TRUE(env.waitFor([&] { return viewsAgree(env, plainOptions(), false); }, 60s))
      << env.operatorLog();
  LoadGenerator plain_after;
  flowing = startLoad(env, plain_after, "plain4", seedsAt(env, 6380), {});
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();
  ASSERT_TRUE(env.waitFor([&] { return settledIn(env, "off", 6); }, 300s)) << env.operatorLog();
  finishLoad(plain_after, "plaintext load while the pods rolled onto plaintext only");
  redis::ConnectOptions tls_only = tlsOptions(ca);
  tls_only.connect_timeout = 1000ms;
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    EXPECT_FALSE(redis::ReaderNodeClient::connect(ip + ":6379", tls_only).isOk()) << pod;
  }
  EXPECT_EQ(keysOnMasters(env, plainOptions(), 6379), written);
  CommandResult check =
      runShell("REDISCLI_AUTH=default-pw redis-cli --cluster check " + seedsAt(env, 6379)[0]);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output.find("[ERR]"), std::string::npos) << check.output;
}

}  // namespace
}  // namespace slotkeeper::e2e
