// Big-cluster benchmark: 30 masters x 1 replica (60 redis-servers) formed, loaded with 1M keys,
// scaled to 40 x 1 (80 servers) and back to 30 x 1 by the engine the operator runs. Each step is
// timed and split into observing and planning, agreement waits, key moves and the rest, with the
// commands it sent to Redis by name. The whole run is done twice side by side: agreement
// polling that backs off (the default) and the fixed 10 ms polling it replaced; the ratios are
// printed at the end. Every key is read back after each scale.
// Usage: sk_bench_big_cluster [keys] [masters_from] [masters_to] [--default-polling-only]
//   (default 1000000 30 40; the last flag skips the fixed-polling run)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "bench/bench_bed.h"
#include "common/clock.h"
#include "common/log.h"
#include "engine/converge.h"
#include "redis/support/cluster_data.h"

namespace slotkeeper::test {
namespace {

using Seconds = std::chrono::duration<double>;

// Counted next to the commands, in parentheses so no command name can match them.
constexpr const char* kRoundTrips = "(round trips)";
constexpr const char* kConnections = "(connections)";

// Counts the commands sent through it by name ("CLUSTER NODES", "MIGRATE", ...), the round trips
// (pipelines) they went in and the connections opened.
class CountingConnector final : public redis::NodeConnector {
 public:
  explicit CountingConnector(redis::NodeConnector& real) : real_(real) {}

  Result<std::unique_ptr<redis::NodeClient>> connect(const std::string& address) override {
    ASSIGN_OR_RETURN(auto client, real_.connect(address));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[kConnections];
    }
    return std::unique_ptr<redis::NodeClient>(std::make_unique<Client>(std::move(client), *this));
  }

  // The counts since the last call.
  std::map<std::string, int64_t> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(counts_, {});
  }

 private:
  class Client final : public redis::NodeClient {
   public:
    Client(std::unique_ptr<redis::NodeClient> real, CountingConnector& owner)
        : real_(std::move(real)), owner_(owner) {}
    const std::string& address() const override { return real_->address(); }
    Result<std::vector<redis::Reply>> pipeline(
        const std::vector<redis::Command>& commands) override {
      owner_.count(commands);
      return real_->pipeline(commands);
    }

   private:
    std::unique_ptr<redis::NodeClient> real_;
    CountingConnector& owner_;
  };

  void count(const std::vector<redis::Command>& commands) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[kRoundTrips];
    for (const auto& cmd : commands) {
      if (cmd.empty()) continue;
      std::string name = cmd[0];
      if (cmd.size() > 1 && (name == "CLUSTER" || name == "CONFIG" || name == "INFO")) {
        name += " " + cmd[1];
      }
      ++counts_[name];
    }
  }

  redis::NodeConnector& real_;
  std::mutex mu_;
  std::map<std::string, int64_t> counts_;
};

topology::DesiredShape mastersWithOneReplica(const RedisServers& servers, int masters) {
  topology::DesiredShape shape{masters, 1, {}};
  for (int i = 0; i < masters * 2; ++i) shape.nodes.push_back({servers.address(i), "", -1});
  return shape;
}

struct StepResult {
  double seconds = 0;
  engine::ConvergeReport report;
  std::map<std::string, int64_t> commands;
};

StepResult timedConverge(CountingConnector& counting, const topology::DesiredShape& shape,
                         const engine::ConvergeOptions& options, const std::string& name) {
  RealClock clock;
  counting.take();
  const auto start = std::chrono::steady_clock::now();
  auto report = engine::converge(counting, clock, shape, options);
  StepResult out;
  out.seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  if (!report.isOk()) die(name, report.status());
  out.report = *report;
  out.commands = counting.take();
  return out;
}

int64_t reads(const StepResult& r, const std::string& cmd) {
  auto it = r.commands.find(cmd);
  return it == r.commands.end() ? 0 : it->second;
}

void printStep(const std::string& name, const StepResult& r) {
  const auto& by = r.report.seconds_by_step;
  auto part = [&](const char* kind) {
    auto it = by.find(kind);
    return it == by.end() ? 0.0 : it->second;
  };
  std::printf(
      "  %-22s %7.2f s  (observe+plan %5.2f, agreement %5.2f, moves %5.2f, other %5.2f)  "
      "%lld slots, %lld keys moved\n",
      name.c_str(), r.seconds, r.report.observe_and_plan_seconds, part("agreement"), part("moves"),
      part("other") + part("settles"), static_cast<long long>(r.report.slots_moved),
      static_cast<long long>(r.report.keys_moved));
  int64_t total = 0;
  std::vector<std::pair<int64_t, std::string>> top;
  for (const auto& [cmd, n] : r.commands) {
    if (cmd.front() == '(') continue;
    total += n;
    top.push_back({n, cmd});
  }
  std::printf("  %-22s %lld round trips on %lld connections; commands sent (%lld in all):", "",
              static_cast<long long>(reads(r, kRoundTrips)),
              static_cast<long long>(reads(r, kConnections)), static_cast<long long>(total));
  std::sort(top.rbegin(), top.rend());
  for (size_t i = 0; i < top.size() && i < 5; ++i) {
    std::printf(" %s %lld%s", top[i].second.c_str(), static_cast<long long>(top[i].first),
                i + 1 < top.size() && i < 4 ? "," : "");
  }
  std::printf("\n");
}

