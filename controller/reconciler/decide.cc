#include "reconciler/decide.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "api/conditions.h"
#include "api/validation.h"
#include "kube/timefmt.h"
#include "reconciler/capacity.h"
#include "reconciler/manual_failover.h"
#include "reconciler/users.h"
#include "resources/config_map.h"
#include "resources/headless_service.h"
#include "resources/live_config.h"
#include "resources/metadata.h"
#include "resources/operator_user.h"
#include "resources/pod_disruption_budget.h"
#include "resources/statefulset.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string joinNames(const std::vector<std::string>& names, size_t max = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
  return out;
}

// Sets conditions on the decision's status and records an Event when a condition enters a new
// status or reason: Events tell what changed, so a condition that stays as it is (a pod still
// unschedulable) is reported once, not on every pass.
class Conditions {
 public:
  Conditions(const Snapshot& snapshot, Decision& decision)
      : previous_(snapshot.cluster.status.conditions),
        generation_(snapshot.cluster.generation),
        now_(snapshot.now),
        decision_(decision) {}

  void set(std::string_view type, api::ConditionStatus status, std::string_view reason,
           const std::string& message, std::optional<kube::EventType> event = std::nullopt) {
    api::setCondition(decision_.status.conditions,
                      api::makeCondition(type, status, reason, message, generation_), now_);
    if (!event.has_value()) return;
    const api::Condition* before = api::findCondition(previous_, type);
    if (before != nullptr && before->status == status && before->reason == reason) return;
    decision_.events.push_back({*event, std::string(reason), message});
  }

 private:
  const std::vector<api::Condition>& previous_;
  int64_t generation_;
  std::chrono::system_clock::time_point now_;
  Decision& decision_;
};

std::map<int, int> currentSizes(const Snapshot& s) {
  std::map<int, int> sizes;
  for (const auto& [shard, sts] : s.statefulsets) {
    sizes[shard] = sts.value("spec", json::object()).value("replicas", 1);
  }
  return sizes;
}

std::string appliedHashOf(const json& object) {
  const auto& annotations =
      object.value("metadata", json::object()).value("annotations", json::object());
  return annotations.value(std::string(resources::kAnnotationAppliedHash), "");
}

// Adds `object` to the applies unless it is known to be current: a cached copy (StatefulSets)
// or this process's last apply carries the same hash.
void applyIfChanged(const Snapshot& s, const kube::ResourceRef& ref, json object,
                    const json* cached, Decision& d) {
  std::string hash = hashObject(object);
  object["metadata"]["annotations"][std::string(resources::kAnnotationAppliedHash)] = hash;
  if (cached != nullptr && appliedHashOf(*cached) == hash) return;
  if (cached == nullptr) {
    auto it = s.applied_hashes.find(ref.path());
    if (it != s.applied_hashes.end() && it->second == hash) return;
  }
  d.applies.push_back({ref, std::move(object), std::move(hash)});
}

void decideStatefulSets(const Snapshot& s, const std::map<int, int>& sizes, Decision& d) {
  const auto& c = s.cluster;
  for (const auto& [shard, size] : sizes) {
    const std::string name = resources::shardName(c, shard);
    json sts = resources::makeShardStatefulSet(c, shard, s.tls_change.serving);
    sts["spec"]["replicas"] = size;
    auto cached = s.statefulsets.find(shard);
    applyIfChanged(s, kube::kStatefulSets.in(c.ns).named(name), std::move(sts),
                   cached == s.statefulsets.end() ? nullptr : &cached->second, d);
    applyIfChanged(s, kube::kPodDisruptionBudgets.in(c.ns).named(name),
                   resources::makePodDisruptionBudget(c, shard), nullptr, d);
  }
}

void decideSharedObjects(const Snapshot& s, Decision& d) {
  const auto& c = s.cluster;
  applyIfChanged(s, kube::kConfigMaps.in(c.ns).named(resources::configMapName(c)),
                 resources::makeConfigMap(c), nullptr, d);
  applyIfChanged(s, kube::kServices.in(c.ns).named(resources::headlessServiceName(c)),
                 resources::makeHeadlessService(c), nullptr, d);
  // Written once: a Secret that exists is never rewritten (its password is on the nodes).
  if (!s.operator_user.proposed_password.empty()) {
    d.applies.push_back({kube::kSecrets.in(c.ns).named(resources::operatorUserSecretName(c)),
                         resources::makeOperatorUserSecret(c, s.operator_user.proposed_password),
                         ""});
  }
}

