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

#include "bench/bench_bed.h"
#include "common/clock.h"
#include "engine/converge.h"
#include "redis/support/cluster_data.h"

namespace slotkeeper::test {
namespace {

using Seconds = std::chrono::duration<double>;

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
  auto start = std::chrono::steady_clock::now();
  SliceRun run = rebalanceInOperatorSlices(bed, engine::ExecutorOptions{});
  double seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  std::printf("  operator slices: %d slices, %lld slots, %lld keys moved\n", run.slices,
              static_cast<long long>(run.slots), static_cast<long long>(run.keys));
  return seconds;
}

double timeRedisCli(int keys, int pipeline) {
  Bed bed;
  prepareBed(bed, keys);
  auto start = std::chrono::steady_clock::now();
  rebalanceWithRedisCli(bed, pipeline);
  return Seconds(std::chrono::steady_clock::now() - start).count();
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
