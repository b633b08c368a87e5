// The side effects of a rolling restart: graceful failovers and pod deletions.
#include "common/log.h"
#include "reconciler/act.h"

namespace slotkeeper::reconciler {
namespace {

// Whether the node at the client calls itself master in its own CLUSTER NODES.
Result<bool> callsItselfMaster(redis::NodeClient& client) {
  ASSIGN_OR_RETURN(auto entries, client.clusterNodes());
  for (const auto& e : entries) {
    if (e.myself) return !e.replica;
  }
  return internalError("CLUSTER NODES of " + client.address() + " has no myself");
}

Status failOver(redis::NodeConnector& connector, Clock& clock, const ActOptions& options,
                const FailoverRequest& request) {
  ASSIGN_OR_RETURN(auto client, connector.connect(request.replica_address));
  // The default mode: the master stops its clients until this replica has its whole stream,
  // then the replica takes over. FORCE and TAKEOVER would skip that hand-over.
  RETURN_IF_ERROR(client->clusterFailover(redis::NodeClient::FailoverMode::kDefault)
                      .withContext("CLUSTER FAILOVER on " + request.replica_pod));
  const auto deadline = clock.now() + options.failover_timeout;
  while (true) {
    auto master = callsItselfMaster(*client);
    if (master.isOk() && *master) return Status::ok();
    if (clock.now() >= deadline) break;
    clock.sleepFor(options.failover_poll);
  }
  return deadlineExceeded("CLUSTER FAILOVER: pod " + request.replica_pod +
                          " did not become master of shard " + std::to_string(request.shard) +
                          " within " + std::to_string(options.failover_timeout.count()) + " ms; " +
                          request.master_pod + " keeps the role and is not restarted");
}

}  // namespace

Status runFailovers(RedisPort& redis, Clock& clock, const kube::ReconcileContext& context,
                    const ActOptions& options, const Snapshot& snapshot, const Decision& decision,
                    const SnapshotOptions& snapshot_options) {
  if (decision.failovers.empty()) return Status::ok();
  const auto& cluster = snapshot.cluster;
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  for (const auto& request : decision.failovers) {
    // CLUSTER FAILOVER is the only write; waiting for its outcome needs no Lease.
    if (!context.mayWriteFor(options.write_margin)) {
      return unavailable("not holding the Lease with time to spare for a failover; not writing");
    }
    RETURN_IF_ERROR(failOver(*connector, clock, options, request));
    log::info("failed over", {{"cluster", cluster.ns + "/" + cluster.name},
                              {"shard", request.shard},
                              {"new_master", request.replica_pod},
                              {"old_master", request.master_pod}});
  }
  return Status::ok();
}

Status restartPods(KubePort& kube, const Snapshot& snapshot, const Decision& decision,
                   SnapshotMemory* memory) {
  for (const auto& restart : decision.pod_restarts) {
    RETURN_IF_ERROR(kube.deletePod(snapshot.cluster.ns, restart.pod, restart.uid)
                        .withContext("restarting pod " + restart.pod));
    memory->deleted_pod_uids.insert(restart.uid);
    log::info("pod restarted", {{"cluster", snapshot.cluster.ns + "/" + snapshot.cluster.name},
                                {"pod", restart.pod},
                                {"why", restart.why}});
  }
  return Status::ok();
}

}  // namespace slotkeeper::reconciler