// Pods the scheduler has refused for at least the grace period: a pod whose volume is still
// being provisioned is refused for a moment, which is no news.
std::vector<std::string> unschedulable(const Snapshot& s, const ShapeChange& shape,
                                       std::chrono::seconds grace) {
  std::vector<std::string> out;
  for (const auto& p : s.pods) {
    if (p.unschedulable_message.empty()) continue;
    if (p.unschedulable_since.has_value() && s.now - *p.unschedulable_since < grace) continue;
    if (std::find(shape.waiting_for.begin(), shape.waiting_for.end(), p.name) ==
        shape.waiting_for.end()) {
      continue;
    }
    out.push_back(p.name + " (" + p.unschedulable_message + ")");
  }
  return out;
}

// Conditions for a cluster no change is running on: Ready when the shape holds, Degraded for
// what threatens it. Returns whether the shape holds.
bool decideHealth(const Snapshot& s, Conditions& conditions, Decision& d) {
  const int masters = s.cluster.spec.masters;
  const int replicas = s.cluster.spec.replicas_per_master;
  const auto& st = d.status;
  const bool satisfied = shapeSatisfied(st, masters, replicas);
  conditions.set(api::kConditionProgressing, api::ConditionStatus::kFalse, api::kReasonReconciled,
                 "the cluster has the desired shape");
  if (satisfied) {
    conditions.set(api::kConditionReady, api::ConditionStatus::kTrue, api::kReasonReconciled,
                   std::to_string(masters) + " masters with " + std::to_string(replicas) +
                       " replica(s) each; all 16384 slots ok");
  } else {
    conditions.set(api::kConditionReady, api::ConditionStatus::kFalse, api::kReasonClusterDown,
                   "cluster_state " + st.cluster_state + ", " + std::to_string(st.slots_ok) +
                       " slots ok, " + std::to_string(st.ready_replicas) + " linked replicas");
  }
  if (st.unprotected_masters > 0) {
    // No Event: every new replica passes through this while it syncs; the condition, the
    // metric and its alert (which waits) tell the lasting case.
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                   api::kReasonUnprotectedMasters,
                   std::to_string(st.unprotected_masters) +
                       " master(s) have no linked replica: one more failure loses their slots");
  } else if (st.cluster_state != "ok") {
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonClusterDown,
                   "cluster_state is " + st.cluster_state);
  } else {
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kFalse, api::kReasonReconciled,
                   "no problem found");
  }
  return satisfied;
}

// Pods beyond the desired shape, and whether the live cluster still counts any as a member.
struct Removal {
  Cleanup cleanup;
  std::string blocking;  // a leaving pod that is still a member; empty when none
};

Removal decideRemoval(const Snapshot& s) {
  const auto& spec = s.cluster.spec;
  Removal r{planCleanup(spec.masters, spec.replicas_per_master, currentSizes(s)), ""};
  if (r.cleanup.shards_to_delete.empty() && r.cleanup.statefulset_replicas.empty()) return r;
  for (const auto& p : s.pods) {
    bool removed_shard = std::count(r.cleanup.shards_to_delete.begin(),
                                    r.cleanup.shards_to_delete.end(), p.shard) > 0;
    if (!removed_shard && p.ordinal <= spec.replicas_per_master) continue;
    if (!s.live.has_value() || p.ip.empty()) continue;
    for (const auto& n : s.live->cluster.nodes) {
      if (n.address == p.address() && n.reachable && !n.id.empty()) {
        // Only a node the others have forgotten may lose its pod.
        bool known =
            std::any_of(s.live->cluster.nodes.begin(), s.live->cluster.nodes.end(),
                        [&](const topology::ObservedNode& o) {
                          return o.reachable && o.address != n.address &&
                                 std::count(o.peer_ids.begin(), o.peer_ids.end(), n.id) > 0;
                        });
        if (known || !n.slots.empty()) {
          r.blocking = "pod " + p.name + " is still a cluster member (" +
                       std::to_string(n.slots.count()) + " slots); it is not deleted yet";
          return r;
        }
      }
    }
  }
  return r;
}

