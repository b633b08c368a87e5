// The Helm chart end to end: `helm install` on the local control plane, the operator running as
// the chart's Deployment pod with its own service-account token (so the API server enforces the
// chart's RBAC), a real Prometheus discovering that pod and evaluating the chart's alert rules,
// then `helm upgrade` and `helm uninstall`. Outcomes are read from the API server, the redis
// nodes, the operator's /metrics and Prometheus's alerts API.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "e2e/support/control_plane.h"
#include "e2e/support/operator_env.h"

namespace slotkeeper::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kRelease = "slotkeeper";
constexpr const char* kCluster = "guarded";
constexpr const char* kUnprotectedAlert = "RedisClusterMasterWithoutReplica";

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string helmBinary() {
  if (const char* helm = std::getenv("SLOTKEEPER_HELM")) return helm;
  CommandResult dir = runShell("bash " + repoRoot() + "/tests/k8s/build-tools.sh 2>/dev/null");
  return trimmed(dir.output) + "/helm";
}

int randomOctet() {
  static std::mt19937 rng(std::random_device{}());
  return std::uniform_int_distribution<int>(1, 250)(rng);
}

class HelmChart {
 public:
  HelmChart(OperatorEnv& env) : env_(env), helm_(helmBinary()), ns_(env.ns() + "-system") {}

  const std::string& ns() const { return ns_; }

  CommandResult helm(const std::string& args) {
    return runShell(helm_ + " --kubeconfig " + env_.kubeconfig() + " --namespace " + ns_ + " " +
                    args + " 2>&1");
  }
  CommandResult kubectl(const std::string& args) {
    return runShell("kubectl --kubeconfig " + env_.kubeconfig() + " --namespace " + ns_ + " " +
                    args + " 2>&1");
  }

  // The release's values for this environment: the agent's image, only the test namespace
  // watched (namespaced Roles), the rules as a ConfigMap, and alert delays short enough to test.
  std::string installArgs() const {
    return std::string(" --set image.repository=") + OperatorEnv::kChartImageRepository +
           " --set image.tag=" + OperatorEnv::kChartImageTag + " --set 'watchNamespaces={" +
           env_.ns() + "}' --set healthCheckIntervalSeconds=5" +
           // Pods of the node agent share the host's network: each serves on its own address.
           " --set 'metrics.host=$(POD_IP)'" +
           " --set alertRulesConfigMap.enabled=true --set grafanaDashboard.enabled=true" +
           " --set alerts.masterWithoutReplica.for=5s --set alerts.operatorDown.for=5s" +
           " --set alerts.nodeMemoryNearMax.for=5s --set-json "
           "alerts.nodeMemoryNearMax.threshold=0.5" +
           " --set alerts.replicationLinkDown.for=5s";
  }

  // The running operator pod (name, IP, args), or an empty object.
  json operatorPod() {
    CommandResult r = kubectl("get pods -l app.kubernetes.io/component=operator -o json");
    if (r.exit_code != 0) return json::object();
    json list = json::parse(r.output, nullptr, false);
    if (list.is_discarded()) return json::object();
    for (const auto& pod : list.value("items", json::array())) {
      if (pod["metadata"].contains("deletionTimestamp")) continue;
      if (pod.value("status", json::object()).value("phase", "") == "Running") return pod;
    }
    return json::object();
  }

  // The Lease holder's identity: the leading pod's name and a suffix.
  std::string leaseHolder() {
    return kubectl(std::string("get lease ") + kRelease + " -o jsonpath='{.spec.holderIdentity}'")
        .output;
  }

  // Running operator pods, name -> IP: what pod discovery would hand Prometheus.
  std::map<std::string, std::string> operatorPodIps() {
    std::map<std::string, std::string> out;
    json pod = operatorPod();
    if (!pod.empty()) out[pod["metadata"]["name"]] = pod["status"].value("podIP", "");
    return out;
  }

