#include "operator/flags.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <sstream>

namespace slotkeeper::op {
namespace {

Result<int> parseBoundedInt(const std::string& flag, const std::string& text, int min, int max) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    return invalidArgument(flag + " needs a number from " + std::to_string(min) + " to " +
                           std::to_string(max) + ", got '" + text + "'");
  }
  return value;
}

Result<bool> parseBool(const std::string& flag, const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return invalidArgument(flag + " needs true or false, got '" + text + "'");
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Lower-case alphanumerics, '-' and '.', starting and ending alphanumeric, at most 253: what the
// API server accepts as an object name, checked here so a typo fails at start, not at each renew.
bool isDnsSubdomain(const std::string& text) {
  if (text.empty() || text.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(text.front()) || !alnum(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

}  // namespace

Result<OperatorFlags> parseOperatorFlags(const std::vector<std::string>& args) {
  OperatorFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    auto eq = flag.find('=');
    bool has_inline_value = eq != std::string::npos;
    if (has_inline_value) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--help" || flag == "-h") {
      flags.show_help = true;
      continue;
    }
    if (flag == "--version") {
      flags.show_version = true;
      continue;
    }
    static const char* kValueFlags[] = {
        "--kubeconfig",           "--namespaces",   "--leader-elect", "--leader-election-namespace",
        "--leader-election-id",   "--http-address", "--log-level",    "--workers",
        "--health-check-interval"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), flag) == std::end(kValueFlags)) {
      return invalidArgument("unknown flag '" + flag + "'; see --help");
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return invalidArgument(flag + " needs a value");
      value = args[++i];
    }
    if (flag == "--kubeconfig") {
      flags.kubeconfig = value;
    } else if (flag == "--namespaces") {
      flags.namespaces = splitList(value);
    } else if (flag == "--leader-elect") {
      ASSIGN_OR_RETURN(flags.leader_elect, parseBool(flag, value));
    } else if (flag == "--leader-election-namespace") {
      flags.leader_election_namespace = value;
    } else if (flag == "--leader-election-id") {
      if (!isDnsSubdomain(value)) {
        return invalidArgument("--leader-election-id: \"" + value +
                               "\" is not a valid Lease name (lower-case DNS subdomain)");
      }
      flags.leader_election_id = value;
    } else if (flag == "--http-address") {
      flags.http_address = value;
    } else if (flag == "--log-level") {
      flags.log_level = value;
    } else if (flag == "--workers") {
      ASSIGN_OR_RETURN(flags.workers, parseBoundedInt(flag, value, 1, 64));
    } else if (flag == "--health-check-interval") {
      ASSIGN_OR_RETURN(int seconds, parseBoundedInt(flag, value, 1, 3600));
      flags.health_check_interval = std::chrono::seconds(seconds);
    } else {
      return invalidArgument("unknown flag '" + flag + "'; see --help");
    }
  }
  return flags;
}

std::string operatorUsage() {
  return R"(usage: slotkeeper [flags]

Runs the slotkeeper operator: reconciles RedisCluster objects (redis.slotkeeper.io/v1alpha1).

flags:
  --kubeconfig PATH                 kubeconfig to use (default: in-cluster, then $KUBECONFIG)
  --namespaces a,b                  watch only these namespaces (default: all)
  --leader-elect true|false         elect a leader through a Lease (default true)
  --leader-election-namespace NS    namespace of the Lease (default: own namespace or default)
  --leader-election-id NAME         name of the Lease (default slotkeeper-leader); operators
                                    sharing a namespace need different names
  --http-address HOST:PORT          serve /metrics /healthz /readyz (default 127.0.0.1:8080)
  --log-level debug|info|warn|error (default info)
  --workers N                       clusters reconciled in parallel (default 16)
  --health-check-interval SECONDS   periodic check of each live cluster (default 30)
  --version                         print the version and exit
  --help                            print this help and exit
)";
}

}  // namespace slotkeeper::op