void decideOperationEnd(const Snapshot& s, Decision& d) {
  const json& op = s.cluster.status.operation;
  if (op.is_null() || !op.is_object()) return;
  double seconds = 0;
  if (auto started = kube::parseTime(op.value("startedAt", "")); started.isOk()) {
    seconds = std::chrono::duration<double>(s.now - *started).count();
  }
  char msg[512];
  std::snprintf(msg, sizeof(msg), "Done: %s (%lld slots and %lld keys moved in %.0fs)",
                op.value("description", std::string("topology change")).c_str(),
                static_cast<long long>(op.value("slotsMoved", int64_t{0})),
                static_cast<long long>(op.value("keysMoved", int64_t{0})), seconds);
  d.events.push_back({kube::EventType::kNormal, std::string(api::kReasonReconciled), msg});
  d.status.operation = nullptr;
}

void decideTopologyWork(const Snapshot& s, topology::Plan plan, Conditions& conditions,
                        Decision& d) {
  PlanSummary summary = summarizePlan(plan);
  json& op = d.status.operation;
  if (op.is_null() || !op.is_object()) {
    op = {{"type", summary.reason},
          {"description", summary.message},
          {"startedAt", api::formatConditionTime(s.now)},
          {"slotsMoved", 0},
          {"keysMoved", 0}};
    d.events.push_back({kube::EventType::kNormal, summary.reason, "Starting: " + summary.message});
  }
  op["remaining"] = summary.message;
  conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue, summary.reason,
                 op.value("description", summary.message));
  conditions.set(api::kConditionReady, api::ConditionStatus::kFalse, summary.reason,
                 "changing topology: " + summary.message);
  d.topology = TopologyWork{std::move(plan), *s.planner_view, summary.reason, summary.message};
}

// Drift in status: the counts and each node's flag; an Event when the last pod caught up.
void decideDrift(const Snapshot& s, const Drift& drift, Decision& d) {
  d.status.updated_pods = drift.updated;
  d.status.outdated_pods = static_cast<int32_t>(drift.outdated.size());
  for (auto& n : d.status.nodes) n.outdated = drift.outdated.count(n.pod) > 0;
  if (drift.outdated.empty() && !drift.revisions_pending && s.cluster.status.outdated_pods > 0) {
    d.events.push_back(
        {kube::EventType::kNormal, std::string(api::kReasonRolloutComplete),
         "Every pod runs the current pod template (" + std::to_string(drift.updated) + " pods)"});
  }
}

// CONFIG SET of the live settings on every serving node that has not taken them from this
// process yet (after the operator starts, each node is set once: a no-op where it matches).
void decideLiveConfig(const Snapshot& s, Decision& d) {
  if (!s.live.has_value()) return;
  const std::string hash = resources::makeLiveSettingsHash(s.cluster);
  for (const auto& p : s.pods) {
    if (!p.ready) continue;
    auto applied = s.live_settings_applied.find(p.address());
    if (applied != s.live_settings_applied.end() && applied->second == hash) continue;
    bool reachable = std::any_of(
        s.live->cluster.nodes.begin(), s.live->cluster.nodes.end(),
        [&](const topology::ObservedNode& n) { return n.address == p.address() && n.reachable; });
    if (!reachable) continue;
    d.config_updates.push_back({p.address(), resources::makeLiveSettings(s.cluster), hash});
  }
}

// Nodes serving a certificate other than the TLS Secret's: the Secret was renewed and the node
// has not read its files since (or the kubelet has not refreshed them yet).
void decideCertificateReloads(const Snapshot& s, Decision& d) {
  if (!s.live.has_value() || s.tls.kind != TlsRead::Kind::kRead) return;
  for (const auto& [address, served] : s.live->served_certificates) {
    if (served != s.tls.certificate_sha256) d.certificate_reloads.push_back(address);
  }
  if (d.certificate_reloads.empty()) return;
  d.events.push_back({kube::EventType::kNormal, "ReloadingCertificate",
                      "Secret " + s.tls_change.secret_name + " holds a new certificate; " +
                          std::to_string(d.certificate_reloads.size()) +
                          " node(s) told to reload it"});
}

// What a pod template's TLS stage means for the people watching the change.
std::string describeTlsStage(resources::TlsStage stage) {
  switch (stage) {
    case resources::TlsStage::kAdding:
      return "pods roll onto plaintext on 6379 and TLS on 6380; the cluster bus stays plaintext "
             "until every pod serves both";
    case resources::TlsStage::kOn:
      return "pods roll onto TLS only on 6379 (plaintext refused); clients move to TLS (port "
             "6380 on pods not restarted yet, as the cluster's redirects say)";
    case resources::TlsStage::kRemoving:
      return "pods roll onto TLS on 6379 and plaintext on 6380; the cluster bus stays TLS until "
             "every pod serves both";
    case resources::TlsStage::kOff:
      return "pods roll onto plaintext only on 6379; clients move to plaintext (port 6380 on pods "
             "not restarted yet, as the cluster's redirects say)";
  }
  return {};
}