void verifyKeys(redis::NodeConnector& connector, const RedisServers& servers, const Dataset& data,
                const std::string& when) {
  auto verified = verifyDataset(connector, servers.address(0), data);
  if (!verified.isOk()) die("verify " + when, verified.status());
  if (!verified->allPresent() || verified->checked != static_cast<int64_t>(data.keys.size())) {
    die("verify " + when, internalError(std::to_string(verified->missing) + " keys missing, " +
                                        std::to_string(verified->wrong_value) + " wrong"));
  }
  std::printf("  %-22s all %lld keys read back\n", "", static_cast<long long>(verified->checked));
}

struct Run {
  StepResult create, grow, shrink;
};

Run runScenario(int keys, int from, int to, const engine::ConvergeOptions& options,
                const std::string& label) {
  std::printf("\n%s\n", label.c_str());
  RedisServers servers({.count = to * 2});
  check("servers", servers.status());
  redis::HiredisConnector real(servers.connectOptions());
  CountingConnector counting(real);
  Run run;
  run.create = timedConverge(counting, mastersWithOneReplica(servers, from), options, "create");
  printStep("create " + std::to_string(from) + "x1", run.create);
  const Dataset data = makeDataset(keys, 0);
  const auto load_start = std::chrono::steady_clock::now();
  check("load", loadDataset(real, servers.address(0), data));
  std::printf("  %-22s %7.2f s\n", "load keys",
              Seconds(std::chrono::steady_clock::now() - load_start).count());
  run.grow = timedConverge(counting, mastersWithOneReplica(servers, to), options, "scale out");
  printStep("scale to " + std::to_string(to) + "x1", run.grow);
  verifyKeys(real, servers, data, "after scale out");
  run.shrink = timedConverge(counting, mastersWithOneReplica(servers, from), options, "scale in");
  printStep("scale back to " + std::to_string(from) + "x1", run.shrink);
  verifyKeys(real, servers, data, "after scale in");
  return run;
}

void printRatio(const std::string& step, const StepResult& backoff, const StepResult& fixed) {
  std::printf(
      "  %-10s time fixed/backoff %5.2fx, agreement time %5.2fx, CLUSTER NODES reads "
      "%lld vs %lld (%5.2fx fewer)\n",
      step.c_str(), fixed.seconds / backoff.seconds,
      fixed.report.seconds_by_step.count("agreement") == 0 ||
              backoff.report.seconds_by_step.at("agreement") == 0
          ? 0.0
          : fixed.report.seconds_by_step.at("agreement") /
                backoff.report.seconds_by_step.at("agreement"),
      static_cast<long long>(reads(backoff, "CLUSTER NODES")),
      static_cast<long long>(reads(fixed, "CLUSTER NODES")),
      static_cast<double>(reads(fixed, "CLUSTER NODES")) /
          static_cast<double>(std::max<int64_t>(1, reads(backoff, "CLUSTER NODES"))));
}

}  // namespace
}  // namespace slotkeeper::test

int main(int argc, char** argv) {
  using namespace slotkeeper;
  using namespace slotkeeper::test;
  const int keys = argc > 1 ? std::atoi(argv[1]) : 1000000;
  const int from = argc > 2 ? std::atoi(argv[2]) : 30;
  const int to = argc > 3 ? std::atoi(argv[3]) : 40;
  const bool one_run = argc > 4 && std::string(argv[4]) == "--default-polling-only";
  if (keys < 0 || from < 3 || to <= from || (argc > 4 && !one_run)) {
    std::fprintf(stderr,
                 "usage: sk_bench_big_cluster [keys] [masters_from>=3] [masters_to>from] "
                 "[--default-polling-only]\n");
    return 2;
  }
  log::setLevel(log::Level::kWarn);
  std::printf("big-cluster benchmark: %dx1 -> %dx1 -> %dx1 with %d keys\n", from, to, from, keys);
  engine::ConvergeOptions backoff;
  engine::ConvergeOptions fixed;
  fixed.executor.agreement.max_poll_interval = fixed.executor.agreement.poll_interval;
  const Run a = runScenario(keys, from, to, backoff,
                            "agreement polling backs off (10 ms doubling to 160 ms, the default)");
  if (one_run) return 0;
  const Run b = runScenario(keys, from, to, fixed, "agreement polling fixed at 10 ms");
  std::printf("\nratios (fixed polling against backing off):\n");
  printRatio("create", a.create, b.create);
  printRatio("scale out", a.grow, b.grow);
  printRatio("scale in", a.shrink, b.shrink);
  return 0;
}
