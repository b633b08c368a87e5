// What the rebalance benchmarks share: a 3-master cluster of real redis-servers holding a data
// set, with a 4th empty master already met, and the ways of moving a quarter of the slots to it.
#pragma once

#include <string>

#include "common/status.h"
#include "engine/executor.h"
#include "redis/hiredis_client.h"
#include "redis/support/redis_fixture.h"
#include "topology/model.h"

namespace slotkeeper::test {

[[noreturn]] void die(const std::string& what, const Status& s);
void check(const std::string& what, const Status& s);

struct Bed {
  RedisServers servers{{.count = 4}};
  redis::HiredisConnector connector{servers.connectOptions()};
};

// The first `masters` servers as a desired shape without replicas.
topology::DesiredShape shapeOf(const RedisServers& servers, int masters);

// Forms the 3-master cluster, loads `keys` small keys and meets the 4th (empty) master, so
// every contender times only the rebalance itself.
void prepareBed(Bed& bed, int keys);

struct SliceRun {
  int slices = 0;
  int64_t slots = 0;
  int64_t keys = 0;
};

// Moves slots to the 4th master the way the operator does: consecutive bounded slices (its
// default waves and time budget), each re-observing and re-planning, with `options` for the
// moves themselves.
SliceRun rebalanceInOperatorSlices(Bed& bed, const engine::ExecutorOptions& options);

// `redis-cli --cluster rebalance --cluster-use-empty-masters` at `pipeline`; dies on failure.
void rebalanceWithRedisCli(Bed& bed, int pipeline);

}  // namespace slotkeeper::test