// An Event when the pod templates move to another TLS stage while a change is under way.
void reportTlsStage(const Snapshot& s, Decision& d) {
  if (!s.tls_change.in_progress) return;
  const std::string wanted(resources::tlsStageName(s.tls_change.serving.stage));
  for (const auto& [shard, sts] : s.statefulsets) {
    const auto& annotations = sts.value("spec", json::object())
                                  .value("template", json::object())
                                  .value("metadata", json::object())
                                  .value("annotations", json::object());
    const std::string current =
        annotations.value(std::string(resources::kAnnotationTlsStage), std::string("off"));
    if (current == wanted) continue;
    d.events.push_back(
        {kube::EventType::kNormal, "ChangingTls",
         "TLS stage " + wanted + ": " + describeTlsStage(s.tls_change.serving.stage)});
    return;
  }
}

// A dual pod whose new port some node has not heard of yet (gossip carries it within a second
// or so), named with that node; empty when every view agrees with the pods' ports.
std::string staleAnnouncement(const Snapshot& s) {
  if (!s.tls_change.in_progress || !s.live.has_value()) return {};
  std::map<std::string, int> port_of;  // by ip
  for (const auto& p : s.pods) {
    if (!p.ip.empty()) port_of[p.ip] = p.port;
  }
  for (const auto& [viewer, entries] : s.live->views) {
    for (const auto& e : entries) {
      if (e.handshake || e.noaddr) continue;
      auto it = port_of.find(e.ip);
      if (it != port_of.end() && it->second != e.port)
        return viewer + " still lists " + e.address();
    }
  }
  return {};
}

// CONFIG SETs switching the bus of the dual pods not on the target yet, with an Event.
std::string switchBus(const Snapshot& s, Decision& d) {
  const TlsChange& change = s.tls_change;
  for (const auto& target : change.bus_switches) {
    d.tls_bus_switches.push_back(
        {target.address, resources::makeBusSwitchSettings(target.stage, change.target_bus_tls),
         ""});
  }
  const std::string message = "switching the cluster bus and replication of " +
                              std::to_string(change.bus_switches.size()) + " node(s) to " +
                              (change.target_bus_tls ? "TLS" : "plaintext");
  d.events.push_back({kube::EventType::kNormal, "SwitchingClusterBus",
                      "Every pod serves both plaintext and TLS: " + message});
  return message;
}

// A bus switch that is partly done (or undone by a dual pod that restarted on its old bus), or
// nodes that have not heard the switched pods' ports yet. Returns whether the pass waits for it:
// until every node runs the same bus and lists the same ports, their views disagree, so nothing
// else proceeds.
bool finishTlsBusSwitch(const Snapshot& s, Conditions& conditions, Decision& d,
                        const DecideOptions& options) {
  const TlsChange& change = s.tls_change;
  const std::string stale = staleAnnouncement(s);
  if (!change.partial && stale.empty()) return false;
  std::string message;
  if (change.partial && !change.bus_switches.empty()) {
    message = switchBus(s, d);
  } else if (change.partial) {
    message = "reading the cluster bus protocol of the pods serving both plaintext and TLS";
  } else {
    message = "waiting for the nodes to hear each other's new ports: " + stale;
  }
  conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue, "ChangingTls", message);
  d.requeue = options.converge_poll_interval;
  return true;
}

// Starts the bus switch once every pod serves both protocols, from a cluster at rest: every pod
// a member (a node met after the switch would be met at its second port, whose bus port Redis
// would get wrong) and no slot moving. Returns whether it did.
bool startTlsBusSwitch(const Snapshot& s, Conditions& conditions, Decision& d,
                       const DecideOptions& options) {
  if (s.tls_change.bus_switches.empty()) return false;
  conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue, "ChangingTls",
                 switchBus(s, d));
  d.requeue = options.converge_poll_interval;
  return true;
}

