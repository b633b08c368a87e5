// Unit tests of the node agent's resource handling: pod addresses, probes' threshold
// bookkeeping, environment and volume resolution against a fake API, and the Node/PV
// builders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "env.h"
#include "ip_allocator.h"
#include "kube/base64.h"
#include "node_registration.h"
#include "probes.h"
#include "pv_provisioner.h"
#include "volumes.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// An in-memory API: objects by "namespace/name", tokens numbered.
class FakePodApi final : public PodApi {
 public:
  std::map<std::string, json> config_maps, secrets, claims, volumes;
  int tokens_issued = 0;
  std::string last_audience;

  Result<json> getConfigMap(const std::string& ns, const std::string& name) override {
    return find(config_maps, ns + "/" + name);
  }
  Result<json> getSecret(const std::string& ns, const std::string& name) override {
    return find(secrets, ns + "/" + name);
  }
  Result<json> getPersistentVolumeClaim(const std::string& ns, const std::string& name) override {
    return find(claims, ns + "/" + name);
  }
  Result<json> getPersistentVolume(const std::string& name) override { return find(volumes, name); }
  Result<TokenGrant> requestToken(const std::string& ns, const std::string& sa,
                                  const std::string& audience, int64_t expiration,
                                  const std::string&, const std::string&) override {
    last_audience = audience;
    ++tokens_issued;
    return TokenGrant{"token-" + std::to_string(tokens_issued) + "-" + ns + "-" + sa,
                      std::chrono::system_clock::now() + std::chrono::seconds(expiration)};
  }
  Status patchPodStatus(const std::string&, const std::string&, const std::string&,
                        const json&) override {
    return Status::ok();
  }
  Status deletePod(const std::string&, const std::string&, const std::string&) override {
    return Status::ok();
  }

 private:
  static Result<json> find(const std::map<std::string, json>& in, const std::string& key) {
    auto it = in.find(key);
    if (it == in.end()) return notFound(key + " not found");
    return it->second;
  }
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sk-agent-unit-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PodIpAllocator, HandsOutFreshLoopbackAddressesOnce) {
  auto cidr = parseLoopbackCidr("127.20.0.250/23");
  ASSERT_TRUE(cidr.isOk());
  EXPECT_EQ(formatIpv4(cidr->base), "127.20.0.0");
  EXPECT_FALSE(parseLoopbackCidr("10.0.0.0/16").isOk());
  EXPECT_FALSE(parseLoopbackCidr("127.20.0.0").isOk());

  TempDir dir;
  const std::string state = dir.path() + "/cursor";
  const uint32_t busy = *parseIpv4("127.20.0.2");
  {
    PodIpAllocator ips(*cidr, state, [busy](uint32_t a) { return a == busy; });
    EXPECT_EQ(*ips.allocate(), "127.20.0.1");  // .0 skipped
    EXPECT_EQ(*ips.allocate(), "127.20.0.3");  // .2 has a socket
    ips.reserve("127.20.0.254");
    EXPECT_EQ(*ips.allocate(), "127.20.1.1");  // .255 and .0 skipped
  }
  // A restarted agent continues after the last address; a different range starts over.
  PodIpAllocator again(*cidr, state, nullptr);
  EXPECT_EQ(*again.allocate(), "127.20.1.2");
  PodIpAllocator other(*parseLoopbackCidr("127.21.0.0/30"), state, nullptr);
  EXPECT_EQ(*other.allocate(), "127.21.0.1");
  EXPECT_EQ(*other.allocate(), "127.21.0.2");
  EXPECT_EQ(*other.allocate(), "127.21.0.3");
  EXPECT_EQ(other.allocate().status().code(), StatusCode::kFailedPrecondition);
}