  // /metrics of the running operator pod; with `pod_name`, only of that pod ("" otherwise).
  std::string operatorMetrics(const std::string& pod_name = "") {
    json pod = operatorPod();
    if (pod.empty()) return "";
    if (!pod_name.empty() && pod["metadata"].value("name", "") != pod_name) return "";
    std::string ip = pod["status"].value("podIP", "");
    return runShell("curl -sf --max-time 3 http://" + ip + ":8080/metrics").output;
  }

  std::string operatorLog() {
    json pod = operatorPod();
    if (pod.empty()) return "(no operator pod)";
    return env_.podLog(ns_, pod["metadata"].value("name", ""), "operator");
  }

 private:
  OperatorEnv& env_;
  std::string helm_;
  std::string ns_;
};

// A Prometheus on a loopback address of its own that scrapes the operator pods and evaluates the
// chart's rules file. Debian's Prometheus is built without Kubernetes service discovery, so the
// test plays discovery: it lists the operator pods from the API server into a file_sd file, the
// way kubernetes_sd_configs would, and Prometheus picks up each change of that file.
class Prometheus {
 public:
  Status start(OperatorEnv& env, const std::string& rules) {
    address_ =
        "127.28." + std::to_string(randomOctet()) + "." + std::to_string(randomOctet()) + ":9090";
    dir_ = env.workDir() + "/prometheus";
    std::filesystem::create_directories(dir_ + "/data");
    std::ofstream(dir_ + "/rules.yaml") << rules;
    std::ofstream(dir_ + "/targets.json") << "[]\n";
    std::ofstream(dir_ + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        << "rule_files: [rules.yaml]\n"
        << "scrape_configs:\n"
        << "  - job_name: " << kRelease << "-metrics\n"
        << "    honor_labels: true\n"
        << "    file_sd_configs:\n"
        << "      - files: [" << dir_ << "/targets.json]\n"
        << "        refresh_interval: 1s\n";
    CommandResult check = runShell("promtool check config " + dir_ + "/prometheus.yml 2>&1");
    if (check.exit_code != 0) return invalidArgument("prometheus config: " + check.output);
    env.startBackground({"prometheus", "--config.file=" + dir_ + "/prometheus.yml",
                         "--storage.tsdb.path=" + dir_ + "/data",
                         "--web.listen-address=" + address_, "--log.level=warn"},
                        "prometheus.log");
    bool ready = env.waitFor(
        [&] { return runShell("curl -sf http://" + address_ + "/-/ready").exit_code == 0; }, 60s);
    return ready ? Status::ok() : unavailable("prometheus never became ready");
  }

  // Replaces the scrape targets with `pods` (pod name -> IP), written atomically.
  void setTargets(const std::map<std::string, std::string>& pods, int port) {
    json groups = json::array();
    for (const auto& [name, ip] : pods) {
      groups.push_back(
          {{"targets", {ip + ":" + std::to_string(port)}}, {"labels", {{"pod", name}}}});
    }
    std::ofstream(dir_ + "/targets.json.tmp") << groups.dump() << "\n";
    std::filesystem::rename(dir_ + "/targets.json.tmp", dir_ + "/targets.json");
  }

  // Alerts in `state` ("firing" or "pending") with this name, as Prometheus reports them.
  std::vector<json> alerts(const std::string& name, const std::string& state) {
    std::vector<json> out;
    CommandResult r = runShell("curl -sf --max-time 3 http://" + address_ + "/api/v1/alerts");
    json body = json::parse(r.output, nullptr, false);
    if (body.is_discarded()) return out;
    for (const auto& a : body["data"].value("alerts", json::array())) {
      if (a["labels"].value("alertname", "") == name && a.value("state", "") == state) {
        out.push_back(a);
      }
    }
    return out;
  }

  // How many series an instant query returns (-1 when the query fails).
  int resultCount(const std::string& promql) {
    CommandResult r = runShell("curl -sf --max-time 3 http://" + address_ +
                               "/api/v1/query --data-urlencode 'query=" + promql + "'");
    json body = json::parse(r.output, nullptr, false);
    if (body.is_discarded() || body.value("status", "") != "success") return -1;
    return static_cast<int>(body["data"].value("result", json::array()).size());
  }

  // The value of an instant query with one result, or -1.
  double query(const std::string& promql) {
    CommandResult r = runShell("curl -sf --max-time 3 http://" + address_ +
                               "/api/v1/query --data-urlencode 'query=" + promql + "'");
    json body = json::parse(r.output, nullptr, false);
    if (body.is_discarded()) return -1;
    const auto& result = body["data"].value("result", json::array());
    if (result.size() != 1) return -1;
    return std::stod(result[0]["value"][1].get<std::string>());
  }

  const std::string& address() const { return address_; }

 private:
  std::string address_;
  std::string dir_;
};

// The dashboard's query with its variables set to one cluster, as Grafana would send it.
std::string dashboardQuery(std::string expr, const std::string& ns) {
  const std::pair<std::string, std::string> variables[] = {
      {"$__rate_interval", "30s"}, {"$namespace", ns}, {"$rediscluster", kCluster}};
  for (const auto& [name, value] : variables) {
    for (size_t at = expr.find(name); at != std::string::npos; at = expr.find(name, at)) {
      expr.replace(at, name.size(), value);
      at += value.size();
    }
  }
  return expr;
}

std::string clusterYaml(int masters, int replicas) {
  return "apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: " +
         std::string(kCluster) + "\nspec:\n  masters: " + std::to_string(masters) +
         "\n  replicasPerMaster: " + std::to_string(replicas) + "\n";
}

// "name -> uid" of the cluster's pods: unchanged uids mean no pod was replaced.
std::map<std::string, std::string> podUids(OperatorEnv& env) {
  std::map<std::string, std::string> out;
  auto pods = env.getJson(std::string("pods -l redis.slotkeeper.io/cluster=") + kCluster);
  if (!pods.isOk()) return out;
  for (const auto& p : (*pods)["items"]) out[p["metadata"]["name"]] = p["metadata"]["uid"];
  return out;
}

TEST(HelmChart, InstallsAlertsOnAnUnprotectedMasterUpgradesAndUninstallsKeepingClusters) {
  SK_REQUIRE_CONTROL_PLANE();
  OperatorEnv env;
  Status started = env.startWithoutOperator(3);
  ASSERT_TRUE(started.isOk()) << started.toString();
  HelmChart chart(env);

  // Install: the operator becomes a pod of the chart's Deployment, started by the agent.
  CommandResult install = chart.helm(std::string("install ") + kRelease + " " + repoRoot() +
                                     "/charts/slotkeeper --create-namespace --wait --timeout 180s" +
                                     chart.installArgs());
  ASSERT_EQ(install.exit_code, 0) << install.output << chart.kubectl("get all -o wide").output;
  json pod = chart.operatorPod();
  ASSERT_FALSE(pod.empty()) << chart.kubectl("get pods -o yaml").output;
  const std::string first_pod = pod["metadata"]["name"];
  EXPECT_EQ(pod["spec"]["serviceAccountName"], kRelease);
  EXPECT_EQ(pod["spec"]["containers"][0]["image"],
            std::string(OperatorEnv::kChartImageRepository) + ":" + OperatorEnv::kChartImageTag);

  // The RBAC the API server enforces for the operator's service account: enough in the watched
  // namespace, nothing elsewhere, no secret listing.
  const std::string as = " --as=system:serviceaccount:" + chart.ns() + ":" + kRelease;
  auto can = [&](const std::string& what) {
    return trimmed(runShell("kubectl --kubeconfig " + env.kubeconfig() + " auth can-i " + what +
                            as + " 2>/dev/null")
                       .output);
  };
  EXPECT_EQ(can("create statefulsets.apps -n " + env.ns()), "yes");
  EXPECT_EQ(can("patch redisclusters.redis.slotkeeper.io --subresource=status -n " + env.ns()),
            "yes");
  EXPECT_EQ(can("get secrets -n " + env.ns()), "yes");
  EXPECT_EQ(can("list secrets -n " + env.ns()), "no");
  EXPECT_EQ(can("create statefulsets.apps -n default"), "no");
  EXPECT_EQ(can("list redisclusters.redis.slotkeeper.io --all-namespaces"), "no");
  EXPECT_EQ(can("update leases.coordination.k8s.io -n " + chart.ns()), "yes");

  // The operator runs on that token alone: it takes the Lease and manages a cluster.
  ASSERT_TRUE(env.waitFor([&] { return chart.leaseHolder().rfind(first_pod, 0) == 0; }, 60s))
      << chart.kubectl("get lease -o yaml").output << chart.operatorLog();

  // An unprotected cluster: three masters, no replica.
  ASSERT_EQ(env.apply(clusterYaml(3, 0)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady(kCluster); }, 180s))
      << env.kubectl(std::string("get rediscluster ") + kCluster + " -o yaml").output
      << chart.operatorLog();
  const std::string series =
      std::string("slotkeeper_cluster_masters_without_replica{namespace=\"") + env.ns() +
      "\",rediscluster=\"" + kCluster + "\"}";
  ASSERT_TRUE(env.waitFor(
      [&] { return chart.operatorMetrics().find(series + " 3\n") != std::string::npos; }, 30s))
      << chart.operatorMetrics();