// Users that could not be given to the nodes, in Degraded unless something graver is there.
void reportUserProblems(const Snapshot& s, Decision& d) {
  std::vector<std::string> problems;
  if (!s.operator_user.problem.empty()) problems.push_back(s.operator_user.problem);
  for (const auto& user : s.users) {
    if (!user.problem.empty()) problems.push_back(user.problem);
    auto refused = s.user_errors.find(user.name);
    if (refused != s.user_errors.end()) {
      problems.push_back("user " + user.name + ": Redis refused its rules: " + refused->second);
    }
  }
  if (problems.empty()) return;
  const api::Condition* degraded = api::findCondition(d.status.conditions, api::kConditionDegraded);
  if (degraded != nullptr && degraded->status == api::ConditionStatus::kTrue) return;
  std::string message;
  for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
  Conditions(s, d).set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                       api::kReasonUsersNotApplied, message, kube::EventType::kWarning);
}

// Pods the change waits for that will not come up by themselves: a container that cannot
// start (ErrImagePull, CrashLoopBackOff, ...) or a pod not Ready long after it was created.
std::vector<std::string> failingPods(const Snapshot& s, const ShapeChange& shape,
                                     std::chrono::seconds timeout) {
  std::vector<std::string> out;
  for (const auto& p : s.pods) {
    if (p.ready || p.terminating) continue;
    if (std::find(shape.waiting_for.begin(), shape.waiting_for.end(), p.name) ==
        shape.waiting_for.end()) {
      continue;
    }
    const bool starting = p.waiting_reason.empty() || p.waiting_reason == "ContainerCreating" ||
                          p.waiting_reason == "PodInitializing";
    if (!starting) {
      std::string why = p.waiting_reason;
      if (!p.waiting_message.empty()) why += ": " + p.waiting_message;
      out.push_back(p.name + " (" + why + ")");
    } else if (p.created.has_value() && s.now - *p.created > timeout) {
      out.push_back(p.name + " (not Ready " + std::to_string(timeout.count()) +
                    "s after it was created)");
    }
  }
  return out;
}

// The revision a shard's pods are rolled onto, for messages (Events of two rolls differ).
std::string revisionOf(const Drift& drift, int shard) {
  auto it = drift.update_revisions.find(shard);
  return it == drift.update_revisions.end() ? std::string("the current template") : it->second;
}

void recordRestarts(const std::vector<PodRestart>& restarts, const Drift& drift, size_t total,
                    Decision& d) {
  for (const auto& r : restarts) {
    d.events.push_back({kube::EventType::kNormal, std::string(api::kReasonRestartingPod),
                        "Restarting pod " + r.pod + " (" + r.why + ") onto " +
                            revisionOf(drift, r.shard) + "; " + std::to_string(drift.updated) +
                            " of " + std::to_string(total) + " pods updated"});
  }
  d.pod_restarts.insert(d.pod_restarts.end(), restarts.begin(), restarts.end());
}

// The next step of a rolling restart, for a cluster in shape with nothing else to do.
void decideRollout(const Snapshot& s, const Drift& drift, Conditions& conditions, Decision& d,
                   const DecideOptions& options) {
  const size_t total = drift.updated + drift.outdated.size();
  // A StatefulSet whose status is behind wakes a pass when it catches up (it is watched).
  if (drift.outdated.empty()) return;
  const std::string progress =
      std::to_string(drift.updated) + " of " + std::to_string(total) + " pods updated";
  RolloutStep step = planRollout(s, drift);
  if (!step.blocked.empty()) {
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonRolloutBlocked,
                   joinNames(step.blocked, 3), kube::EventType::kWarning);
  }
  if (s.cluster.spec.update_strategy.paused) {
    conditions.set(api::kConditionProgressing, api::ConditionStatus::kFalse,
                   api::kReasonRolloutPaused,
                   std::to_string(drift.outdated.size()) +
                       " pod(s) run an older pod template; spec.updateStrategy.paused holds "
                       "the rolling restart");
    return;
  }
  std::vector<std::string> doing;
  for (const auto& f : step.failovers) {
    doing.push_back("failing shard " + std::to_string(f.shard) + " over to " + f.replica_pod);
    d.events.push_back({kube::EventType::kNormal, std::string(api::kReasonFailingOver),
                        "Promoting pod " + f.replica_pod + " (on " + revisionOf(drift, f.shard) +
                            ") to master of shard " + std::to_string(f.shard) +
                            " before restarting " + f.master_pod});
  }
  for (const auto& r : step.restarts) doing.push_back("restarting " + r.pod);
  recordRestarts(step.restarts, drift, total, d);
  d.failovers = std::move(step.failovers);
  std::string message = "rolling restart, " + progress;
  if (!doing.empty()) {
    message += ": " + joinNames(doing, 5);
  } else if (!step.waiting.empty()) {
    message += "; waiting for " + joinNames(step.waiting, 3);
  }
  conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue,
                 api::kReasonRollingRestart, message);
  d.requeue = std::min(d.requeue, options.converge_poll_interval);
}

