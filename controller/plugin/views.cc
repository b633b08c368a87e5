#include "plugin/views.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <sstream>

namespace slotkeeper::plugin {
namespace {

constexpr int kSlotCount = 16384;

int parseInt(std::string_view text, int fallback) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : fallback;
}

// Left-aligned columns, as wide as their widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string header(const api::RedisCluster& c) {
  const auto& s = c.status;
  return "RedisCluster " + c.ns + "/" + c.name + ": " + std::to_string(s.masters) + " masters, " +
         std::to_string(s.ready_replicas) + " linked replicas, cluster_state " +
         (s.cluster_state.empty() ? "unknown" : s.cluster_state) + ", " +
         std::to_string(s.slots_ok) + "/16384 slots served\n";
}

}  // namespace

std::string pluginUsage() {
  return "usage: kubectl slotkeeper COMMAND NAME [-n NAMESPACE] [--kubeconfig PATH] "
         "[--context NAME]\n"
         "  slots NAME   the slot table: each master's slots, share and ranges\n"
         "  nodes NAME   each pod's role, master, slots, replication link and lag\n"
         "  watch NAME   nodes and slots again every --interval seconds (default 2);\n"
         "               --count N stops after N refreshes\n"
         "  version\n";
}

Result<PluginArgs> parsePluginArgs(const std::vector<std::string>& args) {
  PluginArgs out;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& flag) -> Result<std::string> {
      if (i + 1 >= args.size()) return invalidArgument(flag + " needs a value");
      return args[++i];
    };
    if (a == "-h" || a == "--help" || a == "help") {
      out.command = "help";
      return out;
    }
    if (a == "-n" || a == "--namespace") {
      ASSIGN_OR_RETURN(out.ns, value(a));
    } else if (a == "--kubeconfig") {
      ASSIGN_OR_RETURN(out.kubeconfig, value(a));
    } else if (a == "--context") {
      ASSIGN_OR_RETURN(out.context, value(a));
    } else if (a == "--interval" || a == "--count") {
      ASSIGN_OR_RETURN(std::string v, value(a));
      const int n = parseInt(v, -1);
      if (n < (a == "--interval" ? 1 : 0))
        return invalidArgument(a + " must be a whole number" +
                               (a == "--interval" ? " >= 1" : " >= 0"));
      (a == "--interval" ? out.interval_seconds : out.count) = n;
    } else if (!a.empty() && a[0] == '-') {
      return invalidArgument("unknown flag " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return invalidArgument("a command is needed\n" + pluginUsage());
  out.command = positional[0];
  if (out.command == "version") return out;
  if (out.command != "slots" && out.command != "nodes" && out.command != "watch") {
    return invalidArgument("unknown command " + out.command + "\n" + pluginUsage());
  }
  if (positional.size() != 2) return invalidArgument(out.command + " takes one RedisCluster name");
  out.name = positional[1];
  return out;
}

std::string lagBucket(int64_t lag_seconds) {
  if (lag_seconds <= 0) return "0";
  if (lag_seconds <= 5) return "1-5";
  if (lag_seconds <= 30) return "5-30";
  return "30+";
}

std::string renderSlots(const api::RedisCluster& cluster) {
  std::vector<std::vector<std::string>> rows = {{"SHARD", "MASTER", "SLOTS", "SHARE", "RANGES"}};
  int assigned = 0;
  for (const auto& n : cluster.status.nodes) {
    if (n.role != "master") continue;
    const int slots = api::countSlotRanges(n.slots);
    assigned += slots;
    char share[16];
    std::snprintf(share, sizeof(share), "%.1f%%", 100.0 * slots / kSlotCount);
    rows.push_back({std::to_string(n.shard), n.pod, std::to_string(slots), share,
                    n.slots.empty() ? "-" : n.slots});
  }
  return header(cluster) + table(rows) +
         "unassigned slots: " + std::to_string(kSlotCount - assigned) + "\n";
}

std::string renderNodes(const api::RedisCluster& cluster) {
  std::map<std::string, std::string> pod_of_id;
  for (const auto& n : cluster.status.nodes) pod_of_id[n.node_id] = n.pod;
  std::vector<std::vector<std::string>> rows = {
      {"POD", "SHARD", "ROLE", "MASTER", "SLOTS", "LINK", "LAG (s)", "BEHIND (bytes)", "OUTDATED"}};
  for (const auto& n : cluster.status.nodes) {
    const bool replica = n.role == "replica";
    auto master = pod_of_id.find(n.master_id);
    rows.push_back({n.pod, std::to_string(n.shard), n.role.empty() ? "?" : n.role,
                    replica ? (master != pod_of_id.end() ? master->second : n.master_id) : "-",
                    replica ? "-" : std::to_string(api::countSlotRanges(n.slots)),
                    replica ? (n.sync_in_progress ? "syncing" : n.link_status) : "-",
                    replica ? lagBucket(n.lag_seconds) : "-",
                    replica ? std::to_string(n.lag_bytes) : "-", n.outdated ? "yes" : "no"});
  }
  return header(cluster) + table(rows);
}

}  // namespace slotkeeper::plugin
