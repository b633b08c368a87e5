// slotkeeper: the operator binary. Wiring only: flags, construction, signals, run.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/events.h"
#include "metrics/metrics.h"
#include "operator/flags.h"
#include "operator/manager.h"
#include "reconciler/cached_fields.h"
#include "reconciler/reconciler.h"

using namespace slotkeeper;

namespace {

// What a pass read of each node, for its metrics.
metrics::NodeReadings readingsOf(const reconciler::LiveObservation& live) {
  metrics::NodeReadings r{live.memory, live.load, live.replication, {}};
  for (const auto& n : live.cluster.nodes) {
    if (n.reachable) r.keys[n.address] = n.keys;
  }
  return r;
}

// The Lease holder and Event reporter: the pod name when the Deployment passes it (POD_NAME from
// the downward API), so `kubectl get lease` names the leading pod; else the host name. The
// random suffix keeps a restarted process from mistaking its predecessor's lease for its own.
std::string processIdentity() {
  std::string base;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') {
    base = pod;
  } else {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    base = std::string(host) + "-" + std::to_string(getpid());
  }
  std::random_device rd;
  return base + "_" + std::to_string(rd() % 100000);
}

// CLIENT SETNAME takes no spaces or newlines; anything outside [A-Za-z0-9._-] becomes '_'.
std::string clientNameSafe(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return name;
}

// glibc gives each thread that allocates its own heap arena (up to 8 per core), and each keeps
// the memory its thread freed. The operator's workers, watches and HTTP threads allocate in
// bursts (a pass's snapshot, a list), so two shared arenas hold far less idle memory at no
// measurable cost. MALLOC_ARENA_MAX in the environment still decides when set.
void limitMallocArenas() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  mallopt(M_ARENA_MAX, 2);
}

std::string ownNamespace() {
  const char* dir = std::getenv("SK_SERVICEACCOUNT_DIR");
  std::string path =
      std::string(dir ? dir : "/var/run/secrets/kubernetes.io/serviceaccount") + "/namespace";
  auto text = kube::readFileToString(path);
  return text.isOk() && !text->empty() ? *text : "default";
}

// Blocks SIGTERM/SIGINT in every thread and waits for them on one, so shutdown is orderly:
// workers finish their current slot wave before the process exits.
void blockShutdownSignals(sigset_t* set) {
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  pthread_sigmask(SIG_BLOCK, set, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  limitMallocArenas();
  auto flags = op::parseOperatorFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.isOk()) {
    std::fprintf(stderr, "error: %s\n", flags.status().message().c_str());
    return 2;
  }
  if (flags->show_help) {
    std::printf("%s", op::operatorUsage().c_str());
    return 0;
  }
  if (flags->show_version) {
    std::printf("slotkeeper %s\n", SLOTKEEPER_VERSION);
    return 0;
  }
  log::Level level;
  if (!log::parseLevel(flags->log_level, &level)) {
    std::fprintf(stderr, "error: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  log::setLevel(level);

  sigset_t signals;
  blockShutdownSignals(&signals);

  auto config = kube::loadDefaultConfig(flags->kubeconfig);
  if (!config.isOk()) {
    log::error("no Kubernetes configuration", {{"error", config.status().toString()}});
    return 1;
  }
  RealClock clock;
  metrics::OperatorMetrics metrics;
  kube::KubeClient::Options client_options;
  client_options.on_request = [&metrics](std::string_view verb, int status) {
    metrics.countKubeRequest(verb, status);
  };
  auto client = kube::KubeClient::create(*config, client_options);
  if (!client.isOk()) {
    log::error("cannot create the Kubernetes client", {{"error", client.status().toString()}});
    return 1;
  }
  const std::string identity = processIdentity();
  kube::EventRecorder events(**client, "slotkeeper", clock, identity);
  reconciler::ReconcilerOptions options;
  options.decide.health_check_interval = flags->health_check_interval;
  // Every Redis connection carries the process identity, so a node's CLIENT LIST tells which
  // operator process (leader or not) is talking to it.
  options.snapshot.connect.client_name = "slotkeeper-" + clientNameSafe(identity);
  reconciler::LiveKubePort kube_port(**client, events, "slotkeeper");
  reconciler::HiredisPort redis_port;
  reconciler::ClusterReconciler reconciler(
      kube_port, redis_port, clock, options,
      [&metrics](const api::RedisCluster& c, const api::RedisClusterStatus& s, int64_t slots,
                 int64_t keys, int64_t conflicts, bool in_progress,
                 const reconciler::LiveObservation* live) {
        metrics.observeCluster(c, s, slots, keys, conflicts, in_progress);
        if (live != nullptr)
          metrics.observeNodes(c, metrics::samplesFrom(s.nodes, readingsOf(*live)));
      });

  reconciler.setGoneObserver([&metrics](const std::string& ns, const std::string& name) {
    metrics.forgetCluster(ns, name);
  });

  op::ManagerOptions manager_options;
  manager_options.namespaces = flags->namespaces;
  manager_options.workers = flags->workers;
  manager_options.leader_elect = flags->leader_elect;
  manager_options.leader_election_namespace =
      flags->leader_election_namespace.empty() ? ownNamespace() : flags->leader_election_namespace;
  manager_options.leader_election_id = flags->leader_election_id;
  manager_options.identity = identity;
  manager_options.pod_cache_transform = reconciler::keepPodFieldsTheReconcilerReads;
  manager_options.statefulset_cache_transform = reconciler::keepStatefulSetFieldsTheReconcilerReads;
  op::Manager manager(**client, reconciler, clock, manager_options);
  kube_port.setCache(&manager);
  manager.setObservers(
      [&metrics](const std::string& key, double seconds, bool error) {
        std::string ns, name;
        kube::splitObjectKey(key, &ns, &name);
        metrics.observeReconcile(ns, name, seconds, error);
      },
      [&metrics](bool leader, size_t depth) {
        metrics.setLeader(leader);
        metrics.setQueueDepth(static_cast<double>(depth));
      });

  // A standby replica is ready (it is waiting for the lease); a leader once its caches synced.
  metrics::HttpServer http(metrics,
                           [&manager] { return !manager.isLeader() || manager.informersSynced(); });
  if (Status s = http.start(flags->http_address); !s.isOk()) {
    log::error("cannot serve metrics and health", {{"error", s.toString()}});
    return 1;
  }
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    log::info("shutting down", {{"signal", received}});
    manager.stop();
  });
  signal_waiter.detach();

  log::info("slotkeeper starting", {{"version", SLOTKEEPER_VERSION},
                                    {"identity", identity},
                                    {"leader_elect", flags->leader_elect},
                                    {"http", flags->http_address}});
  Status run = manager.run();
  http.stop();
  if (!run.isOk()) {
    log::error("operator stopped", {{"error", run.toString()}});
    return 1;
  }
  log::info("slotkeeper stopped");
  return 0;
}
