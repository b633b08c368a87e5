// sk-node-agent: plays kubelet for several Nodes of the local e2e control plane. Wiring
// only: flags, the API client, node registration, the PV provisioner, the pod manager, and
// an orderly stop on SIGTERM/SIGINT.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "agent_options.h"
#include "common/log.h"
#include "ip_allocator.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/events.h"
#include "node_registration.h"
#include "pod_api.h"
#include "pod_manager.h"
#include "process.h"
#include "pv_provisioner.h"

namespace sk = slotkeeper;
namespace agent = slotkeeper::agent;

namespace {

// SIGTERM/SIGINT are blocked in every thread (set before any thread starts) and taken with
// sigwait by main, so shutdown runs as ordinary code rather than in a signal handler.
sigset_t blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int fail(const sk::Status& status, const char* what) {
  sk::log::error(what, {{"error", status.toString()}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // One thread per pod: without a cap glibc gives many of them their own malloc arena, and
  // the agent's resident size grows with the pod count for no benefit.
  mallopt(M_ARENA_MAX, 2);
  const sigset_t stop_signals = blockStopSignals();
  auto parsed = agent::parseAgentArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.isOk()) {
    if (parsed.status().code() == sk::StatusCode::kAborted) {
      std::fputs(parsed.status().message().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "sk-node-agent: %s\n\n%s", parsed.status().message().c_str(),
                 agent::agentUsage().c_str());
    return 2;
  }
  const agent::AgentOptions options = *parsed;
  sk::log::setJsonOutput(true);
  sk::log::Level level;
  if (sk::log::parseLevel(options.log_level, &level)) sk::log::setLevel(level);

  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  if (ec) return fail(sk::invalidArgument(ec.message()), "cannot create state dir");
  const std::string state_dir = std::filesystem::canonical(options.state_dir).string();
  agent::AgentOptions effective = options;
  effective.state_dir = state_dir;  // host paths handed to processes must be absolute

  auto cidr = agent::parseLoopbackCidr(options.pod_cidr);
  if (!cidr.isOk()) return fail(cidr.status(), "bad --pod-cidr");
  auto config = sk::kube::loadDefaultConfig(options.kubeconfig);
  if (!config.isOk()) return fail(config.status(), "cannot load kubeconfig");
  auto server = sk::kube::parseServerUrl(config->server);
  if (!server.isOk()) return fail(server.status(), "bad API server URL");
  sk::kube::KubeClient::Options client_options;
  client_options.user_agent = "sk-node-agent";
  auto client = sk::kube::KubeClient::create(*config, client_options);
  if (!client.isOk()) return fail(client.status(), "cannot create API client");

  sk::RealClock clock;
  sk::kube::EventRecorder events(**client, "sk-node-agent", clock);
  agent::ProcessSpawner spawner;
  agent::PodIpAllocator ips(*cidr, state_dir + "/pod-ip-cursor");
  agent::KubePodApi api(**client);
  agent::AgentContext ctx;
  ctx.options = &effective;
  ctx.images.redis_server = options.redis_server;
  ctx.images.binaries = options.image_binaries;
  ctx.api = &api;
  ctx.spawner = &spawner;
  ctx.ips = &ips;
  ctx.events = &events;
  ctx.apiserver_host = server->host;
  ctx.apiserver_port = std::to_string(server->port);

  agent::NodeRegistrar nodes(
      **client,
      agent::makeNodeSpecs(options.nodes, options.node_prefix, options.zone_prefix, options.node_ip,
                           options.node_cpu, options.node_memory, options.max_pods),
      options.heartbeat);
  // The API server may still be starting (demo scripts start both at once): retry
  // transient failures for a while, give up on anything else.
  for (int attempt = 1;; ++attempt) {
    sk::Status registered = nodes.registerAll();
    if (registered.isOk()) break;
    const sk::RetryClass retry = sk::retryClassFor(registered.code());
    if ((retry != sk::RetryClass::kBackoff && retry != sk::RetryClass::kImmediate) ||
        attempt >= 30) {
      return fail(registered, "node registration failed");
    }
    sk::log::warn("node registration failed, retrying", {{"error", registered.toString()}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  agent::PvProvisioner provisioner(**client, state_dir, options.storage_class);
  if (sk::Status sc = provisioner.ensureStorageClass(); !sc.isOk()) {
    sk::log::warn("storage class not created", {{"error", sc.toString()}});
  }
  std::vector<std::string> node_names;
  for (const agent::NodeSpec& node : nodes.nodes()) node_names.push_back(node.name);
  agent::PodManager pods(ctx, **client, node_names);

  nodes.start();
  provisioner.start();
  pods.start();
  sk::log::info("node agent ready", {{"nodes", node_names},
                                     {"state_dir", state_dir},
                                     {"pod_cidr", options.pod_cidr},
                                     {"apiserver", config->server}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  sk::log::info("node agent stopping", {{"signal", signal_number}});
  pods.shutdown();
  provisioner.stop();
  nodes.stop();
  nodes.markNotReady("sk-node-agent stopped");
  sk::log::info("node agent stopped");
  return 0;
}