// A changed password Secret rolled into the nodes. Returns whether the pass is the rotation's:
// adding, switching and removing are quick steps of their own; the grace period lets the rest
// of the decision go on (every node accepts the new password by then).
bool decidePasswordRotation(const Snapshot& s, Conditions& conditions, Decision& d,
                            const DecideOptions& options) {
  if (s.secret.kind != SecretRead::Kind::kRead || !s.live.has_value() ||
      s.live->passwords.empty() || !s.cluster.spec.password_secret.has_value()) {
    return false;
  }
  PasswordRotation r = planPasswordRotation(
      s.live->passwords, s.secret.password, s.cluster.status.password_rotation,
      std::chrono::seconds(s.cluster.spec.password_secret->rotation_grace_seconds), s.now);
  d.status.password_rotation = r.status;
  if (r.finished) {
    d.events.push_back({kube::EventType::kNormal, std::string(api::kReasonPasswordRotated),
                        "The old password is no longer accepted by any node"});
  }
  if (r.step == PasswordRotation::Step::kNone) return false;
  const bool own_pass = r.step != PasswordRotation::Step::kWaitGrace;
  if (own_pass) {
    conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue,
                   api::kReasonRotatingPassword, r.message, kube::EventType::kNormal);
    d.requeue = options.next_slice;
  }
  d.password_rotation = std::move(r);
  return own_pass;
}

// Failovers asked for by annotation. Returns whether this pass is one's (it then does nothing
// else: the next pass plans from the new roles).
bool decideManualFailover(const Snapshot& s, Conditions& conditions, Decision& d,
                          const DecideOptions& options) {
  const std::pair<std::string_view, bool> kinds[] = {{kAnnotationPromote, true},
                                                     {kAnnotationDemote, false}};
  for (const auto& [key, promote] : kinds) {
    auto annotation = s.cluster.annotations.find(std::string(key));
    if (annotation == s.cluster.annotations.end()) continue;
    const std::string& pod = annotation->second;
    ManualFailover m = planManualFailover(s, pod, promote);
    const std::string asked = std::string(key) + "=" + pod;
    if (m.request.has_value()) {
      const std::string message = "Promoting pod " + m.request->replica_pod +
                                  " to master of shard " + std::to_string(m.request->shard) +
                                  " in place of " + m.request->master_pod + " (asked by " + asked +
                                  ")";
      conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue,
                     api::kReasonManualFailover, message);
      d.events.push_back(
          {kube::EventType::kNormal, std::string(api::kReasonManualFailover), message});
      d.failovers.push_back(*m.request);
      d.annotations_to_remove.push_back(std::string(key));
      d.requeue = options.next_slice;
      return true;
    }
    if (m.done) {
      d.annotations_to_remove.push_back(std::string(key));
    } else if (!m.refusal.empty()) {
      d.annotations_to_remove.push_back(std::string(key));
      d.events.push_back({kube::EventType::kWarning, std::string(api::kReasonManualFailoverRefused),
                          asked + ": " + m.refusal});
    } else {
      d.events.push_back({kube::EventType::kNormal, std::string(api::kReasonManualFailover),
                          asked + ": waiting for " + m.waiting});
      d.requeue = options.converge_poll_interval;
    }
  }
  return false;
}

}  // namespace

std::string hashObject(const json& object) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : object.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

