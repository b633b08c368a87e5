#include "reconciler/reconciler.h"

#include <algorithm>
#include <set>

#include "api/codec.h"
#include "api/conditions.h"
#include "api/validation.h"
#include "common/log.h"
#include "engine/observer.h"
#include "kube/base64.h"
#include "redis/hiredis_client.h"
#include "resources/config_map.h"
#include "resources/headless_service.h"
#include "resources/metadata.h"
#include "resources/pod_disruption_budget.h"
#include "resources/statefulset.h"
#include "topology/plan.h"

namespace slotkeeper::reconciler {

using nlohmann::json;

struct ClusterReconciler::Pass {
  json object;  // the RedisCluster as read, for events and owner references
  api::RedisCluster cluster;
  api::RedisClusterStatus status;  // being built; written once at the end of the pass
  std::string key;
  redis::ConnectOptions connect;
  int64_t slots_moved = 0;
  int64_t keys_moved = 0;
  int64_t slots_reported = 0;  // already passed to the observer
  int64_t keys_reported = 0;
};

namespace {

std::string joinNames(const std::vector<std::string>& names, size_t max = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
  return out;
}

std::string nowRfc3339(Clock& clock) { return api::formatConditionTime(clock.wallNow()); }

// A short account of what a plan will do, for the Progressing condition and the Event.
struct PlanSummary {
  std::string reason;
  std::string message;
};

PlanSummary summarize(const topology::Plan& plan) {
  int settles = 0, meets = 0, assigns = 0, replicates = 0, forgets = 0, detaches = 0;
  int64_t slots = 0;
  std::set<std::string> targets, sources;
  for (const auto& step : plan.steps) {
    if (std::holds_alternative<topology::SettleSlotStep>(step)) ++settles;
    if (std::holds_alternative<topology::MeetStep>(step)) ++meets;
    if (std::holds_alternative<topology::AssignSlotsStep>(step)) ++assigns;
    if (std::holds_alternative<topology::ReplicateStep>(step)) ++replicates;
    if (std::holds_alternative<topology::ForgetStep>(step)) ++forgets;
    if (std::holds_alternative<topology::DetachReplicaStep>(step)) ++detaches;
    if (const auto* m = std::get_if<topology::MoveSlotsStep>(&step)) {
      slots += m->slots.count();
      targets.insert(m->target_id);
      sources.insert(m->source_id);
    }
  }
  std::vector<std::string> parts;
  if (settles) parts.push_back("settle " + std::to_string(settles) + " open slot(s)");
  if (meets) parts.push_back("join " + std::to_string(meets) + " node(s)");
  if (assigns) parts.push_back("assign slots to " + std::to_string(assigns) + " master(s)");
  if (slots) {
    parts.push_back("move " + std::to_string(slots) + " slots from " +
                    std::to_string(sources.size()) + " to " + std::to_string(targets.size()) +
                    " master(s)");
  }
  if (detaches) parts.push_back("detach " + std::to_string(detaches) + " replica(s)");
  if (replicates) parts.push_back("attach " + std::to_string(replicates) + " replica(s)");
  if (forgets) parts.push_back("forget " + std::to_string(forgets) + " removed node(s)");
  std::string_view reason = api::kReasonScalingOut;
  if (settles) {
    reason = api::kReasonFixingOpenSlots;
  } else if (assigns) {
    reason = api::kReasonCreatingCluster;
  } else if (slots) {
    reason = api::kReasonMigratingSlots;
  } else if (replicates) {
    reason = api::kReasonAttachingReplicas;
  } else if (forgets) {
    reason = api::kReasonScalingIn;
  }
  return {std::string(reason), joinNames(parts, 10)};
}

}  // namespace

ClusterReconciler::ClusterReconciler(kube::KubeClient& client, kube::EventRecorder& events,
                                     Clock& clock, ReconcilerOptions options,
                                     StatusObserver observer)
    : client_(client),
      events_(events),
      clock_(clock),
      options_(std::move(options)),
      observer_(std::move(observer)) {}

void ClusterReconciler::event(Pass& pass, kube::EventType type, std::string_view reason,
                              const std::string& msg) {
  Status s = events_.record(pass.object, type, reason, msg);
  // Warn: a missing RBAC rule for events would otherwise go unnoticed.
  if (!s.isOk()) log::warn("event not recorded", {{"cluster", pass.key}, {"error", s.toString()}});
}

Status ClusterReconciler::applyOwnedResources(Pass& pass) {
  const auto& c = pass.cluster;
  RETURN_IF_ERROR(client_
                      .apply(kube::kConfigMaps.in(c.ns).named(resources::configMapName(c)),
                             resources::makeConfigMap(c), options_.field_manager)
                      .status());
  RETURN_IF_ERROR(client_
                      .apply(kube::kServices.in(c.ns).named(resources::headlessServiceName(c)),
                             resources::makeHeadlessService(c), options_.field_manager)
                      .status());
  return Status::ok();
}

Result<std::map<int, int>> ClusterReconciler::readShardSizes(const api::RedisCluster& cluster) {
  kube::ListOptions options;
  options.label_selector = std::string(kClusterLabel) + "=" + cluster.name;
  ASSIGN_OR_RETURN(json list, client_.listAll(kube::kStatefulSets.in(cluster.ns), options));
  std::map<int, int> sizes;
  for (const auto& sts : list.value("items", json::array())) {
    const auto& labels = sts["metadata"].value("labels", json::object());
    std::string shard = labels.value(kShardLabel, "");
    int index = -1;
    if (std::sscanf(shard.c_str(), "%d", &index) != 1 || index < 0) continue;
    sizes[index] = sts.value("spec", json::object()).value("replicas", 1);
  }
  return sizes;
}

Result<std::vector<PodInfo>> ClusterReconciler::readPods(const api::RedisCluster& cluster) {
  kube::ListOptions options;
  options.label_selector = std::string(kClusterLabel) + "=" + cluster.name;
  ASSIGN_OR_RETURN(json list, client_.listAll(kube::kPods.in(cluster.ns), options));
  std::vector<PodInfo> pods;
  for (const auto& pod : list.value("items", json::array())) {
    auto info = podInfoFrom(pod);
    if (!info.isOk()) {
      log::warn("ignoring pod", {{"error", info.status().toString()}});
      continue;
    }
    pods.push_back(std::move(info).value());
  }
  return pods;
}

Result<std::string> ClusterReconciler::readPassword(const api::RedisCluster& cluster) {
  if (!cluster.spec.password_secret.has_value()) return std::string();
  const auto& ref = *cluster.spec.password_secret;
  auto secret = client_.get(kube::kSecrets.in(cluster.ns).named(ref.name));
  if (!secret.isOk()) {
    return secret.status().withContext("password secret " + ref.name);
  }
  const auto& data = secret->value("data", json::object());
  if (!data.contains(ref.key) || !data[ref.key].is_string()) {
    return failedPrecondition("secret " + ref.name + " has no key '" + ref.key + "'");
  }
  std::string password;
  if (!kube::base64Decode(data[ref.key].get<std::string>(), &password)) {
    return failedPrecondition("secret " + ref.name + " key '" + ref.key + "' is not base64");
  }
  return password;
}

Status ClusterReconciler::applyStatefulSets(Pass& pass, const std::map<int, int>& replicas) {
  const auto& c = pass.cluster;
  for (const auto& [shard, size] : replicas) {
    json sts = resources::makeShardStatefulSet(c, shard);
    sts["spec"]["replicas"] = size;
    std::string name = resources::shardName(c, shard);
    RETURN_IF_ERROR(
        client_.apply(kube::kStatefulSets.in(c.ns).named(name), sts, options_.field_manager)
            .status());
    RETURN_IF_ERROR(client_
                        .apply(kube::kPodDisruptionBudgets.in(c.ns).named(name),
                               resources::makePodDisruptionBudget(c, shard), options_.field_manager)
                        .status());
  }
  return Status::ok();
}

Result<LiveObservation> ClusterReconciler::observeLive(Pass& pass,
                                                       const std::vector<PodInfo>& pods) {
  redis::HiredisConnector connector(pass.connect);
  std::vector<std::string> addresses;
  std::map<std::string, std::string> domains;
  for (const auto& p : pods) {
    if (p.ip.empty() || p.terminating) continue;
    addresses.push_back(p.address());
    domains[p.address()] = p.node_name;
  }
  LiveObservation live;
  ASSIGN_OR_RETURN(live.cluster, engine::observeCluster(connector, addresses, domains));
  for (const auto& n : live.cluster.nodes) {
    if (!n.reachable) continue;
    auto client = connector.connect(n.address);
    if (!client.isOk()) continue;
    if (auto repl = (*client)->infoReplication(); repl.isOk()) {
      live.replication[n.address] = std::move(repl).value();
    }
    if (!live.info.has_value() && n.is_master && !n.slots.empty()) {
      if (auto info = (*client)->clusterInfo(); info.isOk()) live.info = std::move(info).value();
    }
  }
  return live;
}

Status ClusterReconciler::writeStatus(Pass& pass) {
  json encoded = api::encodeStatus(pass.status);
  if (encoded == api::encodeStatus(pass.cluster.status)) return Status::ok();
  const auto& c = pass.cluster;
  // A merge patch of the status subresource: no resourceVersion race with spec edits, and
  // `operation: null` removes a finished operation.
  auto patched = client_.patch(kube::kRedisClusters.in(c.ns).named(c.name).sub("status"),
                               kube::PatchType::kMerge, json{{"status", encoded}});
  if (!patched.isOk()) return patched.status().withContext("writing status");
  pass.cluster.status = pass.status;
  return Status::ok();
}

Status ClusterReconciler::runEngine(Pass& pass, const topology::DesiredShape& desired,
                                    const std::atomic<bool>& stopping) {
  redis::HiredisConnector connector(pass.connect);
  ASSIGN_OR_RETURN(auto observed, engine::observeDesired(connector, desired));
  ASSIGN_OR_RETURN(auto plan, topology::makePlan(observed, desired));
  if (plan.empty()) return Status::ok();

  PlanSummary summary = summarize(plan);
  log::info("changing topology", {{"cluster", pass.key}, {"plan", summary.message}});
  event(pass, kube::EventType::kNormal, summary.reason, "Starting: " + summary.message);
  api::setCondition(pass.status.conditions,
                    api::makeCondition(api::kConditionProgressing, api::ConditionStatus::kTrue,
                                       summary.reason, summary.message, pass.cluster.generation),
                    clock_.wallNow());
  pass.status.operation = {{"type", summary.reason},
                           {"description", summary.message},
                           {"startedAt", nowRfc3339(clock_)},
                           {"slotsMoved", 0},
                           {"keysMoved", 0}};
  RETURN_IF_ERROR(writeStatus(pass));
  reportToObserver(pass, true);

  engine::ConvergeOptions options;
  options.executor.move.batch_keys = pass.cluster.spec.migration.batch_keys;
  options.executor.move.password = pass.connect.password;
  options.executor.move.migrate_timeout =
      std::chrono::seconds(pass.cluster.spec.migration.timeout_seconds);
  auto last_write = clock_.now();
  auto on_progress = [&](const engine::ExecutionProgress& p) {
    if (clock_.now() - last_write < std::chrono::seconds(2)) return;
    last_write = clock_.now();
    pass.status.operation["slotsMoved"] = p.slots_moved;
    pass.status.operation["slotsTotal"] = p.slots_total;
    pass.status.operation["keysMoved"] = p.keys_moved;
    pass.status.operation["step"] = p.step;
    pass.slots_moved = p.slots_moved;
    pass.keys_moved = p.keys_moved;
    reportToObserver(pass, true);
    Status s = writeStatus(pass);
    if (!s.isOk()) log::warn("progress not written", {{"error", s.toString()}});
  };
  auto started = clock_.now();
  auto report = engine::converge(connector, clock_, desired, options, on_progress,
                                 [&stopping] { return stopping.load(); });
  if (!report.isOk()) return report.status();
  pass.slots_moved = report->slots_moved;
  pass.keys_moved = report->keys_moved;
  double seconds = std::chrono::duration<double>(clock_.now() - started).count();
  char msg[256];
  std::snprintf(msg, sizeof(msg), "Done: %s (%lld slots and %lld keys moved in %.1fs)",
                summary.message.c_str(), static_cast<long long>(report->slots_moved),
                static_cast<long long>(report->keys_moved), seconds);
  event(pass, kube::EventType::kNormal, api::kReasonReconciled, msg);
  log::info("topology changed", {{"cluster", pass.key}, {"summary", msg}});
  pass.status.operation = nullptr;
  return Status::ok();
}

Status ClusterReconciler::removeDrainedPods(Pass& pass) {
  const auto& c = pass.cluster;
  ASSIGN_OR_RETURN(auto shards, readShardSizes(c));
  Cleanup cleanup = planCleanup(c.spec.masters, c.spec.replicas_per_master, shards);
  if (cleanup.shards_to_delete.empty() && cleanup.statefulset_replicas.empty()) {
    return Status::ok();
  }
  // Fresh read: a pod is deleted only if the live cluster no longer counts it as a member.
  ASSIGN_OR_RETURN(auto pods, readPods(c));
  std::vector<PodInfo> keep;
  std::vector<PodInfo> leaving;
  for (const auto& p : pods) {
    bool removed_shard =
        std::count(cleanup.shards_to_delete.begin(), cleanup.shards_to_delete.end(), p.shard) > 0;
    bool removed_ordinal = p.ordinal > c.spec.replicas_per_master;
    (removed_shard || removed_ordinal ? leaving : keep).push_back(p);
  }
  ASSIGN_OR_RETURN(auto live, observeLive(pass, keep));
  for (const auto& p : leaving) {
    for (const auto& n : live.cluster.nodes) {
      if (n.address == p.address() && n.reachable) {
        return failedPrecondition("pod " + p.name + " is still a cluster member (" +
                                  std::to_string(n.slots.count()) +
                                  " slots); it is not deleted yet");
      }
    }
  }
  for (int shard : cleanup.shards_to_delete) {
    std::string name = resources::shardName(c, shard);
    // The budget goes first: a budget whose pods lost their controller only raises warnings.
    auto pdb = client_.remove(kube::kPodDisruptionBudgets.in(c.ns).named(name));
    if (!pdb.isOk() && pdb.status().code() != StatusCode::kNotFound) return pdb.status();
    auto gone = client_.remove(kube::kStatefulSets.in(c.ns).named(name));
    if (!gone.isOk() && gone.status().code() != StatusCode::kNotFound) return gone.status();
    event(pass, kube::EventType::kNormal, api::kReasonScalingIn,
          "Deleted StatefulSet " + name + ": its nodes hold no slots and were forgotten");
  }
  if (!cleanup.statefulset_replicas.empty()) {
    RETURN_IF_ERROR(applyStatefulSets(pass, cleanup.statefulset_replicas));
    event(pass, kube::EventType::kNormal, api::kReasonScalingIn,
          "Removed replica pods beyond " + std::to_string(c.spec.replicas_per_master) +
              " per master after forgetting them");
  }
  return Status::ok();
}

Result<std::chrono::milliseconds> ClusterReconciler::reconcile(const std::string& key,
                                                               const std::atomic<bool>& stopping) {
  Pass pass;
  auto result = reconcileOnce(key, stopping, pass);
  if (!pass.cluster.name.empty()) reportToObserver(pass, false);
  return result;
}

void ClusterReconciler::reportToObserver(Pass& pass, bool in_progress) {
  if (!observer_) return;
  observer_(pass.cluster, pass.status, pass.slots_moved - pass.slots_reported,
            pass.keys_moved - pass.keys_reported, in_progress);
  pass.slots_reported = pass.slots_moved;
  pass.keys_reported = pass.keys_moved;
}

Result<std::chrono::milliseconds> ClusterReconciler::reconcileOnce(
    const std::string& key, const std::atomic<bool>& stopping, Pass& pass) {
  std::string ns, name;
  kube::splitObjectKey(key, &ns, &name);
  auto object = client_.get(kube::kRedisClusters.in(ns).named(name));
  if (!object.isOk() && object.status().code() == StatusCode::kNotFound) {
    if (on_gone_) on_gone_(ns, name);
    return std::chrono::milliseconds(0);  // deleted: owner references clean up the rest
  }
  if (!object.isOk()) return object.status();
  ASSIGN_OR_RETURN(auto cluster, api::decodeRedisCluster(*object));
  if (!cluster.deletion_timestamp.empty()) {
    if (on_gone_) on_gone_(ns, name);
    return std::chrono::milliseconds(0);
  }

  pass.object = std::move(object).value();
  pass.cluster = cluster;
  pass.key = key;
  pass.status = cluster.status;
  pass.status.observed_generation = cluster.generation;
  pass.status.selector = resources::selectorString(cluster);
  const int masters = cluster.spec.masters;
  const int replicas = cluster.spec.replicas_per_master;
  const auto now = clock_.wallNow();
  auto condition = [&](std::string_view type, api::ConditionStatus status, std::string_view reason,
                       const std::string& message) {
    api::setCondition(pass.status.conditions,
                      api::makeCondition(type, status, reason, message, cluster.generation), now);
  };

  if (Status valid = api::validateSpec(cluster.spec); !valid.isOk()) {
    condition(api::kConditionReady, api::ConditionStatus::kFalse, api::kReasonInvalidSpec,
              valid.message());
    condition(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonInvalidSpec,
              valid.message());
    event(pass, kube::EventType::kWarning, api::kReasonInvalidSpec, valid.message());
    RETURN_IF_ERROR(writeStatus(pass));
    return std::chrono::milliseconds(0);  // nothing to do until the spec changes
  }

  RETURN_IF_ERROR(applyOwnedResources(pass));
  ASSIGN_OR_RETURN(auto shard_sizes, readShardSizes(cluster));
  ASSIGN_OR_RETURN(auto pods, readPods(cluster));
  ShapeChange change = planShapeChange(masters, replicas, shard_sizes, pods);
  RETURN_IF_ERROR(applyStatefulSets(pass, change.statefulset_replicas));

  ASSIGN_OR_RETURN(std::string password, readPassword(cluster));
  pass.connect.password = password;
  pass.connect.command_timeout = std::chrono::seconds(cluster.spec.migration.timeout_seconds + 30);

  if (!change.waiting_for.empty()) {
    condition(api::kConditionProgressing, api::ConditionStatus::kTrue, api::kReasonWaitingForPods,
              "waiting for pods to be Running and Ready: " + joinNames(change.waiting_for));
    if (auto live = observeLive(pass, pods); live.isOk()) {
      fillObservedStatus(pods, *live, &pass.status);
    }
    condition(api::kConditionReady, api::ConditionStatus::kFalse, api::kReasonWaitingForPods,
              "the desired pods are not all ready");
    RETURN_IF_ERROR(writeStatus(pass));
    return options_.pods_poll_interval;
  }

  Status engine_status = runEngine(pass, change.desired, stopping);
  if (!engine_status.isOk()) {
    if (engine_status.code() == StatusCode::kAborted) return engine_status;
    std::string_view reason = api::kReasonOperationFailed;
    condition(api::kConditionProgressing, api::ConditionStatus::kFalse, reason,
              engine_status.message());
    condition(api::kConditionDegraded, api::ConditionStatus::kTrue, reason,
              engine_status.message());
    event(pass, kube::EventType::kWarning, reason, engine_status.message());
    if (auto live = observeLive(pass, pods); live.isOk()) {
      fillObservedStatus(pods, *live, &pass.status);
    }
    Status written = writeStatus(pass);
    if (!written.isOk()) log::warn("status not written", {{"error", written.toString()}});
    return engine_status;
  }
  RETURN_IF_ERROR(removeDrainedPods(pass));

  ASSIGN_OR_RETURN(pods, readPods(cluster));
  ASSIGN_OR_RETURN(auto live, observeLive(pass, pods));
  fillObservedStatus(pods, live, &pass.status);
  bool satisfied = shapeSatisfied(pass.status, masters, replicas);
  condition(api::kConditionProgressing, api::ConditionStatus::kFalse, api::kReasonReconciled,
            "the cluster has the desired shape");
  if (satisfied) {
    condition(api::kConditionReady, api::ConditionStatus::kTrue, api::kReasonReconciled,
              std::to_string(masters) + " masters with " + std::to_string(replicas) +
                  " replica(s) each; all 16384 slots ok");
  } else {
    condition(api::kConditionReady, api::ConditionStatus::kFalse, api::kReasonClusterDown,
              "cluster_state " + pass.status.cluster_state + ", " +
                  std::to_string(pass.status.slots_ok) + " slots ok, " +
                  std::to_string(pass.status.ready_replicas) + " linked replicas");
  }
  if (pass.status.unprotected_masters > 0) {
    condition(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonUnprotectedMasters,
              std::to_string(pass.status.unprotected_masters) +
                  " master(s) have no linked replica: one more failure loses their slots");
  } else if (pass.status.cluster_state != "ok") {
    condition(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonClusterDown,
              "cluster_state is " + pass.status.cluster_state);
  } else {
    condition(api::kConditionDegraded, api::ConditionStatus::kFalse, api::kReasonReconciled,
              "no problem found");
  }
  RETURN_IF_ERROR(writeStatus(pass));
  // Not yet satisfied (replicas still syncing, gossip still spreading): look again soon.
  return satisfied ? options_.health_check_interval : options_.pods_poll_interval;
}

}  // namespace slotkeeper::reconciler