  // Prometheus loads the rules the chart installed as a ConfigMap and pages.
  CommandResult rules =
      chart.kubectl(std::string("get configmap ") + kRelease +
                    "-alert-rules -o jsonpath='{.data.slotkeeper-alerts\\.yaml}'");
  ASSERT_EQ(rules.exit_code, 0) << rules.output;
  Prometheus prometheus;
  Status prom = prometheus.start(env, rules.output);
  ASSERT_TRUE(prom.isOk()) << prom.toString();
  prometheus.setTargets(chart.operatorPodIps(), 8080);
  const std::string in_cluster = std::string("{rediscluster=\"") + kCluster + "\"}";
  ASSERT_TRUE(env.waitFor(
      [&] {
        return prometheus.query("slotkeeper_cluster_masters_without_replica" + in_cluster) == 3;
      },
      60s))
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/targets").output;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      env.waitFor([&] { return !prometheus.alerts(kUnprotectedAlert, "firing").empty(); }, 90s))
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/alerts").output;
  std::printf("unprotected-master alert firing %.1f s after the series was scraped\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  json alert = prometheus.alerts(kUnprotectedAlert, "firing").front();
  EXPECT_EQ(alert["labels"]["namespace"], env.ns());
  EXPECT_EQ(alert["labels"]["rediscluster"], kCluster);
  EXPECT_EQ(alert["labels"]["severity"], "critical");
  EXPECT_NE(alert["annotations"].value("summary", "").find("3 master(s) without a replica"),
            std::string::npos)
      << alert.dump();
  EXPECT_TRUE(prometheus.alerts("SlotkeeperOperatorDown", "firing").empty());

  // Give every master a replica: the metric drops to 0 and the alert resolves.
  ASSERT_EQ(env.apply(clusterYaml(3, 1)).exit_code, 0);
  ASSERT_TRUE(env.waitFor([&] { return env.clusterReady(kCluster); }, 240s)) << chart.operatorLog();
  ASSERT_TRUE(env.waitFor(
      [&] { return chart.operatorMetrics().find(series + " 0\n") != std::string::npos; }, 30s))
      << chart.operatorMetrics();
  ASSERT_TRUE(env.waitFor(
      [&] {
        return prometheus.alerts(kUnprotectedAlert, "firing").empty() &&
               prometheus.alerts(kUnprotectedAlert, "pending").empty();
      },
      60s))
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/alerts").output;
  EXPECT_EQ(prometheus.query("slotkeeper_cluster_replicas" + in_cluster), 3);

  // Per-node series for every pod, labelled by role, scraped by the real Prometheus; after a
  // failover the promoted pod's series carry role="master".
  const std::string of_cluster = std::string("rediscluster=\"") + kCluster + "\"";
  auto countNodes = [&](const std::string& series, const std::string& more) {
    return prometheus.query("count(" + series + "{" + of_cluster + more + "})");
  };
  ASSERT_TRUE(env.waitFor(
      [&] {
        return countNodes("slotkeeper_node_keys", ",role=\"master\"") == 3 &&
               countNodes("slotkeeper_node_keys", ",role=\"replica\"") == 3;
      },
      90s))
      << chart.operatorMetrics();
  EXPECT_EQ(countNodes("slotkeeper_node_memory_used_bytes", ""), 6);
  EXPECT_EQ(countNodes("slotkeeper_node_connected_clients", ""), 6);
  EXPECT_EQ(prometheus.query("count(slotkeeper_node_master_link_up{" + of_cluster + "} == 1)"), 3);
  std::string promoted;
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    auto nodes = env.clusterNodesAt(ip);
    for (const auto& n : nodes.isOk() ? *nodes : std::vector<redis::ClusterNodeEntry>{}) {
      if (n.myself && n.replica && promoted.empty()) promoted = pod;
    }
  }
  ASSERT_FALSE(promoted.empty());
  ASSERT_EQ(
      runShell("redis-cli -h " + env.podIps(kCluster)[promoted] + " CLUSTER FAILOVER").exit_code,
      0);
  ASSERT_TRUE(env.waitFor(
      [&] {
        return countNodes("slotkeeper_node_keys", ",pod=\"" + promoted + "\",role=\"master\"") ==
                   1 &&
               countNodes("slotkeeper_node_keys", ",role=\"master\"") == 3;
      },
      120s))
      << chart.operatorMetrics();