PlanSummary summarizePlan(const topology::Plan& plan) {
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

Decision decideCluster(const Snapshot& s, const DecideOptions& options);

namespace {

// Pods whose node refused the operator (AUTH), is loading its data set, or took the connection
// but did not answer in time: none is "down", and each needs a different answer, so each has its
// own reason, over whatever else the pass decided about Degraded.
void decideUnreadableNodes(const Snapshot& s, Decision& d) {
  // Without the Secret, refusals are expected; SecretUnavailable says why.
  if (!s.live.has_value() || s.secret.kind == SecretRead::Kind::kUnavailable) return;
  using Unreachable = topology::ObservedNode::Unreachable;
  std::vector<std::string> auth, loading, no_reply;
  for (const auto& p : s.pods) {
    for (const auto& n : s.live->cluster.nodes) {
      if (n.address != p.address() || n.reachable) continue;
      if (n.unreachable == Unreachable::kAuth) auth.push_back(p.name);
      if (n.unreachable == Unreachable::kLoading) loading.push_back(p.name);
      if (n.unreachable == Unreachable::kNoReply) no_reply.push_back(p.name);
    }
  }
  Conditions conditions(s, d);
  if (!auth.empty()) {
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                   api::kReasonAuthenticationFailed,
                   "pods " + joinNames(auth) +
                       " refuse the operator's password; check the Secret named by "
                       "spec.passwordSecret against the password the pods run with",
                   kube::EventType::kWarning);
  } else if (!loading.empty()) {
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonNodesLoading,
                   "pods " + joinNames(loading) +
                       " are loading their data set into memory; they serve once it is loaded");
  } else if (!no_reply.empty()) {
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                   api::kReasonNodesNotResponding,
                   "pods " + joinNames(no_reply) +
                       " accept connections but did not answer in time (stopped, paused or "
                       "overloaded); Redis fails a master over if this outlasts "
                       "cluster-node-timeout",
                   kube::EventType::kWarning);
  }
}

}  // namespace

Decision decide(const Snapshot& s, const DecideOptions& options) {
  Decision d = decideCluster(s, options);
  decideUnreadableNodes(s, d);
  decideCertificateReloads(s, d);
  decideUsers(s, d);
  reportUserProblems(s, d);
  if (!d.certificate_reloads.empty()) {
    const auto wait = options.certificate_reload_interval;
    if (d.requeue.count() == 0 || d.requeue > wait) d.requeue = wait;
  }
  // While the old password's grace period runs, look again when it ends.
  if (d.password_rotation.has_value() &&
      d.password_rotation->step == PasswordRotation::Step::kWaitGrace) {
    const auto wait = std::max(d.password_rotation->wait, std::chrono::milliseconds(1));
    if (d.requeue.count() == 0 || d.requeue > wait) d.requeue = wait;
  }
  return d;
}

