// kubectl-slotkeeper: a kubectl plugin that shows a RedisCluster's slot table and nodes by name,
// from the status the operator writes. Installed next to the operator binary; kubectl finds it
// on PATH as `kubectl slotkeeper`.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "api/codec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "plugin/views.h"

using namespace slotkeeper;

namespace {

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

Result<api::RedisCluster> readCluster(kube::KubeClient& client, const std::string& ns,
                                      const std::string& name) {
  ASSIGN_OR_RETURN(auto object, client.get(kube::kRedisClusters.in(ns).named(name)));
  return api::decodeRedisCluster(object);
}

}  // namespace

int main(int argc, char** argv) {
  auto args = plugin::parsePluginArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!args.isOk()) {
    std::fprintf(stderr, "error: %s\n", args.status().message().c_str());
    return 2;
  }
  if (args->command == "help") {
    std::printf("%s", plugin::pluginUsage().c_str());
    return 0;
  }
  if (args->command == "version") {
    std::printf("kubectl-slotkeeper %s\n", SLOTKEEPER_VERSION);
    return 0;
  }
  auto config = args->context.empty() ? kube::loadDefaultConfig(args->kubeconfig)
                                      : kube::loadKubeConfigFile(args->kubeconfig, args->context);
  if (!config.isOk()) return fail(config.status());
  const std::string ns = !args->ns.empty() ? args->ns : config->default_namespace;
  auto client = kube::KubeClient::create(*config);
  if (!client.isOk()) return fail(client.status());
  for (int shown = 0;; ++shown) {
    auto cluster = readCluster(**client, ns, args->name);
    if (!cluster.isOk()) return fail(cluster.status());
    if (args->command == "slots") {
      std::printf("%s", plugin::renderSlots(*cluster).c_str());
      return 0;
    }
    if (args->command == "nodes") {
      std::printf("%s", plugin::renderNodes(*cluster).c_str());
      return 0;
    }
    std::printf("\033[H\033[2J%s\n%s", plugin::renderNodes(*cluster).c_str(),
                plugin::renderSlots(*cluster).c_str());
    std::fflush(stdout);
    if (args->count > 0 && shown + 1 >= args->count) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(args->interval_seconds));
  }
}
