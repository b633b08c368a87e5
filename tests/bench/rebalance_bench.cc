// Rebalance benchmark: 1,000,000 keys in a 3-master cluster, then a 4th (empty) master joins
// and a quarter of the slots move to it. Timed side by side on identical data:
//   - slotkeeper's engine,
//   - redis-cli --cluster rebalance --cluster-use-empty-masters at pipeline 10 and 1000,
//   - a raw MIGRATE loop between two standalone nodes moving the same number of keys (the
//     physical limit of MIGRATE on this machine),
// plus the engine on an empty cluster (pure slot bookkeeping), and the engine the way the
// operator drives it: bounded slices (ActOptions: waves and time budget), each re-observing and
// re-planning, as consecutive reconcile passes do. Prints times and ratios.
// Usage: sk_bench_rebalance [keys]   (default 1000000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/clock.h"
#include "engine/converge.h"
#include "reconciler/act.h"
#include "redis/hiredis_client.h"
#include "redis/support/cluster_data.h"
#include "redis/support/redis_fixture.h"

namespace slotkeeper::test {
namespace {

using Seconds = std::chrono::duration<double>;

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), s.toString().c_str());
  std::exit(1);
}

void check(const std::string& what, const Status& s) {
  if (!s.isOk()) die(what, s);
}

topology::DesiredShape shapeOf(const RedisServers& servers, int masters) {
  topology::DesiredShape shape{masters, 0, {}};
  for (int i = 0; i < masters; ++i) shape.nodes.push_back({servers.address(i), "", -1});
  return shape;
}

// A 3-master cluster holding `keys` small keys, with a 4th empty master already met, so every
// contender times only the rebalance itself.
struct Bed {
  RedisServers servers{{.count = 4}};
  redis::HiredisConnector connector{servers.connectOptions()};
};

void prepareBed(Bed& bed, int keys) {
  check("servers", bed.servers.status());
  RealClock clock;
  engine::ConvergeOptions options;
  auto formed = engine::converge(bed.connector, clock, shapeOf(bed.servers, 3), options);
  if (!formed.isOk()) die("form", formed.status());
  check("load", loadDataset(bed.connector, bed.servers.address(0), makeDataset(keys, 0)));
  auto seed = bed.connector.connect(bed.servers.address(0));
  if (!seed.isOk()) die("connect", seed.status());
  check("meet", (*seed)->clusterMeet(bed.servers.ip(3), bed.servers.port(3)));
  check("agree", engine::waitForAgreement(bed.connector,
                                          {bed.servers.address(0), bed.servers.address(1),
                                           bed.servers.address(2), bed.servers.address(3)},
                                          clock));
}

double timeEngine(int keys) {
  Bed bed;
  prepareBed(bed, keys);
  RealClock clock;
  engine::ConvergeOptions options;
  auto start = std::chrono::steady_clock::now();
  auto report = engine::converge(bed.connector, clock, shapeOf(bed.servers, 4), options);
  double seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  if (!report.isOk()) die("engine rebalance", report.status());
  std::printf("  engine: %lld slots, %lld keys moved\n",
              static_cast<long long>(report->slots_moved),
              static_cast<long long>(report->keys_moved));
  return seconds;
}

// Consecutive passes of the operator, without Kubernetes: observe, plan, run one slice.
double timeSlicedEngine(int keys) {
  Bed bed;
  prepareBed(bed, keys);
  RealClock clock;
  const reconciler::ActOptions act;
  const topology::DesiredShape shape = shapeOf(bed.servers, 4);
  int slices = 0;
  int64_t slots = 0, moved = 0;
  auto start = std::chrono::steady_clock::now();
  while (true) {
    auto observed = engine::observeDesired(bed.connector, shape);
    if (!observed.isOk()) die("observe", observed.status());
    auto plan = topology::makePlan(*observed, shape);
    if (!plan.isOk()) die("plan", plan.status());
    if (plan->empty()) break;
    engine::ExecutorOptions options;
    options.move.slots_per_wave = act.slots_per_wave;
    const auto deadline = clock.now() + act.slice_budget;
    engine::Executor executor(bed.connector, clock, options, {},
                              [&] { return clock.now() >= deadline; });
    Status ran = executor.run(*plan, *observed);
    if (!ran.isOk() && ran.code() != StatusCode::kAborted) die("slice", ran);
    ++slices;
    slots += executor.slotsMoved();
    moved += executor.keysMoved();
  }
  double seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  std::printf("  operator slices: %d slices, %lld slots, %lld keys moved\n", slices,
              static_cast<long long>(slots), static_cast<long long>(moved));
  return seconds;
}