TEST(ProbeTracker, HonoursDelayPeriodAndThresholds) {
  json container = {{"ports", json::array({{{"name", "redis"}, {"containerPort", 6379}}})},
                    {"readinessProbe",
                     {{"tcpSocket", {{"port", "redis"}}},
                      {"initialDelaySeconds", 5},
                      {"periodSeconds", 2},
                      {"successThreshold", 2},
                      {"failureThreshold", 2}}}};
  auto spec = parseProbe(ProbeKind::kReadiness, container);
  ASSERT_TRUE(spec.isOk());
  ASSERT_TRUE(spec->has_value());
  EXPECT_EQ((*spec)->port, 6379);
  EXPECT_FALSE(*parseProbe(ProbeKind::kLiveness, container));

  const Clock::TimePoint t0{};
  ProbeTracker tracker(**spec, t0);
  EXPECT_FALSE(tracker.due(t0 + std::chrono::seconds(4)));
  EXPECT_TRUE(tracker.due(t0 + std::chrono::seconds(5)));
  EXPECT_FALSE(tracker.succeeded());  // readiness starts failed
  tracker.record(true, t0 + std::chrono::seconds(5));
  EXPECT_FALSE(tracker.succeeded());  // needs 2 successes
  EXPECT_FALSE(tracker.due(t0 + std::chrono::seconds(6)));
  tracker.record(true, t0 + std::chrono::seconds(7));
  EXPECT_TRUE(tracker.succeeded());
  tracker.record(false, t0 + std::chrono::seconds(9));
  EXPECT_TRUE(tracker.succeeded());  // one failure is below the threshold
  tracker.record(false, t0 + std::chrono::seconds(11));
  EXPECT_FALSE(tracker.succeeded());
  EXPECT_TRUE(tracker.failing());

  json live = {{"livenessProbe", {{"exec", {{"command", {"true"}}}}}}};
  ProbeTracker liveness(**parseProbe(ProbeKind::kLiveness, live), t0);
  EXPECT_TRUE(liveness.succeeded());  // liveness starts succeeded
  EXPECT_EQ(liveness.spec().failure_threshold, 3);
  EXPECT_EQ(liveness.spec().period, std::chrono::seconds(10));
}

TEST(Env, ResolvesValueFromSourcesAndExpands) {
  FakePodApi api;
  api.secrets["ns/creds"] = {{"data", {{"password", kube::base64Encode("s3cret")}}}};
  api.config_maps["ns/app"] = {{"data", {{"mode", "fast"}, {"dir", "/data/app"}}}};
  const json pod = {
      {"metadata", {{"name", "p-0"}, {"namespace", "ns"}, {"labels", {{"app", "kv"}}}}},
      {"spec", {{"nodeName", "n-1"}}}};
  const json container = {
      {"resources", {{"limits", {{"memory", "256Mi"}}}}},
      {"envFrom", json::array({{{"configMapRef", {{"name", "app"}}}, {"prefix", "CFG_"}}})},
      {"env",
       json::array({
           {{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
           {{"name", "NODE"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}},
           {{"name", "APP"},
            {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['app']"}}}}}},
           {{"name", "PASS"},
            {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "password"}}}}}},
           {{"name", "DIR"},
            {"valueFrom", {{"configMapKeyRef", {{"name", "app"}, {"key", "dir"}}}}}},
           {{"name", "MEM_MI"},
            {"valueFrom",
             {{"resourceFieldRef", {{"resource", "limits.memory"}, {"divisor", "1Mi"}}}}}},
           {{"name", "ANNOUNCE"}, {"value", "$(POD_IP):6379 $(NOPE)"}},
           {{"name", "OPT"},
            {"valueFrom",
             {{"secretKeyRef", {{"name", "missing"}, {"key", "k"}, {"optional", true}}}}}},
       })}};
  PodFacts facts;
  facts.pod_ip = "127.20.0.4";
  EnvList base;
  base.set("PATH", "/bin");
  auto env = resolveContainerEnv(pod, container, facts, base,
                                 PathRewriter(std::vector<PathMapping>{{"/data", "/pv"}}), api);
  ASSERT_TRUE(env.isOk()) << env.status().toString();
  const auto& vars = env->asMap();
  EXPECT_EQ(vars.at("PATH"), "/bin");
  EXPECT_EQ(vars.at("CFG_mode"), "fast");
  EXPECT_EQ(vars.at("POD_IP"), "127.20.0.4");
  EXPECT_EQ(vars.at("NODE"), "n-1");
  EXPECT_EQ(vars.at("APP"), "kv");
  EXPECT_EQ(vars.at("PASS"), "s3cret");
  EXPECT_EQ(vars.at("DIR"), "/pv/app");  // ConfigMap values may name mounts
  EXPECT_EQ(vars.at("MEM_MI"), "256");
  EXPECT_EQ(vars.at("ANNOUNCE"), "127.20.0.4:6379 $(NOPE)");
  EXPECT_EQ(vars.count("OPT"), 0u);

  const json broken = {
      {"env",
       json::array({{{"name", "X"},
                     {"valueFrom", {{"secretKeyRef", {{"name", "missing"}, {"key", "k"}}}}}}})}};
  auto missing = resolveContainerEnv(pod, broken, facts, base, PathRewriter(), api);
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
}

