#include "bench/bench_bed.h"

#include <cstdio>
#include <cstdlib>

#include "common/clock.h"
#include "engine/converge.h"
#include "reconciler/act.h"
#include "redis/support/cluster_data.h"

namespace slotkeeper::test {

void die(const std::string& what, const Status& s) {
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

SliceRun rebalanceInOperatorSlices(Bed& bed, const engine::ExecutorOptions& options) {
  RealClock clock;
  const reconciler::ActOptions act;
  const topology::DesiredShape shape = shapeOf(bed.servers, 4);
  SliceRun run;
  while (true) {
    auto observed = engine::observeDesired(bed.connector, shape);
    if (!observed.isOk()) die("observe", observed.status());
    auto plan = topology::makePlan(*observed, shape);
    if (!plan.isOk()) die("plan", plan.status());
    if (plan->empty()) return run;
    engine::ExecutorOptions slice = options;
    slice.move.slots_per_wave = act.slots_per_wave;
    const auto deadline = clock.now() + act.slice_budget;
    engine::Executor executor(bed.connector, clock, slice, {},
                              [&] { return clock.now() >= deadline; });
    Status ran = executor.run(*plan, *observed);
    if (!ran.isOk() && ran.code() != StatusCode::kAborted) die("slice", ran);
    ++run.slices;
    run.slots += executor.slotsMoved();
    run.keys += executor.keysMoved();
  }
}

void rebalanceWithRedisCli(Bed& bed, int pipeline) {
  std::string cmd = "redis-cli --cluster rebalance " + bed.servers.address(0) +
                    " --cluster-use-empty-masters --cluster-pipeline " + std::to_string(pipeline) +
                    " > /dev/null 2>&1";
  int code = -1;
  runCommand(cmd, &code);
  if (code != 0) die("redis-cli rebalance", internalError("exit code " + std::to_string(code)));
}

}  // namespace slotkeeper::test