  // Memory near maxmemory: a 16 MB maxmemory set live through the spec, then 9 MB of values on
  // one shard; the alert fires for its pods and resolves once the values are deleted.
  auto firingPods = [&](const std::string& alert) {
    std::set<std::string> pods;
    for (const auto& a : prometheus.alerts(alert, "firing")) {
      if (a["labels"].value("rediscluster", "") == kCluster)
        pods.insert(a["labels"].value("pod", ""));
    }
    return pods;
  };
  const std::string cluster_ref = std::string("rediscluster ") + kCluster;
  ASSERT_EQ(env.kubectl("patch " + cluster_ref +
                        " --type merge -p '{\"spec\":{\"redisConfig\":{\"maxmemory\":\"16mb\"}}}'")
                .exit_code,
            0);
  ASSERT_TRUE(env.waitFor(
      [&] {
        return countNodes("slotkeeper_node_memory_max_bytes", "") == 6 &&
               prometheus.query("min(slotkeeper_node_memory_max_bytes{" + of_cluster + "})") ==
                   16777216;
      },
      90s))
      << chart.operatorMetrics();
  const std::string any_ip = env.podIps(kCluster).begin()->second;
  // Nine values of 1 MB in one slot (one argument of 9 MB would be refused with OOM: the query
  // buffer counts against maxmemory).
  std::string big_keys;
  for (int i = 1; i <= 9; ++i) {
    const std::string key = "{alert}:" + std::to_string(i);
    big_keys += " " + key;
    CommandResult big = runShell("head -c 1000000 /dev/zero | tr '\\0' x | redis-cli -c -h " +
                                 any_ip + " -p 6379 -x SET " + key);
    ASSERT_EQ(trimmed(big.output), "OK") << big.output;
  }
  ASSERT_TRUE(env.waitFor([&] { return firingPods("RedisNodeMemoryNearMax").size() >= 1; }, 90s))
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/alerts").output;
  EXPECT_EQ(runShell("redis-cli -c -h " + any_ip + " -p 6379 DEL" + big_keys).exit_code, 0);
  EXPECT_TRUE(env.waitFor([&] { return firingPods("RedisNodeMemoryNearMax").empty(); }, 90s))
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/alerts").output;
  ASSERT_EQ(env.kubectl("patch " + cluster_ref +
                        " --type json -p '[{\"op\":\"remove\",\"path\":\"/spec/redisConfig\"}]'")
                .exit_code,
            0);

