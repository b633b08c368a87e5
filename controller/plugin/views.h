// The views of `kubectl slotkeeper`: a RedisCluster's slot table and node table, rendered from
// the status the operator writes (so they need only read access to RedisClusters, and work from
// wherever kubectl does). Pure, so the layout is unit tested.
#pragma once

#include <string>
#include <vector>

#include "api/types.h"
#include "common/status.h"

namespace slotkeeper::plugin {

// What the command line asked for.
struct PluginArgs {
  std::string command;  // slots, nodes, watch, help, version
  std::string name;
  std::string ns;  // empty: the kubeconfig context's namespace
  std::string kubeconfig;
  std::string context;
  int interval_seconds = 2;  // watch
  int count = 0;             // watch: refreshes before exiting; 0 = until interrupted
};

Result<PluginArgs> parsePluginArgs(const std::vector<std::string>& args);
std::string pluginUsage();

// The replication-lag bucket of a replica: "0", "1-5", "5-30" or "30+" seconds.
std::string lagBucket(int64_t lag_seconds);

// One row per master (shard, pod, slots, share of 16384, ranges), then the totals.
std::string renderSlots(const api::RedisCluster& cluster);

// One row per pod: shard, role, its master's pod, slots, link, lag bucket, outdated.
std::string renderNodes(const api::RedisCluster& cluster);

}  // namespace slotkeeper::plugin