TEST(Volumes, MaterializesVolumesAndRewritesConfigFiles) {
  TempDir dir;
  FakePodApi api;
  api.config_maps["ns/redis-conf"] = {
      {"data", {{"redis.conf", "dir /data\ncluster-config-file /data/nodes.conf\n"}}}};
  api.config_maps["ns/kube-root-ca.crt"] = {
      {"data", {{"ca.crt", "-----BEGIN CERTIFICATE-----\n/data\n-----END CERTIFICATE-----\n"}}}};
  api.secrets["ns/pw"] = {{"data", {{"password", kube::base64Encode("/data")}}}};
  api.claims["ns/data-kv-0"] = {{"spec", {{"volumeName", "pv-1"}}},
                                {"status", {{"phase", "Bound"}}}};
  api.volumes["pv-1"] = {{"spec", {{"hostPath", {{"path", dir.path() + "/pv-1"}}}}}};
  const json pod = {
      {"metadata", {{"name", "kv-0"}, {"namespace", "ns"}, {"uid", "u1"}}},
      {"spec",
       {{"serviceAccountName", "sa"},
        {"containers", json::array({{{"name", "redis"},
                                     {"volumeMounts",
                                      json::array({{{"name", "data"}, {"mountPath", "/data"}},
                                                   {{"name", "conf"},
                                                    {"mountPath", "/etc/redis/redis.conf"},
                                                    {"subPath", "redis.conf"}},
                                                   {{"name", "pw"}, {"mountPath", "/etc/pw"}},
                                                   {{"name", "sa"},
                                                    {"mountPath", kServiceAccountMountPath}}})}}})},
        {"volumes",
         json::array(
             {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "data-kv-0"}}}},
              {{"name", "conf"}, {"configMap", {{"name", "redis-conf"}}}},
              {{"name", "pw"}, {"secret", {{"secretName", "pw"}, {"defaultMode", 0400}}}},
              {{"name", "sa"},
               {"projected",
                {{"sources",
                  json::array(
                      {{{"serviceAccountToken",
                         {{"path", "token"}, {"audience", "vault"}, {"expirationSeconds", 3600}}}},
                       {{"configMap",
                         {{"name", "kube-root-ca.crt"},
                          {"items", json::array({{{"key", "ca.crt"}, {"path", "ca.crt"}}})}}}},
                       {{"downwardAPI",
                         {{"items",
                           json::array({{{"path", "namespace"},
                                         {"fieldRef",
                                          {{"fieldPath", "metadata.namespace"}}}}})}}}}})}}}}})}}}};
  const std::string pod_dir = dir.path() + "/pod";
  PodVolumes volumes(pod_dir, dir.path());
  ASSERT_TRUE(volumes.prepare(pod, PodFacts{}, api).isOk());

  const std::string pv = dir.path() + "/pv-1";
  EXPECT_EQ(readFile(pod_dir + "/volumes/conf/redis.conf"),
            "dir " + pv + "\ncluster-config-file " + pv + "/nodes.conf\n");
  EXPECT_EQ(readFile(pod_dir + "/volumes/pw/password"), "/data");  // secrets are data
  EXPECT_EQ(fs::status(pod_dir + "/volumes/pw/password").permissions(), fs::perms::owner_read);
  const std::string sa = pod_dir + "/volumes/sa";
  EXPECT_EQ(readFile(sa + "/token"), "token-1-ns-sa");
  EXPECT_EQ(api.last_audience, "vault");
  EXPECT_EQ(readFile(sa + "/namespace"), "ns");
  EXPECT_NE(readFile(sa + "/ca.crt").find("\n/data\n"), std::string::npos);  // PEM untouched

  const PathRewriter paths = volumes.rewriterFor(pod["spec"]["containers"][0]);
  EXPECT_EQ(paths.rewrite("redis-server /etc/redis/redis.conf --dir /data"),
            "redis-server " + pod_dir + "/volumes/conf/redis.conf --dir " + pv);
  EXPECT_EQ(volumes.serviceAccountDir(pod["spec"]["containers"][0]), sa);

  // Not yet due: no new token; due: a fresh one replaces the file.
  ASSERT_TRUE(volumes.refreshTokens(pod, api, std::chrono::system_clock::now()).isOk());
  EXPECT_EQ(api.tokens_issued, 1);
  ASSERT_TRUE(
      volumes.refreshTokens(pod, api, std::chrono::system_clock::now() + std::chrono::seconds(2900))
          .isOk());
  EXPECT_EQ(readFile(sa + "/token"), "token-2-ns-sa");

  volumes.removeContents();
  EXPECT_FALSE(fs::exists(pod_dir + "/volumes"));
  EXPECT_TRUE(fs::exists(pv));  // the PV's directory is the disk: it stays
}