Decision decideCluster(const Snapshot& s, const DecideOptions& options) {
  Decision d;
  const auto& c = s.cluster;
  d.status = c.status;
  d.status.observed_generation = c.generation;
  d.status.selector = resources::selectorString(c);
  Conditions conditions(s, d);

  if (Status valid = api::validateSpec(c.spec); !valid.isOk()) {
    conditions.set(api::kConditionReady, api::ConditionStatus::kFalse, api::kReasonInvalidSpec,
                   valid.message());
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonInvalidSpec,
                   valid.message(), kube::EventType::kWarning);
    return d;  // nothing to do until the spec changes
  }

  decideSharedObjects(s, d);
  const ShapeChange shape =
      planShapeChange(c.spec.masters, c.spec.replicas_per_master, currentSizes(s), s.pods);
  // Without a Secret and no password that worked before, every node refuses us: what we would
  // observe says nothing about the cluster, so the last observation stays.
  const bool blind =
      (s.secret.kind == SecretRead::Kind::kUnavailable && s.secret.password.empty()) ||
      (s.tls.kind == TlsRead::Kind::kUnavailable && !s.tls.options.enabled);
  if (s.live.has_value() && !blind) fillObservedStatus(s.pods, *s.live, &d.status);
  const Drift drift = measureDrift(s.statefulsets, s.pods);
  decideDrift(s, drift, d);

  if (s.secret.kind == SecretRead::Kind::kUnavailable ||
      s.tls.kind == TlsRead::Kind::kUnavailable) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    std::string problem = s.secret.problem;
    if (!s.tls.problem.empty()) problem += (problem.empty() ? "" : "; ") + s.tls.problem;
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                   api::kReasonSecretUnavailable,
                   problem +
                       "; the cluster keeps running, and no topology change is made until the "
                       "Secret can be read",
                   kube::EventType::kWarning);
    d.requeue = options.secret_retry_interval;
    return d;
  }

  if (!blind) decideLiveConfig(s, d);
  reportTlsStage(s, d);
  if (finishTlsBusSwitch(s, conditions, d, options)) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    return d;
  }
  if (decidePasswordRotation(s, conditions, d, options)) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    return d;  // a few quick passes; slot moves would need the new password on every node
  }
  if (!blind && decideManualFailover(s, conditions, d, options)) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    return d;
  }
  if (!shape.waiting_for.empty()) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    recordRestarts(replaceStuckPods(s, drift), drift, drift.updated + drift.outdated.size(), d);
    std::string message =
        "waiting for pods to be Running and Ready: " + joinNames(shape.waiting_for);
    const auto stuck = unschedulable(s, shape, options.unschedulable_grace);
    const auto failing = failingPods(s, shape, options.pod_ready_timeout);
    if (!stuck.empty()) {
      const std::string why = "cannot schedule " + joinNames(stuck, 3);
      message += "; " + why;
      conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                     api::kReasonPodsUnschedulable, why, kube::EventType::kWarning);
    } else if (!failing.empty()) {
      const std::string why = "pods cannot start: " + joinNames(failing, 3) +
                              "; nothing else proceeds until they run (the cluster keeps serving "
                              "from its other pods)";
      message += "; " + why;
      conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue, api::kReasonPodsFailing,
                     why, kube::EventType::kWarning);
    }
    conditions.set(api::kConditionProgressing, api::ConditionStatus::kTrue,
                   api::kReasonWaitingForPods, message);
    conditions.set(api::kConditionReady, api::ConditionStatus::kFalse, api::kReasonWaitingForPods,
                   "the desired pods are not all ready");
    d.requeue = options.pods_wait_interval;
    return d;
  }

  auto plan = s.planner_view.has_value()
                  ? topology::makePlan(*s.planner_view, shape.desired)
                  : Result<topology::Plan>(unavailable("no view of the live cluster"));
  if (!plan.isOk()) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    const std::string message = plan.status().message();
    conditions.set(api::kConditionProgressing, api::ConditionStatus::kFalse,
                   api::kReasonOperationFailed, message);
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                   api::kReasonOperationFailed, message, kube::EventType::kWarning);
    d.error = plan.status();
    return d;
  }
  const std::string short_of_memory = plan->empty() || !s.live.has_value()
                                          ? std::string()
                                          : capacityProblem(*plan, *s.planner_view, s.live->memory,
                                                            s.cluster.spec.migration.batch_keys);
  if (!short_of_memory.empty()) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    conditions.set(api::kConditionProgressing, api::ConditionStatus::kFalse,
                   api::kReasonInsufficientMemory, short_of_memory);
    conditions.set(api::kConditionDegraded, api::ConditionStatus::kTrue,
                   api::kReasonInsufficientMemory, short_of_memory, kube::EventType::kWarning);
    d.requeue = options.health_check_interval;
    return d;
  }
  if (!plan->empty()) {
    decideStatefulSets(s, shape.statefulset_replicas, d);
    decideTopologyWork(s, std::move(plan).value(), conditions, d);
    d.requeue = options.next_slice;
    return d;
  }

  decideOperationEnd(s, d);
  Removal removal = decideRemoval(s);
  std::map<int, int> sizes = shape.statefulset_replicas;
  if (removal.blocking.empty()) {
    for (const auto& [shard, size] : removal.cleanup.statefulset_replicas) sizes[shard] = size;
    for (int shard : removal.cleanup.shards_to_delete) {
      const std::string name = resources::shardName(c, shard);
      // The budget goes first: a budget whose pods lost their controller only raises warnings.
      d.deletions.push_back(kube::kPodDisruptionBudgets.in(c.ns).named(name));
      d.deletions.push_back(kube::kStatefulSets.in(c.ns).named(name));
      d.events.push_back(
          {kube::EventType::kNormal, std::string(api::kReasonScalingIn),
           "Deleted StatefulSet " + name + ": its nodes hold no slots and were forgotten"});
    }
    if (!removal.cleanup.statefulset_replicas.empty()) {
      d.events.push_back({kube::EventType::kNormal, std::string(api::kReasonScalingIn),
                          "Removed replica pods beyond " +
                              std::to_string(c.spec.replicas_per_master) +
                              " per master after forgetting them"});
    }
  } else {
    d.error = failedPrecondition(removal.blocking);
  }
  decideStatefulSets(s, sizes, d);
  // Not yet satisfied (replicas still syncing, gossip still spreading): look again soon.
  const bool satisfied = decideHealth(s, conditions, d);
  d.requeue = satisfied ? options.health_check_interval : options.converge_poll_interval;
  const bool removing = !d.deletions.empty() || !removal.cleanup.statefulset_replicas.empty();
  if (removing) {
    d.requeue = options.next_slice;  // confirm the removal from the next snapshot
  } else if (satisfied && removal.blocking.empty() &&
             !startTlsBusSwitch(s, conditions, d, options)) {
    decideRollout(s, drift, conditions, d, options);
  }
  return d;
}

}  // namespace slotkeeper::reconciler
