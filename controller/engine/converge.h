// observe → plan → execute, repeated until the plan is empty: the engine's top-level loop, used
// by the CLI's `apply` and by the operator's reconciler.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "engine/executor.h"
#include "redis/node_client.h"
#include "topology/model.h"
#include "topology/plan.h"

namespace slotkeeper::engine {

struct ConvergeOptions {
  ExecutorOptions executor;
  // Each round re-observes the live cluster; a healthy run needs two (act, then confirm), a
  // run that resumes after a crash three (settle, act, confirm).
  int max_rounds = 6;
};

struct ConvergeReport {
  int rounds = 0;
  int steps_executed = 0;
  int64_t slots_moved = 0;
  int64_t keys_moved = 0;
  int64_t key_conflicts = 0;  // keys on both sides with different values; the holder's kept
  double observe_and_plan_seconds = 0;
  std::map<std::string, double> seconds_by_step;  // Executor::secondsByStep()
};

// Observes every desired node (and every member they know), for the planner.
Result<topology::ObservedCluster> observeDesired(redis::NodeConnector& connector,
                                                 const topology::DesiredShape& desired);

// Drives the cluster to `desired`. Returns the first refusal or failure unchanged.
Result<ConvergeReport> converge(redis::NodeConnector& connector, Clock& clock,
                                const topology::DesiredShape& desired,
                                const ConvergeOptions& options,
                                Executor::ProgressFn on_progress = {},
                                Executor::StopFn should_stop = {});

}  // namespace slotkeeper::engine
