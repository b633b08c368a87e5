// A password rotation's step on every node it concerns, behind the Lease fence.
#include "common/log.h"
#include "reconciler/act.h"

namespace slotkeeper::reconciler {
namespace {

using Step = PasswordRotation::Step;

Status applyStep(redis::NodeClient& client, const PasswordRotation& rotation) {
  const std::string add = ">" + rotation.password;
  switch (rotation.step) {
    case Step::kAddNew:
      // Adds the password; the ones the user already has stay valid.
      return client.aclSetUser("default", {"on", add});
    case Step::kSwitchReplication:
      return client.configSet("masterauth", rotation.password);
    case Step::kRemoveOld:
      // One command: the user never goes without a password it accepts.
      return client.aclSetUser("default", {"resetpass", add});
    default:
      return Status::ok();
  }
}

}  // namespace

Status applyPasswordRotation(RedisPort& redis, const kube::ReconcileContext& context,
                             const ActOptions& options, const Snapshot& snapshot,
                             const Decision& decision, const SnapshotOptions& snapshot_options) {
  if (!decision.password_rotation.has_value()) return Status::ok();
  const PasswordRotation& rotation = *decision.password_rotation;
  if (rotation.step == Step::kNone || rotation.step == Step::kWaitGrace) return Status::ok();
  const auto& cluster = snapshot.cluster;
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  for (const auto& address : rotation.addresses) {
    if (!context.mayWriteFor(options.write_margin)) {
      return unavailable("not holding the Lease with time to spare; password not rotated");
    }
    auto client = connector->connect(address);
    Status applied = client.isOk() ? applyStep(**client, rotation) : client.status();
    // Not the password itself: the error of a failed ACL SETUSER names only the rule's kind.
    RETURN_IF_ERROR(applied.withContext("password rotation on " + address));
  }
  log::info("password rotation step",
            {{"cluster", cluster.ns + "/" + cluster.name}, {"step", rotation.message}});
  return Status::ok();
}

Status applyUserUpdates(RedisPort& redis, const kube::ReconcileContext& context,
                        const ActOptions& options, const Snapshot& snapshot,
                        const Decision& decision, const SnapshotOptions& snapshot_options,
                        SnapshotMemory* memory) {
  if (decision.user_updates.empty()) return Status::ok();
  const auto& cluster = snapshot.cluster;
  auto connector = redis.connector(connectOptionsFor(snapshot, snapshot_options));
  for (const auto& update : decision.user_updates) {
    if (!context.mayWriteFor(options.write_margin)) {
      return unavailable("not holding the Lease with time to spare; ACL users not applied");
    }
    const std::string key = update.address + "/" + update.user;
    auto client = connector->connect(update.address);
    if (!client.isOk()) continue;  // observed again next pass
    if (update.remove) {
      auto deleted = (*client)->command({"ACL", "DELUSER", update.user});
      if (deleted.isOk()) memory->users_applied.erase(key);
      log::info("ACL user deleted", {{"cluster", cluster.ns + "/" + cluster.name},
                                     {"node", update.address},
                                     {"user", update.user}});
      continue;
    }
    // Redis' error names the modifier it refused, never the password.
    Status set = (*client)->aclSetUser(update.user, update.rules);
    if (set.isOk()) {
      if (!update.rules_hash.empty()) memory->users_applied[key] = update.rules_hash;
      memory->user_errors.erase(update.user);
    } else if (set.code() != StatusCode::kUnavailable) {
      // Redis' own words, without the node's address: the same on every node.
      const std::string& message = set.message();
      const size_t err = message.find("ERR ");
      memory->user_errors[update.user] = err == std::string::npos ? message : message.substr(err);
    }
    log::info("ACL user set", {{"cluster", cluster.ns + "/" + cluster.name},
                               {"node", update.address},
                               {"user", update.user},
                               {"result", set.isOk() ? "ok" : set.message()}});
  }
  return Status::ok();
}

}  // namespace slotkeeper::reconciler