TEST(Volumes, UnboundClaimIsReportedAndRetried) {
  TempDir dir;
  FakePodApi api;
  api.claims["ns/c"] = {{"spec", json::object()}, {"status", {{"phase", "Pending"}}}};
  const json pod = {
      {"metadata", {{"name", "p"}, {"namespace", "ns"}}},
      {"spec",
       {{"volumes",
         json::array({{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", "c"}}}}})}}}};
  PodVolumes volumes(dir.path() + "/pod", dir.path());
  Status status = volumes.prepare(pod, PodFacts{}, api);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("not bound"), std::string::npos);
}

TEST(Builders, NodeLeaseTaintsAndVolumes) {
  auto nodes = makeNodeSpecs(4, "n", "zone-", "127.0.0.1", "4", "8Gi", 110);
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[3].name, "n-3");
  EXPECT_EQ(nodes[3].zone, "zone-a");
  const json node = buildNode(nodes[1]);
  EXPECT_EQ(node["metadata"]["labels"]["kubernetes.io/hostname"], "n-1");
  EXPECT_EQ(node["metadata"]["labels"]["topology.kubernetes.io/zone"], "zone-b");
  const auto now = std::chrono::system_clock::now();
  const json status = buildNodeStatus(nodes[0], true, "KubeletReady", "ok", now, now);
  EXPECT_EQ(status["allocatable"]["pods"], "110");
  EXPECT_EQ(status["conditions"][0]["type"], "Ready");
  EXPECT_EQ(status["conditions"][0]["status"], "True");
  EXPECT_EQ(buildNodeLease(nodes[0], "uid", std::chrono::seconds(40),
                           now)["spec"]["leaseDurationSeconds"],
            40);

  const json tainted = {
      {"spec",
       {{"taints", json::array({{{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoSchedule"}},
                                {{"key", "dedicated"}, {"effect", "NoSchedule"}}})}}}};
  auto kept = taintsWithoutNotReady(tainted);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0]["key"], "dedicated");
  EXPECT_FALSE(taintsWithoutNotReady(json{{"spec", json::object()}}).has_value());

  const json pvc = {
      {"metadata", {{"name", "data-kv-0"}, {"namespace", "ns"}, {"uid", "abc"}}},
      {"spec",
       {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "2Gi"}}}}}}}};
  const json pv = buildPersistentVolume(pvc, "/state/volumes/pvc-abc");
  EXPECT_EQ(pv["metadata"]["name"], "pvc-abc");
  EXPECT_EQ(pv["spec"]["capacity"]["storage"], "2Gi");
  EXPECT_EQ(pv["spec"]["storageClassName"], "");
  EXPECT_EQ(pv["spec"]["claimRef"]["uid"], "abc");
  EXPECT_EQ(pv["spec"]["hostPath"]["path"], "/state/volumes/pvc-abc");
}

}  // namespace
}  // namespace slotkeeper::agent