double timeRedisCli(int keys, int pipeline) {
  Bed bed;
  prepareBed(bed, keys);
  std::string cmd = "redis-cli --cluster rebalance " + bed.servers.address(0) +
                    " --cluster-use-empty-masters --cluster-pipeline " + std::to_string(pipeline) +
                    " > /dev/null 2>&1";
  int code = -1;
  auto start = std::chrono::steady_clock::now();
  runCommand(cmd, &code);
  double seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  if (code != 0) die("redis-cli rebalance", internalError("exit code " + std::to_string(code)));
  return seconds;
}

// MIGRATE between two standalone nodes, 1000 keys per call, for `keys` keys.
double timeRawMigrate(int keys) {
  RedisServers servers({.count = 2, .cluster_enabled = false});
  check("servers", servers.status());
  redis::HiredisConnector connector(servers.connectOptions());
  auto source = connector.connect(servers.address(0));
  if (!source.isOk()) die("connect", source.status());
  Dataset data = makeDataset(keys, 0);
  for (size_t i = 0; i < data.keys.size(); i += 1000) {
    std::vector<redis::Command> batch;
    for (size_t j = i; j < std::min(data.keys.size(), i + 1000); ++j) {
      batch.push_back({"SET", data.keys[j], expectedValue(data, data.keys[j])});
    }
    auto r = (*source)->pipeline(batch);
    if (!r.isOk()) die("load", r.status());
  }
  // The key names are known, so the loop is nothing but MIGRATE calls of 1000 keys each.
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < data.keys.size(); i += 1000) {
    std::vector<std::string> batch(
        data.keys.begin() + static_cast<long>(i),
        data.keys.begin() + static_cast<long>(std::min(data.keys.size(), i + 1000)));
    check("migrate", (*source)->migrateKeys(servers.ip(1), servers.port(1), batch, {}));
  }
  return Seconds(std::chrono::steady_clock::now() - start).count();
}

}  // namespace
}  // namespace slotkeeper::test

int main(int argc, char** argv) {
  using namespace slotkeeper::test;
  int keys = argc > 1 ? std::atoi(argv[1]) : 1000000;
  std::printf("rebalance benchmark: %d keys in 3 masters, add a 4th master\n", keys);
  double engine = timeEngine(keys);
  std::printf("engine rebalance:                 %8.2f s\n", engine);
  double sliced = timeSlicedEngine(keys);
  std::printf("engine in operator slices:        %8.2f s\n", sliced);
  double cli10 = timeRedisCli(keys, 10);
  std::printf("redis-cli rebalance pipeline 10:  %8.2f s\n", cli10);
  double cli1000 = timeRedisCli(keys, 1000);
  std::printf("redis-cli rebalance pipeline 1000:%8.2f s\n", cli1000);
  double raw = timeRawMigrate(keys / 4);
  std::printf("raw MIGRATE loop (%d keys):   %8.2f s\n", keys / 4, raw);
  double empty = timeEngine(0);
  std::printf("engine rebalance, 0 keys:         %8.3f s\n", empty);
  std::printf("\nratios:\n");
  std::printf("  redis-cli p10   / engine = %6.2fx faster (target >= 4x vs p1000)\n",
              cli10 / engine);
  std::printf("  redis-cli p1000 / engine = %6.2fx faster (target >= 4x)\n", cli1000 / engine);
  std::printf("  engine / raw MIGRATE     = %6.2fx (target <= 2x)\n", engine / raw);
  std::printf("  operator slices / engine = %6.2fx (target <= 1.1x)\n", sliced / engine);
  std::printf("  redis-cli p1000 / slices = %6.2fx faster\n", cli1000 / sliced);
  std::printf("  0-key rebalance          = %6.3f s (target < 1 s)\n", empty);
  return 0;
}