  // Replication link down: one replica is given a wrong masterauth and dropped from its master,
  // so every resync is refused; the alert names that pod, and resolves once the setting is put
  // back (the cluster has no password, so the operator leaves masterauth alone).
  std::string broken_replica;
  for (const auto& [pod, ip] : env.podIps(kCluster)) {
    auto nodes = env.clusterNodesAt(ip);
    for (const auto& n : nodes.isOk() ? *nodes : std::vector<redis::ClusterNodeEntry>{}) {
      if (n.myself && n.replica && broken_replica.empty()) broken_replica = pod;
    }
  }
  ASSERT_FALSE(broken_replica.empty());
  const std::string replica_cli =
      "redis-cli -h " + env.podIps(kCluster)[broken_replica] + " -p 6379 ";
  ASSERT_EQ(runShell(replica_cli + "CONFIG SET masterauth not-the-password").exit_code, 0);
  ASSERT_EQ(runShell(replica_cli + "CLIENT KILL TYPE master").exit_code, 0);
  ASSERT_TRUE(env.waitFor(
      [&] { return firingPods("RedisReplicationLinkDown").count(broken_replica) == 1; }, 90s))
      << runShell(replica_cli + "INFO replication").output
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/alerts").output;
  ASSERT_EQ(runShell(replica_cli + "CONFIG SET masterauth ''").exit_code, 0);
  EXPECT_TRUE(env.waitFor([&] { return firingPods("RedisReplicationLinkDown").empty(); }, 90s))
      << runShell(replica_cli + "INFO replication").output;

