// Flag parsing for sk-node-agent.
#include "agent_options.h"

#include <charconv>
#include <functional>

namespace slotkeeper::agent {
namespace {

Result<int> parseInt(const std::string& flag, const std::string& text, int min, int max) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    return invalidArgument(flag + ": expected an integer in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "], got \"" + text + "\"");
  }
  return value;
}

// "500ms", "2s", "1m" or a bare number of seconds.
Result<std::chrono::milliseconds> parseDuration(const std::string& flag, const std::string& text) {
  std::string digits = text;
  int64_t scale = 1000;
  if (text.ends_with("ms")) {
    digits = text.substr(0, text.size() - 2);
    scale = 1;
  } else if (text.ends_with("s")) {
    digits = text.substr(0, text.size() - 1);
  } else if (text.ends_with("m")) {
    digits = text.substr(0, text.size() - 1);
    scale = 60000;
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value < 0) {
    return invalidArgument(flag + ": expected a duration like 500ms, 10s or 1m, got \"" + text +
                           "\"");
  }
  return std::chrono::milliseconds(value * scale);
}

Status parseImageBinary(const std::string& text, AgentOptions* options) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return invalidArgument("--operator-image: expected NAME=PATH, got \"" + text + "\"");
  }
  options->image_binaries[text.substr(0, eq)] = text.substr(eq + 1);
  return Status::ok();
}

using Setter = std::function<Status(const std::string& value, AgentOptions* options)>;

std::map<std::string, Setter> setters() {
  auto text = [](std::string AgentOptions::*field) {
    return [field](const std::string& v, AgentOptions* o) {
      o->*field = v;
      return Status::ok();
    };
  };
  auto duration = [](const char* flag, auto AgentOptions::*field) {
    return [flag, field](const std::string& v, AgentOptions* o) -> Status {
      ASSIGN_OR_RETURN(auto d, parseDuration(flag, v));
      o->*field = std::chrono::duration_cast<std::remove_reference_t<decltype(o->*field)>>(d);
      return Status::ok();
    };
  };
  return {
      {"kubeconfig", text(&AgentOptions::kubeconfig)},
      {"node-prefix", text(&AgentOptions::node_prefix)},
      {"zone-prefix", text(&AgentOptions::zone_prefix)},
      {"state-dir", text(&AgentOptions::state_dir)},
      {"pod-cidr", text(&AgentOptions::pod_cidr)},
      {"redis-server", text(&AgentOptions::redis_server)},
      {"node-cpu", text(&AgentOptions::node_cpu)},
      {"node-memory", text(&AgentOptions::node_memory)},
      {"node-ip", text(&AgentOptions::node_ip)},
      {"storage-class", text(&AgentOptions::storage_class)},
      {"log-level", text(&AgentOptions::log_level)},
      {"operator-image", parseImageBinary},
      {"nodes",
       [](const std::string& v, AgentOptions* o) -> Status {
         ASSIGN_OR_RETURN(o->nodes, parseInt("--nodes", v, 1, 1000));
         return Status::ok();
       }},
      {"max-pods",
       [](const std::string& v, AgentOptions* o) -> Status {
         ASSIGN_OR_RETURN(o->max_pods, parseInt("--max-pods", v, 1, 10000));
         return Status::ok();
       }},
      {"heartbeat", duration("--heartbeat", &AgentOptions::heartbeat)},
      {"backoff-base", duration("--backoff-base", &AgentOptions::backoff_base)},
      {"backoff-max", duration("--backoff-max", &AgentOptions::backoff_max)},
      {"shutdown-grace", duration("--shutdown-grace", &AgentOptions::shutdown_grace)},
  };
}

Status validate(const AgentOptions& options) {
  if (options.state_dir.empty()) return invalidArgument("--state-dir is required");
  if (options.node_prefix.empty()) return invalidArgument("--node-prefix must not be empty");
  if (options.heartbeat < std::chrono::seconds(1)) {
    return invalidArgument("--heartbeat must be at least 1s");
  }
  if (options.backoff_base.count() <= 0 || options.backoff_max < options.backoff_base) {
    return invalidArgument("--backoff-base must be > 0 and <= --backoff-max");
  }
  return Status::ok();
}

}  // namespace

std::string agentUsage() {
  return R"(sk-node-agent: plays kubelet for several Nodes on this machine (test infrastructure).

  --kubeconfig PATH        admin kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --nodes N                number of Nodes to register (default 3)
  --node-prefix NAME       Node names are NAME-0..NAME-(N-1) (default sk-node)
  --zone-prefix TEXT       topology.kubernetes.io/zone values TEXTa, TEXTb, TEXTc (default zone-)
  --state-dir DIR          pod dirs, PV dirs and allocator state (required)
  --pod-cidr CIDR          loopback range for pod IPs (default 127.20.0.0/16)
  --operator-image N=PATH  run containers of image N (repository[:tag]) as PATH; repeatable
  --redis-server PATH      binary for redis images (default /usr/bin/redis-server)
  --node-cpu Q --node-memory Q --max-pods N   capacity per Node (default 4, 8Gi, 110)
  --node-ip IP             InternalIP of the Nodes and hostIP of pods (default 127.0.0.1)
  --storage-class NAME     StorageClass created for the provisioner ("" = none; default local)
  --heartbeat D            Lease renewal period (default 10s)
  --backoff-base D --backoff-max D   container restart back-off (default 1s, 30s)
  --shutdown-grace D       cap on each pod's grace period when the agent stops (default 10s)
  --keep-pod-dirs          keep volume contents of deleted pods
  --log-level L            debug|info|warn|error (default info)
)";
}

Result<AgentOptions> parseAgentArgs(const std::vector<std::string>& args) {
  AgentOptions options;
  const auto table = setters();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") return aborted(agentUsage());
    if (!arg.starts_with("--")) return invalidArgument("unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2);
    if (name == "keep-pod-dirs") {
      options.keep_pod_dirs = true;
      continue;
    }
    std::string value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) return invalidArgument("--" + name + " needs a value");
      value = args[++i];
    }
    auto setter = table.find(name);
    if (setter == table.end()) return invalidArgument("unknown flag --" + name);
    RETURN_IF_ERROR(setter->second(value, &options));
  }
  RETURN_IF_ERROR(validate(options));
  return options;
}

}  // namespace slotkeeper::agent
