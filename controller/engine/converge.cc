#include "engine/converge.h"

#include <map>

#include "common/log.h"
#include "engine/observer.h"

namespace slotkeeper::engine {

Result<topology::ObservedCluster> observeDesired(redis::NodeConnector& connector,
                                                 const topology::DesiredShape& desired) {
  std::vector<std::string> addresses;
  std::map<std::string, std::string> domains;
  for (const auto& n : desired.nodes) {
    addresses.push_back(n.address);
    if (!n.failure_domain.empty()) domains[n.address] = n.failure_domain;
  }
  return observeCluster(connector, addresses, domains);
}

Result<ConvergeReport> converge(redis::NodeConnector& connector, Clock& clock,
                                const topology::DesiredShape& desired,
                                const ConvergeOptions& options, Executor::ProgressFn on_progress,
                                Executor::StopFn should_stop) {
  ConvergeReport report;
  Executor executor(connector, clock, options.executor, std::move(on_progress), should_stop);
  for (int round = 1; round <= options.max_rounds; ++round) {
    report.rounds = round;
    const auto observing = clock.now();
    ASSIGN_OR_RETURN(auto observed, observeDesired(connector, desired));
    ASSIGN_OR_RETURN(auto plan, topology::makePlan(observed, desired));
    report.observe_and_plan_seconds +=
        std::chrono::duration<double>(clock.now() - observing).count();
    if (plan.empty()) {
      report.slots_moved = executor.slotsMoved();
      report.keys_moved = executor.keysMoved();
      report.key_conflicts = executor.keyConflicts();
      report.seconds_by_step = executor.secondsByStep();
      return report;
    }
    log::info("plan", {{"round", round}, {"steps", plan.steps.size()}});
    Status ran = executor.run(plan, observed);
    if (ran.code() == StatusCode::kConflict) {
      log::warn("replanning", {{"round", round}, {"reason", ran.message()}});
      continue;
    }
    RETURN_IF_ERROR(ran);
    report.steps_executed += static_cast<int>(plan.steps.size());
  }
  return failedPrecondition("the cluster did not converge within " +
                            std::to_string(options.max_rounds) +
                            " rounds; the last plan was executed without error, so the cluster "
                            "is changing under the engine");
}

}  // namespace slotkeeper::engine