  // Every query of the chart's Grafana dashboard returns data from this Prometheus.
  CommandResult dashboard =
      chart.kubectl(std::string("get configmap ") + kRelease +
                    "-dashboard -o jsonpath='{.data.slotkeeper-redis-cluster\\.json}'");
  ASSERT_EQ(dashboard.exit_code, 0) << dashboard.output;
  json board = json::parse(dashboard.output, nullptr, false);
  ASSERT_FALSE(board.is_discarded()) << dashboard.output;
  std::vector<std::string> queries;
  for (const auto& panel : board["panels"]) {
    for (const auto& target : panel.value("targets", json::array())) {
      queries.push_back(dashboardQuery(target.value("expr", ""), env.ns()));
    }
  }
  EXPECT_GE(queries.size(), 20u);
  for (const auto& query : queries) {
    EXPECT_TRUE(env.waitFor([&] { return prometheus.resultCount(query) > 0; }, 60s))
        << "no data for the dashboard query " << query;
  }

  // Upgrade with a changed log level while clients write: a new operator pod with the new flag
  // takes over, and the redis pods and their clients never notice.
  const std::string first_log = chart.operatorLog();
  auto uids_before = podUids(env);
  ASSERT_EQ(uids_before.size(), 6u);
  std::vector<std::string> seeds;
  for (const auto& [name, ip] : env.podIps(kCluster)) seeds.push_back(ip + ":6379");
  LoadGenerator load;
  ASSERT_TRUE(load.start(seeds, env.workDir()).isOk());
  // The upgrade must happen under load: wait until clients' writes are being acknowledged.
  Status flowing = load.waitForWrites(1000, 60s);
  ASSERT_TRUE(flowing.isOk()) << flowing.toString();
  CommandResult upgrade = chart.helm(std::string("upgrade ") + kRelease + " " + repoRoot() +
                                     "/charts/slotkeeper --wait --timeout 180s" +
                                     chart.installArgs() + " --set logLevel=debug");
  ASSERT_EQ(upgrade.exit_code, 0) << upgrade.output;
  std::string second_pod;
  ASSERT_TRUE(env.waitFor(
      [&] {
        json p = chart.operatorPod();
        if (p.empty() || p["metadata"]["name"] == first_pod) return false;
        second_pod = p["metadata"]["name"];
        return true;
      },
      120s));
  prometheus.setTargets(chart.operatorPodIps(), 8080);
  json args = chart.operatorPod()["spec"]["containers"][0]["args"];
  EXPECT_NE(std::find(args.begin(), args.end(), "--log-level=debug"), args.end()) << args.dump();
  ASSERT_TRUE(env.waitFor([&] { return chart.leaseHolder().rfind(second_pod, 0) == 0; }, 90s))
      << chart.operatorLog();
  // The new leader observes the cluster under load: its own /metrics (a fresh process, so any
  // series is its own work) show a reconcile pass of the cluster that ended without error.
  const std::string reconciled =
      std::string("slotkeeper_cluster_last_successful_reconcile_timestamp_seconds{namespace=\"") +
      env.ns() + "\",rediscluster=\"" + kCluster + "\"} ";
  std::string second_metrics;
  ASSERT_TRUE(env.waitFor(
      [&] {
        second_metrics = chart.operatorMetrics(second_pod);
        return second_metrics.find(reconciled) != std::string::npos;
      },
      90s))
      << second_metrics << chart.operatorLog();
  EXPECT_TRUE(env.clusterReady(kCluster));
  EXPECT_EQ(podUids(env), uids_before) << "no redis pod was replaced by the upgrade";
  auto summary = load.finish();
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::printf("load across helm upgrade: %s\n", summary->dump().c_str());
  EXPECT_EQ(loadProblems(*summary, 100), "");

