#include "cli/commands.h"

#include <cstdio>
#include <map>
#include <thread>

#include "cli/slot_table.h"
#include "common/clock.h"
#include "common/log.h"
#include "engine/agreement.h"
#include "engine/converge.h"
#include "engine/observer.h"

namespace slotkeeper::cli {
namespace {

topology::DesiredShape shapeFrom(const CliArgs& args) {
  return {args.masters, args.replicas, args.nodes};
}

std::vector<std::string> addressesOf(const CliArgs& args) {
  std::vector<std::string> out;
  for (const auto& n : args.nodes) out.push_back(n.address);
  return out;
}

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.toString().c_str());
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

engine::ExecutorOptions executorOptions(const CliArgs& args) {
  engine::ExecutorOptions options;
  options.move.batch_keys = args.batch_keys;
  options.move.slots_per_pipeline = args.slots_per_round_trip;
  options.max_parallel_moves = args.parallel_moves;
  options.move.password = args.password;
  options.agreement.timeout = std::chrono::seconds(args.timeout_seconds);
  return options;
}

// Prints a progress line at most once a second while slots move.
class ProgressPrinter {
 public:
  void operator()(const engine::ExecutionProgress& p) {
    if (p.slots_total == 0) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(1) && p.slots_moved < p.slots_total) return;
    last_ = now;
    double rate = p.elapsed_seconds > 0 ? static_cast<double>(p.keys_moved) / p.elapsed_seconds : 0;
    std::fprintf(stderr, "progress: %lld/%lld slots, %lld keys moved, %.0f keys/s, %.1fs\n",
                 static_cast<long long>(p.slots_moved), static_cast<long long>(p.slots_total),
                 static_cast<long long>(p.keys_moved), rate, p.elapsed_seconds);
  }

 private:
  std::chrono::steady_clock::time_point last_{};
};

std::map<std::string, redis::ReplicationInfo> readReplication(
    redis::NodeConnector& connector, const topology::ObservedCluster& cluster) {
  std::map<std::string, redis::ReplicationInfo> out;
  for (const auto& n : cluster.nodes) {
    if (!n.reachable) continue;
    auto client = connector.connect(n.address);
    if (!client.isOk()) continue;
    auto info = (*client)->infoReplication();
    if (info.isOk()) out[n.address] = std::move(info).value();
  }
  return out;
}

}  // namespace

int runPlan(const CliArgs& args, redis::NodeConnector& connector) {
  auto shape = shapeFrom(args);
  auto observed = engine::observeDesired(connector, shape);
  if (!observed.isOk()) return fail(observed.status());
  auto plan = topology::makePlan(*observed, shape);
  if (!plan.isOk()) return fail(plan.status());
  if (plan->empty()) {
    std::printf("nothing to do: the cluster already has %d masters with %d replicas each\n",
                args.masters, args.replicas);
    return 0;
  }
  for (size_t i = 0; i < plan->steps.size(); ++i) {
    std::printf("%3zu. %s\n", i + 1, topology::describeStep(plan->steps[i]).c_str());
  }
  return 0;
}

int runApply(const CliArgs& args, redis::NodeConnector& connector) {
  RealClock clock;
  engine::ConvergeOptions options;
  options.executor = executorOptions(args);
  // A MIGRATE to a stalled target holds its source, and the source's peers fail it over once
  // that outlasts cluster-node-timeout; the operator caps from the spec, the CLI asks the nodes.
  options.executor.move.migrate_timeout_cap =
      engine::readSmallestNodeTimeout(connector, addressesOf(args)) / 2;
  auto started = std::chrono::steady_clock::now();
  ProgressPrinter printer;
  auto report = engine::converge(connector, clock, shapeFrom(args), options, std::ref(printer));
  if (!report.isOk()) return fail(report.status());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("converged: %d masters x %d replicas; %lld slots and %lld keys moved in %.2fs\n",
              args.masters, args.replicas, static_cast<long long>(report->slots_moved),
              static_cast<long long>(report->keys_moved), seconds);
  if (report->key_conflicts > 0) {
    std::printf(
        "%lld key(s) were on both sides of a move with different values (a failover "
        "mid-move); the copies of the node that kept serving them were kept\n",
        static_cast<long long>(report->key_conflicts));
  }
  return 0;
}

int runCheck(const CliArgs& args, redis::NodeConnector& connector) {
  auto observed = engine::observeCluster(connector, addressesOf(args));
  if (!observed.isOk()) return fail(observed.status());
  int errors = 0;
  auto report = [&](bool ok, const std::string& what) {
    std::printf("[%s] %s\n", ok ? "OK" : "ERR", what.c_str());
    if (!ok) ++errors;
  };
  SlotSet covered;
  int open = 0;
  std::vector<std::string> reachable;
  std::map<std::string, int> replicas_of;
  for (const auto& n : observed->nodes) {
    report(n.reachable, n.address + (n.reachable ? " reachable" : " unreachable"));
    if (n.reachable) reachable.push_back(n.address);
    if (n.is_master) covered = covered | n.slots;
    if (!n.is_master) ++replicas_of[n.master_id];
    open += static_cast<int>(n.open_slots.size());
  }
  report(covered.count() == kSlotCount,
         "slots covered: " + std::to_string(covered.count()) + "/" + std::to_string(kSlotCount));
  report(open == 0, "open slots: " + std::to_string(open));
  RealClock clock;
  engine::AgreementOptions once;
  once.timeout = std::chrono::milliseconds(0);
  Status agreed = engine::waitForAgreement(connector, reachable, clock, once);
  report(agreed.isOk(), agreed.isOk() ? "all nodes agree on the slot map and cluster_state is ok"
                                      : agreed.message());
  for (const auto& n : observed->nodes) {
    if (!n.is_master || n.slots.empty()) continue;
    int count = replicas_of[n.id];
    std::printf("[%s] master %s has %d replica(s)\n", count > 0 ? "OK" : "WARN", n.address.c_str(),
                count);
  }
  return errors == 0 ? 0 : 1;
}

int runSlots(const CliArgs& args, redis::NodeConnector& connector) {
  while (true) {
    auto observed = engine::observeCluster(connector, addressesOf(args));
    if (!observed.isOk()) return fail(observed.status());
    auto replication = readReplication(connector, *observed);
    if (args.watch_seconds > 0) std::printf("\033[H\033[2J");
    std::printf("%s", renderSlotTable(*observed, replication).c_str());
    std::fflush(stdout);
    if (args.watch_seconds == 0) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(args.watch_seconds));
  }
}

}  // namespace slotkeeper::cli
