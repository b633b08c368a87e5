#include "cli/args.h"

#include <charconv>
#include <set>
#include <sstream>

#include "redis/node_client.h"

namespace slotkeeper::cli {
namespace {

Result<int> parseInt(const std::string& flag, const std::string& text, int min, int max) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return invalidArgument(flag + " needs a whole number, got '" + text + "'");
  }
  if (value < min || value > max) {
    return invalidArgument(flag + " must be between " + std::to_string(min) + " and " +
                           std::to_string(max) + ", got " + text);
  }
  return value;
}

Status checkCommandArgs(const CliArgs& a) {
  bool shaped = a.command == "apply" || a.command == "plan";
  if (a.nodes.empty()) return invalidArgument(a.command + " needs --nodes host:port,...");
  if (shaped && a.masters < 0) return invalidArgument(a.command + " needs --masters");
  if (shaped && a.replicas < 0) return invalidArgument(a.command + " needs --replicas");
  return Status::ok();
}

}  // namespace

Result<std::vector<topology::DesiredNode>> parseNodeList(const std::string& text) {
  std::vector<topology::DesiredNode> nodes;
  std::set<std::string> seen;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    topology::DesiredNode node;
    auto at = item.find('@');
    node.address = item.substr(0, at);
    if (at != std::string::npos) node.failure_domain = item.substr(at + 1);
    auto split = redis::splitAddress(node.address);
    if (!split.isOk()) return split.status().withContext("--nodes entry '" + item + "'");
    if (!seen.insert(node.address).second) {
      return invalidArgument("--nodes lists " + node.address + " twice");
    }
    nodes.push_back(std::move(node));
  }
  if (nodes.empty()) return invalidArgument("--nodes is empty");
  return nodes;
}

Result<CliArgs> parseArgs(const std::vector<std::string>& args, const std::string& env_password) {
  CliArgs out;
  out.password = env_password;
  if (args.empty()) return invalidArgument("no command given\n" + usage());
  out.command = args[0];
  static const std::set<std::string> kCommands = {"apply", "plan",    "check",  "slots",
                                                  "help",  "version", "--help", "--version"};
  if (!kCommands.count(out.command)) {
    return invalidArgument("unknown command '" + out.command + "'\n" + usage());
  }
  if (out.command == "--help") out.command = "help";
  if (out.command == "--version") out.command = "version";
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--json-logs") {
      out.json_logs = true;
      continue;
    }
    if (i + 1 >= args.size()) return invalidArgument(flag + " needs a value");
    const std::string& value = args[++i];
    if (flag == "--masters") {
      ASSIGN_OR_RETURN(out.masters, parseInt(flag, value, 0, 1000));
    } else if (flag == "--replicas") {
      ASSIGN_OR_RETURN(out.replicas, parseInt(flag, value, 0, 5));
    } else if (flag == "--nodes") {
      ASSIGN_OR_RETURN(out.nodes, parseNodeList(value));
    } else if (flag == "--password") {
      out.password = value;
    } else if (flag == "--batch-keys") {
      ASSIGN_OR_RETURN(out.batch_keys, parseInt(flag, value, 1, 100000));
    } else if (flag == "--slots-per-round-trip") {
      ASSIGN_OR_RETURN(out.slots_per_round_trip, parseInt(flag, value, 1, 1024));
    } else if (flag == "--parallel-moves") {
      ASSIGN_OR_RETURN(out.parallel_moves, parseInt(flag, value, 1, 16));
    } else if (flag == "--watch") {
      ASSIGN_OR_RETURN(out.watch_seconds, parseInt(flag, value, 1, 3600));
    } else if (flag == "--timeout") {
      ASSIGN_OR_RETURN(out.timeout_seconds, parseInt(flag, value, 1, 86400));
    } else if (flag == "--log-level") {
      out.log_level = value;
    } else {
      return invalidArgument("unknown flag '" + flag + "'\n" + usage());
    }
  }
  if (out.command == "help" || out.command == "version") return out;
  RETURN_IF_ERROR(checkCommandArgs(out));
  return out;
}

std::string usage() {
  return R"(usage: slotkeeper-cli <command> [flags]

commands:
  apply   --masters M --replicas R --nodes host:port[@domain],...
          Drive the nodes to M masters with R replicas each. The node list is the complete
          desired membership: members left out are drained of their slots and forgotten.
  plan    (same flags as apply) Print the steps apply would take; changes nothing.
  check   --nodes host:port,...   Verify slot coverage, open slots, agreement and replicas.
  slots   --nodes host:port,... [--watch SECONDS]   Slot distribution per master, replicas and links.

flags:
  --password P       AUTH password (or SLOTKEEPER_PASSWORD in the environment)
  --batch-keys N     keys per MIGRATE (default 1000)
  --slots-per-round-trip N
                     MIGRATEs (one per slot) sent to a source at once (default )" +
         std::to_string(engine::MoveOptions{}.slots_per_pipeline) + R"(); fewer: lower
                     client latency on the source while slots move, a slower move
  --parallel-moves N source masters moving slots at the same time (default )" +
         std::to_string(engine::ExecutorOptions{}.max_parallel_moves) + R"()
  --timeout S        seconds to wait for config agreement between phases (default 60)
  --log-level L      debug|info|warn|error (default info)
  --json-logs        log one JSON object per line instead of plain text
)";
}

}  // namespace slotkeeper::cli