  // The chart's RBAC covered every call either operator pod made (a missing verb is a 403).
  const std::string log = first_log + chart.operatorLog();
  EXPECT_EQ(log.find("orbidden"), std::string::npos) << log;

  // Uninstall removes the operator and its RBAC; the CRD, the RedisCluster and its pods stay,
  // and Prometheus notices the operator is gone.
  CommandResult uninstall = chart.helm(std::string("uninstall ") + kRelease + " --wait");
  ASSERT_EQ(uninstall.exit_code, 0) << uninstall.output;
  EXPECT_TRUE(env.waitFor([&] { return chart.operatorPod().empty(); }, 60s));
  prometheus.setTargets(chart.operatorPodIps(), 8080);
  EXPECT_NE(chart.kubectl(std::string("get deployment ") + kRelease).exit_code, 0);
  EXPECT_NE(chart.kubectl(std::string("get serviceaccount ") + kRelease).exit_code, 0);
  EXPECT_NE(env.kubectl(std::string("get role ") + kRelease).exit_code, 0);
  EXPECT_EQ(env.kubectl("get crd redisclusters.redis.slotkeeper.io").exit_code, 0);
  EXPECT_EQ(env.kubectl(std::string("get rediscluster ") + kCluster).exit_code, 0);
  EXPECT_EQ(podUids(env), uids_before);
  CommandResult info = runShell("redis-cli -h " + env.podIps(kCluster).begin()->second +
                                " -p 6379 cluster info | grep cluster_state");
  EXPECT_NE(info.output.find("cluster_state:ok"), std::string::npos) << info.output;
  EXPECT_TRUE(env.waitFor(
      [&] { return !prometheus.alerts("SlotkeeperOperatorDown", "firing").empty(); }, 90s))
      << runShell("curl -s http://" + prometheus.address() + "/api/v1/alerts").output;
}

}  // namespace
}  // namespace slotkeeper::e2e
