// Live settings reach running nodes: one CONFIG SET per node, behind the Lease fence.
#include "common/log.h"
#include "reconciler/act.h"
#include "resources/config_map.h"

namespace slotkeeper::reconciler {

Status applyLiveConfig(RedisPort& redis, const kube::ReconcileContext& context,
                       const ActOptions& options, const Snapshot& snapshot,
                       const Decision& decision, const SnapshotOptions& snapshot_options,
                       SnapshotMemory* memory) {
  if (decision.config_updates.empty()) return Status::ok();
  const auto& cluster = snapshot.cluster;
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  int applied = 0;
  for (const auto& update : decision.config_updates) {
    if (!context.mayWriteFor(options.write_margin)) {
      return unavailable("not holding the Lease with time to spare; live settings not applied");
    }
    auto client = connector->connect(update.address);
    Status set = client.isOk() ? (*client)->configSetAll(update.settings) : client.status();
    if (!set.isOk()) {
      log::warn("live settings not applied", {{"cluster", cluster.ns + "/" + cluster.name},
                                              {"node", update.address},
                                              {"error", set.toString()}});
      continue;
    }
    memory->live_settings_applied[update.address] = update.hash;
    ++applied;
  }
  log::info("live settings applied", {{"cluster", cluster.ns + "/" + cluster.name},
                                      {"nodes", applied},
                                      {"hash", decision.config_updates.front().hash}});
  return Status::ok();
}

Status reloadCertificates(RedisPort& redis, const kube::ReconcileContext& context,
                          const ActOptions& options, const Snapshot& snapshot,
                          const Decision& decision, const SnapshotOptions& snapshot_options) {
  if (decision.certificate_reloads.empty()) return Status::ok();
  const auto& cluster = snapshot.cluster;
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  const auto settings = resources::makeTlsFileSettings();
  for (const auto& address : decision.certificate_reloads) {
    if (!context.mayWriteFor(options.write_margin)) {
      return unavailable("not holding the Lease with time to spare; certificates not reloaded");
    }
    auto client = connector->connect(address);
    Status set = client.isOk() ? (*client)->configSetAll(settings) : client.status();
    log::info("certificate reload", {{"cluster", cluster.ns + "/" + cluster.name},
                                     {"node", address},
                                     {"result", set.isOk() ? "ok" : set.toString()}});
  }
  return Status::ok();
}

Status switchTlsBus(RedisPort& redis, const kube::ReconcileContext& context,
                    const ActOptions& options, const Snapshot& snapshot, const Decision& decision,
                    const SnapshotOptions& snapshot_options) {
  if (decision.tls_bus_switches.empty()) return Status::ok();
  const auto& cluster = snapshot.cluster;
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  for (const auto& update : decision.tls_bus_switches) {
    if (!context.mayWriteFor(options.write_margin)) {
      return unavailable("not holding the Lease with time to spare; cluster bus not switched");
    }
    auto client = connector->connect(update.address);
    Status set = client.isOk() ? (*client)->configSetAll(update.settings) : client.status();
    log::info("cluster bus switch", {{"cluster", cluster.ns + "/" + cluster.name},
                                     {"node", update.address},
                                     {"result", set.isOk() ? "ok" : set.toString()}});
  }
  return Status::ok();
}

}  // namespace slotkeeper::reconciler
