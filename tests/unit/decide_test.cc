// decide(): the pure heart of a reconcile pass, table-tested from hand-built snapshots. Each
// case states the snapshot and checks what a pass would do: objects applied or deleted, the
// topology work, conditions with their reasons, Events, and when to look again.
#include "reconciler/decide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "api/conditions.h"
#include "resources/metadata.h"
#include "topology/plan.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

std::string nodeId(int shard, int ordinal) {
  std::string id = "s" + std::to_string(shard) + "o" + std::to_string(ordinal);
  return id + std::string(40 - id.size(), 'a');
}

PodInfo pod(int shard, int ordinal, bool ready = true) {
  PodInfo p;
  p.name = "rc-shard-" + std::to_string(shard) + "-" + std::to_string(ordinal);
  p.shard = shard;
  p.ordinal = ordinal;
  p.ip = "127.20." + std::to_string(shard) + "." + std::to_string(ordinal + 1);
  p.node_name = "node-" + std::to_string(ordinal);
  p.failure_domain = p.node_name;
  p.ready = ready;
  return p;
}

api::RedisCluster clusterObject(int masters, int replicas) {
  api::RedisCluster c;
  c.name = "rc";
  c.ns = "ns";
  c.uid = "uid-1";
  c.generation = 2;
  c.spec.masters = masters;
  c.spec.replicas_per_master = replicas;
  return c;
}

// A healthy cluster of `masters` shards with `replicas` linked replicas each, as every node
// reports it, with its pods, caches and hashes as a previous pass left them.
struct World {
  Snapshot snap;
  DecideOptions options;

  World(int masters, int replicas, int live_masters = -1) {
    if (live_masters < 0) live_masters = masters;
    snap.cluster = clusterObject(masters, replicas);
    snap.object = {{"metadata", {{"name", "rc"}, {"namespace", "ns"}}}};
    snap.now = kNow;
    LiveObservation live;
    std::vector<int> counts = topology::evenSlotCounts(live_masters);
    std::vector<std::string> ids;
    for (int s = 0; s < live_masters; ++s) {
      for (int o = 0; o <= replicas; ++o) ids.push_back(nodeId(s, o));
    }
    int first = 0;
    for (int s = 0; s < live_masters; ++s) {
      for (int o = 0; o <= replicas; ++o) {
        PodInfo p = pod(s, o);
        snap.pods.push_back(p);
        topology::ObservedNode n;
        n.address = p.address();
        n.reachable = true;
        n.id = nodeId(s, o);
        n.failure_domain = p.node_name;
        for (const auto& id : ids) {
          if (id != n.id) n.peer_ids.push_back(id);
        }
        redis::ReplicationInfo repl;
        if (o == 0) {
          n.is_master = true;
          n.slots = SlotSet::fromRanges({{first, first + counts[s] - 1}});
          repl.role = "master";
          for (int r = 1; r <= replicas; ++r) {
            repl.replicas.push_back({pod(s, r).ip, 6379, "online", 100, 0});
          }
          repl.master_repl_offset = 100;
        } else {
          n.is_master = false;
          n.master_id = nodeId(s, 0);
          repl.role = "slave";
          repl.master_link_status = "up";
        }
        live.replication[n.address] = repl;
        live.cluster.nodes.push_back(n);
      }
      first += counts[s];
    }
    live.info = redis::ClusterInfo{"ok", 16384, 16384, 0, 0, 0, 0, 0, 0};
    snap.live = live;
    refreshViews();
    snap.planner_view = live.cluster;
    // What the previous pass applied: the StatefulSets are cached with their hash, and the
    // process remembers the rest.
    for (int s = 0; s < std::max(masters, live_masters); ++s) {
      json sts = {{"spec", {{"replicas", 1 + replicas}}}};
      snap.statefulsets[s] = sts;
    }
    settle();
  }

  // Every node's CLUSTER NODES agrees with the observed roles.
  void refreshViews() {
    snap.live->views.clear();
    for (const auto& observer : snap.live->cluster.nodes) {
      std::vector<redis::ClusterNodeEntry> view;
      for (const auto& n : snap.live->cluster.nodes) {
        redis::ClusterNodeEntry e;
        e.id = n.id;
        e.myself = n.id == observer.id;
        e.master = n.is_master;
        e.replica = !n.is_master;
        e.master_id = n.master_id;
        view.push_back(e);
      }
      snap.live->views[observer.address] = view;
    }
  }

  // Makes the snapshot look as if this decision's applies and status had been written.
  void settle() {
    Decision d = decide(snap, options);
    for (const auto& u : d.config_updates) snap.live_settings_applied[u.address] = u.hash;
    for (const auto& a : d.applies) {
      snap.applied_hashes[a.ref.path()] = a.hash;
      if (a.ref.plural == "statefulsets") {
        auto shard = resources::shardFromLabels(a.object["metadata"]["labels"]);
        snap.statefulsets[*shard] = a.object;
      }
    }
    snap.cluster.status = d.status;
  }
};

const api::Condition& condition(const Decision& d, std::string_view type) {
  static const api::Condition kMissing;
  const api::Condition* c = api::findCondition(d.status.conditions, type);
  return c == nullptr ? kMissing : *c;
}

bool hasEvent(const Decision& d, std::string_view reason) {
  return std::any_of(d.events.begin(), d.events.end(),
                     [&](const EventToRecord& e) { return e.reason == reason; });
}

TEST(Decide, AtRestAppliesNothingWritesNothingAndLooksAgainAtTheHealthInterval) {
  World w(3, 1);
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.applies.empty()) << d.applies.front().ref.path();
  EXPECT_TRUE(d.deletions.empty());
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_TRUE(d.events.empty()) << d.events.front().reason;
  EXPECT_FALSE(statusChangedForUsers(w.snap.cluster.status, d.status));
  EXPECT_EQ(d.requeue, w.options.health_check_interval);
  EXPECT_EQ(condition(d, api::kConditionReady).status, api::ConditionStatus::kTrue);
  EXPECT_EQ(condition(d, api::kConditionDegraded).status, api::ConditionStatus::kFalse);
  EXPECT_TRUE(d.error.isOk());
}

TEST(Decide, LagThatFlickersWithinItsBucketIsNotWorthAWrite) {
  World w(3, 1);
  auto set_lag = [&](int64_t seconds, int64_t offset_gap) {
    for (auto& [address, repl] : w.snap.live->replication) {
      for (auto& link : repl.replicas) {
        link.lag_seconds = seconds;
        link.offset = repl.master_repl_offset - offset_gap;
      }
    }
  };
  set_lag(1, 14);  // at rest: a replica acks every second; the master's pings add a few bytes
  Decision d = decide(w.snap, w.options);
  ASSERT_FALSE(d.status.nodes.empty());
  EXPECT_FALSE(statusChangedForUsers(w.snap.cluster.status, d.status));
  set_lag(4, 0);
  d = decide(w.snap, w.options);
  EXPECT_TRUE(statusChangedForUsers(w.snap.cluster.status, d.status)) << "0-1 s -> 4 s is news";
  w.snap.cluster.status = d.status;
  set_lag(2, 0);
  EXPECT_FALSE(statusChangedForUsers(w.snap.cluster.status, decide(w.snap, w.options).status))
      << "4 s -> 2 s stays in the 2-5 s bucket";
  set_lag(2, int64_t{2} << 20);
  EXPECT_TRUE(statusChangedForUsers(w.snap.cluster.status, decide(w.snap, w.options).status))
      << "a replica 2 MiB behind is news";
}

TEST(Decide, ANewClusterGetsItsObjectsAndWaitsForPods) {
  Snapshot s;
  s.cluster = clusterObject(3, 1);
  s.now = kNow;
  DecideOptions options;
  Decision d = decide(s, options);
  std::vector<std::string> plurals;
  for (const auto& a : d.applies) plurals.push_back(a.ref.plural + "/" + a.ref.name);
  EXPECT_EQ(plurals, (std::vector<std::string>{
                         "configmaps/rc-config", "services/rc-headless", "statefulsets/rc-shard-0",
                         "poddisruptionbudgets/rc-shard-0", "statefulsets/rc-shard-1",
                         "poddisruptionbudgets/rc-shard-1", "statefulsets/rc-shard-2",
                         "poddisruptionbudgets/rc-shard-2"}));
  for (const auto& a : d.applies) {
    EXPECT_EQ(a.object["metadata"]["annotations"][std::string(resources::kAnnotationAppliedHash)],
              a.hash);
  }
  EXPECT_EQ(d.applies[2].object["spec"]["replicas"], 2);
  EXPECT_EQ(condition(d, api::kConditionProgressing).reason, api::kReasonWaitingForPods);
  EXPECT_EQ(condition(d, api::kConditionReady).status, api::ConditionStatus::kFalse);
  EXPECT_EQ(d.requeue, options.pods_wait_interval);
  EXPECT_FALSE(d.topology.has_value());
}

TEST(Decide, AnUnschedulablePodIsNamedWithTheSchedulersReasonAndReportedOnce) {
  World w(3, 1);
  w.snap.cluster.spec.masters = 4;
  PodInfo stuck = pod(3, 0, false);
  stuck.ip.clear();
  stuck.unschedulable_message = "0/3 nodes are available: 3 Insufficient memory.";
  stuck.unschedulable_since = kNow - std::chrono::seconds(5);
  w.snap.pods.push_back(stuck);
  Decision brief = decide(w.snap, w.options);
  EXPECT_NE(condition(brief, api::kConditionDegraded).reason, api::kReasonPodsUnschedulable)
      << "refused for a moment (a volume being bound) is no news";
  EXPECT_FALSE(hasEvent(brief, api::kReasonPodsUnschedulable));
  w.snap.pods.back().unschedulable_since = kNow - std::chrono::seconds(45);
  Decision first = decide(w.snap, w.options);
  const auto& degraded = condition(first, api::kConditionDegraded);
  EXPECT_EQ(degraded.status, api::ConditionStatus::kTrue);
  EXPECT_EQ(degraded.reason, api::kReasonPodsUnschedulable);
  EXPECT_NE(degraded.message.find("rc-shard-3-0"), std::string::npos) << degraded.message;
  EXPECT_NE(degraded.message.find("Insufficient memory"), std::string::npos) << degraded.message;
  EXPECT_NE(condition(first, api::kConditionProgressing).message.find("Insufficient memory"),
            std::string::npos);
  EXPECT_TRUE(hasEvent(first, api::kReasonPodsUnschedulable));
  EXPECT_FALSE(first.topology.has_value()) << "no slot moves while a pod is missing";

  // The next pass: the StatefulSet was applied and the condition written; still stuck.
  for (const auto& a : first.applies) w.snap.applied_hashes[a.ref.path()] = a.hash;
  w.snap.statefulsets[3] =
      first
          .applies[std::distance(first.applies.begin(),
                                 std::find_if(first.applies.begin(), first.applies.end(),
                                              [](const ObjectToApply& a) {
                                                return a.ref.name == "rc-shard-3" &&
                                                       a.ref.plural == "statefulsets";
                                              }))]
          .object;
  w.snap.cluster.status = first.status;
  Decision second = decide(w.snap, w.options);
  EXPECT_TRUE(second.applies.empty())
      << "nothing is re-applied while waiting: " << second.applies.front().ref.path();
  EXPECT_TRUE(second.events.empty()) << "the Event is recorded once";
  EXPECT_FALSE(statusChangedForUsers(w.snap.cluster.status, second.status));
}

TEST(Decide, AMissingSecretIsDegradedNamesTheSecretAndChangesNoTopology) {
  World w(3, 1);
  w.snap.cluster.spec.password_secret = api::PasswordSecretRef{"rc-auth", "password"};
  w.snap.cluster.spec.masters = 4;  // a change is wanted, but must wait for the Secret
  w.snap.pods.push_back(pod(3, 0));
  w.snap.pods.push_back(pod(3, 1));
  w.snap.secret.kind = SecretRead::Kind::kUnavailable;
  w.snap.secret.problem = "password Secret rc-auth: not found";
  w.snap.secret.password = "the-old-one";
  Decision d = decide(w.snap, w.options);
  const auto& degraded = condition(d, api::kConditionDegraded);
  EXPECT_EQ(degraded.reason, api::kReasonSecretUnavailable);
  EXPECT_NE(degraded.message.find("rc-auth"), std::string::npos);
  EXPECT_TRUE(hasEvent(d, api::kReasonSecretUnavailable));
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_EQ(d.requeue, w.options.secret_retry_interval);
  EXPECT_EQ(d.status.masters, 3) << "status is still observed with the password that worked";

  // No password ever worked: the observation is blind, so the last one stays.
  w.snap.secret.password.clear();
  w.snap.live->cluster.nodes.clear();
  Decision blind = decide(w.snap, w.options);
  EXPECT_EQ(blind.status.masters, 3);
  EXPECT_EQ(blind.status.nodes, w.snap.cluster.status.nodes);
}

TEST(Decide, AnUnreadableTlsSecretIsDegradedLikeThePasswordsAndChangesNoTopology) {
  World w(3, 1);
  w.snap.cluster.spec.tls = api::TlsSpec{"rc-tls", false};
  w.snap.cluster.spec.masters = 4;
  w.snap.pods.push_back(pod(3, 0));
  w.snap.pods.push_back(pod(3, 1));
  w.snap.tls.kind = TlsRead::Kind::kUnavailable;
  w.snap.tls.problem = "TLS Secret rc-tls: has no key 'ca.crt'";
  w.snap.tls.options.enabled = true;  // the material that worked before
  Decision d = decide(w.snap, w.options);
  const auto& degraded = condition(d, api::kConditionDegraded);
  EXPECT_EQ(degraded.reason, api::kReasonSecretUnavailable);
  EXPECT_NE(degraded.message.find("has no key 'ca.crt'"), std::string::npos) << degraded.message;
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_TRUE(d.certificate_reloads.empty()) << "nothing to compare the nodes with";
}

TEST(Decide, NodesServingAnotherCertificateThanTheSecretsAreToldToReloadUntilTheyServeIt) {
  World w(3, 1);
  w.snap.cluster.spec.tls = api::TlsSpec{"rc-tls", false};
  w.snap.tls.kind = TlsRead::Kind::kRead;
  w.snap.tls.options.enabled = true;
  w.snap.tls.certificate_sha256 = "new";
  for (const auto& n : w.snap.live->cluster.nodes) {
    w.snap.live->served_certificates[n.address] = "new";
  }
  Decision current = decide(w.snap, w.options);
  EXPECT_TRUE(current.certificate_reloads.empty());
  EXPECT_FALSE(hasEvent(current, "ReloadingCertificate"));

  const std::string renewed_node = w.snap.live->cluster.nodes[2].address;
  w.snap.live->served_certificates[renewed_node] = "old";
  Decision d = decide(w.snap, w.options);
  EXPECT_EQ(d.certificate_reloads, std::vector<std::string>{renewed_node});
  EXPECT_TRUE(hasEvent(d, "ReloadingCertificate"));
  EXPECT_GT(d.requeue.count(), 0);
  EXPECT_LE(d.requeue, w.options.certificate_reload_interval) << "look again soon";
}

UserRead appUser(const std::string& password, const std::string& sha,
                 const std::string& rules_hash = "rules-1") {
  UserRead u;
  u.name = "app";
  u.rules = "~app:* +@read (~log:* +get)";
  u.password = password;
  u.password_sha256 = sha;
  u.rules_hash = rules_hash;
  u.grace = std::chrono::seconds(60);
  return u;
}

// The nodes have `app` as this process set it, accepting `hashes`.
void giveEveryNodeTheUser(World& w, const std::vector<std::string>& hashes,
                          const std::string& rules_hash = "rules-1") {
  for (const auto& n : w.snap.live->cluster.nodes) {
    w.snap.live->acl_users[n.address] = {"default", "app"};
    w.snap.live->user_passwords[n.address]["app"] = hashes;
    w.snap.users_applied[n.address + "/app"] = rules_hash;
  }
}

TEST(DecideUsers, CreatesMissingUsersSetsChangedOnesAndDeletesOnlyItsOwnRemovedOnes) {
  World w(3, 1);
  w.snap.users = {appUser("s3cret", "sha-1")};
  for (const auto& n : w.snap.live->cluster.nodes) w.snap.live->acl_users[n.address] = {"default"};
  Decision created = decide(w.snap, w.options);
  ASSERT_EQ(created.user_updates.size(), w.snap.live->cluster.nodes.size());
  const UserUpdate& first = created.user_updates.front();
  EXPECT_EQ(first.user, "app");
  EXPECT_FALSE(first.remove);
  EXPECT_EQ(first.rules_hash, "rules-1");
  EXPECT_EQ(first.rules, (std::vector<std::string>{"reset", "on", ">s3cret", "~app:*", "+@read",
                                                   "(~log:* +get)"}));
  for (const auto& e : created.events) {
    EXPECT_EQ(e.message.find("s3cret"), std::string::npos) << "never a password in an Event";
  }

  giveEveryNodeTheUser(w, {"sha-1"});
  EXPECT_TRUE(decide(w.snap, w.options).user_updates.empty());
  // A restarted node lacks the user again: only that one gets it.
  const std::string restarted = w.snap.live->cluster.nodes[1].address;
  w.snap.live->acl_users[restarted] = {"default"};
  Decision again = decide(w.snap, w.options);
  ASSERT_EQ(again.user_updates.size(), 1u);
  EXPECT_EQ(again.user_updates[0].address, restarted);
  EXPECT_EQ(again.user_updates[0].rules[0], "reset");
  giveEveryNodeTheUser(w, {"sha-1"});

  // New rules: every node gets the user whole again.
  w.snap.users[0].rules_hash = "rules-2";
  Decision rules = decide(w.snap, w.options);
  ASSERT_EQ(rules.user_updates.size(), w.snap.live->cluster.nodes.size());
  EXPECT_EQ(rules.user_updates[0].rules[0], "reset");
  w.snap.users[0].rules_hash = "rules-1";

  // Removed from the spec: deleted where this process created it; a user it never made stays.
  w.snap.users.clear();
  w.snap.live->acl_users[restarted].insert("someone-else");
  Decision removed = decide(w.snap, w.options);
  ASSERT_EQ(removed.user_updates.size(), w.snap.live->cluster.nodes.size());
  for (const auto& u : removed.user_updates) {
    EXPECT_TRUE(u.remove);
    EXPECT_EQ(u.user, "app");
  }
}

TEST(DecideUsers, ANewPasswordIsAddedEverywhereAndTheOldOneRemovedAfterTheGracePeriod) {
  World w(3, 1);
  const size_t nodes = w.snap.live->cluster.nodes.size();
  giveEveryNodeTheUser(w, {"sha-old"});
  w.snap.users = {appUser("new-pw", "sha-new")};

  Decision add = decide(w.snap, w.options);
  ASSERT_EQ(add.user_updates.size(), nodes);
  EXPECT_EQ(add.user_updates[0].rules, (std::vector<std::string>{"on", ">new-pw"}))
      << "added next to the old one, which keeps working";
  EXPECT_TRUE(add.user_rotation_marks.empty());

  // One node still lacks it: the grace period has not begun.
  giveEveryNodeTheUser(w, {"sha-old", "sha-new"});
  w.snap.live->user_passwords[w.snap.live->cluster.nodes[0].address]["app"] = {"sha-old"};
  EXPECT_TRUE(decide(w.snap, w.options).user_rotation_marks.empty());

  giveEveryNodeTheUser(w, {"sha-old", "sha-new"});
  Decision begun = decide(w.snap, w.options);
  EXPECT_TRUE(begun.user_updates.empty());
  ASSERT_TRUE(begun.user_rotation_marks.count("app"));
  EXPECT_EQ(begun.user_rotation_marks["app"], w.snap.now);
  EXPECT_TRUE(hasEvent(begun, "RotatingUserPassword"));
  EXPECT_GT(begun.requeue.count(), 0);
  EXPECT_LE(begun.requeue, std::chrono::milliseconds(60000));

  w.snap.user_rotations["app"] = w.snap.now - std::chrono::seconds(30);
  Decision waiting = decide(w.snap, w.options);
  EXPECT_TRUE(waiting.user_updates.empty());
  EXPECT_LE(waiting.requeue, std::chrono::milliseconds(30000));

  w.snap.user_rotations["app"] = w.snap.now - std::chrono::seconds(61);
  Decision removed = decide(w.snap, w.options);
  ASSERT_EQ(removed.user_updates.size(), nodes);
  EXPECT_EQ(removed.user_updates[0].rules, (std::vector<std::string>{"resetpass", ">new-pw"}));
  EXPECT_TRUE(hasEvent(removed, "UserPasswordRotated"));
  ASSERT_TRUE(removed.user_rotation_marks.count("app"));
  EXPECT_FALSE(removed.user_rotation_marks["app"].has_value());

  giveEveryNodeTheUser(w, {"sha-new"});
  Decision done = decide(w.snap, w.options);
  EXPECT_TRUE(done.user_updates.empty());
  EXPECT_FALSE(done.user_rotation_marks["app"].has_value()) << "the mark is cleared";
}

TEST(DecideUsers, AnUnreadableSecretOrRefusedRulesAreReportedAndTheUserIsLeftAsItIs) {
  World w(3, 1);
  for (const auto& n : w.snap.live->cluster.nodes) w.snap.live->acl_users[n.address] = {"default"};
  UserRead missing = appUser("", "");
  missing.problem = "user app: password Secret app-pw: not found";
  UserRead refused = appUser("pw", "sha");
  refused.name = "ro";
  w.snap.users = {missing, refused};
  w.snap.user_errors["ro"] = "ERR Error in ACL SETUSER modifier '+nosuchcommand': Unknown command";
  Decision d = decide(w.snap, w.options);
  for (const auto& u : d.user_updates) EXPECT_EQ(u.user, "ro") << "no password, no change";
  const auto& degraded = condition(d, api::kConditionDegraded);
  EXPECT_EQ(degraded.reason, api::kReasonUsersNotApplied);
  EXPECT_NE(degraded.message.find("app-pw: not found"), std::string::npos) << degraded.message;
  EXPECT_NE(degraded.message.find("'+nosuchcommand'"), std::string::npos) << degraded.message;
}

TEST(DecideUsers, TheOperatorUsersSecretIsWrittenOnlyWhenItDoesNotExist) {
  World w(3, 1);
  w.snap.cluster.spec.password_secret = api::PasswordSecretRef{"rc-auth", "password", 60};
  w.snap.operator_user.proposed_password = "generated";
  Decision d = decide(w.snap, w.options);
  auto secret = std::find_if(d.applies.begin(), d.applies.end(),
                             [](const ObjectToApply& a) { return a.ref.plural == "secrets"; });
  ASSERT_NE(secret, d.applies.end());
  EXPECT_EQ(secret->ref.name, "rc-operator-user");
  EXPECT_EQ(secret->object["stringData"]["password"], "generated");
  EXPECT_EQ(secret->object["metadata"]["ownerReferences"][0]["kind"], "RedisCluster");

  w.snap.operator_user.proposed_password.clear();
  w.snap.operator_user.password = "generated";
  Decision again = decide(w.snap, w.options);
  EXPECT_TRUE(std::none_of(again.applies.begin(), again.applies.end(), [](const ObjectToApply& a) {
    return a.ref.plural == "secrets";
  })) << "an existing Secret is never rewritten";
}

// A scale-out whose new shard has joined nothing yet: a topology plan is due.
void addEmptyShard(World& w) {
  w.snap.cluster.spec.masters = 4;
  for (int o = 0; o <= 1; ++o) {
    PodInfo p = pod(3, o);
    w.snap.pods.push_back(p);
    topology::ObservedNode fresh;
    fresh.address = p.address();
    fresh.reachable = true;
    fresh.id = nodeId(3, o);
    fresh.failure_domain = p.node_name;
    w.snap.planner_view->nodes.push_back(fresh);
    w.snap.live->cluster.nodes.push_back(fresh);
  }
  w.snap.statefulsets[3] = {{"spec", {{"replicas", 2}}}};
}

TEST(Decide, AScaleOutPlansTheMoveStartsTheOperationOnceAndComesBackAtOnce) {
  World w(3, 1);
  addEmptyShard(w);
  w.snap.cluster.generation = 3;
  Decision d = decide(w.snap, w.options);
  ASSERT_TRUE(d.topology.has_value()) << condition(d, api::kConditionDegraded).message;
  EXPECT_FALSE(d.topology->plan.empty());
  EXPECT_NE(d.topology->summary.find("join 2 node(s)"), std::string::npos) << d.topology->summary;
  EXPECT_EQ(condition(d, api::kConditionProgressing).status, api::ConditionStatus::kTrue);
  EXPECT_EQ(condition(d, api::kConditionReady).status, api::ConditionStatus::kFalse);
  EXPECT_EQ(condition(d, api::kConditionReady).observed_generation, 3);
  ASSERT_TRUE(d.status.operation.is_object());
  EXPECT_EQ(d.status.operation["slotsMoved"], 0);
  EXPECT_EQ(d.status.operation["startedAt"], api::formatConditionTime(kNow));
  EXPECT_TRUE(hasEvent(d, d.topology->reason));
  EXPECT_EQ(d.requeue, w.options.next_slice);

  // The next slice: the operation carries on, with no second "Starting" Event.
  w.snap.cluster.status = d.status;
  w.snap.cluster.status.operation["slotsMoved"] = 1000;
  Decision next = decide(w.snap, w.options);
  ASSERT_TRUE(next.topology.has_value());
  EXPECT_TRUE(next.events.empty());
  EXPECT_EQ(next.status.operation["slotsMoved"], 1000);
}

void dualPodsToSwitch(World& w) {
  w.snap.tls_change.target_bus_tls = true;
  w.snap.tls_change.in_progress = true;
  w.snap.tls_change.bus_switches = {{w.snap.pods[0].address(), resources::TlsStage::kAdding},
                                    {w.snap.pods[1].address(), resources::TlsStage::kAdding}};
}

TEST(DecideTls, TheBusSwitchStartsFromAClusterAtRestInsteadOfARestart) {
  World w(3, 1);
  dualPodsToSwitch(w);
  Decision d = decide(w.snap, w.options);
  ASSERT_EQ(d.tls_bus_switches.size(), 2u);
  EXPECT_EQ(d.tls_bus_switches[0].address, w.snap.pods[0].address());
  EXPECT_EQ(d.tls_bus_switches[0].settings,
            (std::vector<std::pair<std::string, std::string>>{{"tls-replication", "yes"},
                                                              {"tls-cluster", "yes"},
                                                              {"cluster-announce-tls-port", "6380"},
                                                              {"cluster-announce-port", "6379"}}));
  EXPECT_TRUE(d.pod_restarts.empty());
  EXPECT_TRUE(hasEvent(d, "SwitchingClusterBus"));
  EXPECT_EQ(condition(d, api::kConditionProgressing).reason, "ChangingTls");
  EXPECT_GT(d.requeue.count(), 0) << "read the switched nodes back";

  World busy(3, 1);
  addEmptyShard(busy);
  dualPodsToSwitch(busy);
  d = decide(busy.snap, busy.options);
  EXPECT_TRUE(d.tls_bus_switches.empty()) << "new nodes are met on the bus they know";
  EXPECT_TRUE(d.topology.has_value());
}

TEST(DecideTls, AHalfDoneSwitchIsFinishedBeforeAnythingElse) {
  World w(3, 1);
  addEmptyShard(w);
  dualPodsToSwitch(w);
  w.snap.tls_change.partial = true;
  Decision d = decide(w.snap, w.options);
  EXPECT_FALSE(d.topology.has_value()) << "nodes disagree on the bus while it switches";
  EXPECT_EQ(d.tls_bus_switches.size(), 2u);
  EXPECT_EQ(condition(d, api::kConditionProgressing).reason, "ChangingTls");

  w.snap.tls_change.bus_switches.clear();
  w.snap.tls_change.bus_unknown = true;
  d = decide(w.snap, w.options);
  EXPECT_FALSE(d.topology.has_value()) << "a dual pod's bus unknown: wait for it";
  EXPECT_TRUE(d.tls_bus_switches.empty());

  w.snap.tls_change.bus_unknown = false;
  w.snap.tls_change.partial = false;
  auto& entries = w.snap.live->views.begin()->second;
  entries.push_back(entries.front());
  entries.back().myself = false;
  entries.back().ip = w.snap.pods[0].ip;
  entries.back().port = 6380;
  d = decide(w.snap, w.options);
  EXPECT_FALSE(d.topology.has_value()) << "a node has not heard a pod's new port yet";
  EXPECT_NE(condition(d, api::kConditionProgressing).message.find("new ports"), std::string::npos);

  entries.pop_back();
  d = decide(w.snap, w.options);
  EXPECT_TRUE(d.topology.has_value()) << "with every node on one bus, slots move again";
}

TEST(DecideTls, TheTemplatesTakeTheStageOfTheChangeWithAnEvent) {
  World w(3, 1);
  w.snap.cluster.spec.tls = api::TlsSpec{"rc-tls", false};
  w.snap.tls_change.in_progress = true;
  w.snap.tls_change.serving = {resources::TlsStage::kAdding, "rc-tls", false};
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(hasEvent(d, "ChangingTls"));
  bool applied = false;
  for (const auto& a : d.applies) {
    if (a.object.value("kind", "") != "StatefulSet") continue;
    applied = true;
    EXPECT_EQ(a.object["spec"]["template"]["metadata"]["annotations"]["redis.slotkeeper.io/tls"],
              "adding");
  }
  EXPECT_TRUE(applied);
}

TEST(Decide, AFinishedOperationIsClearedWithADoneEvent) {
  World w(3, 1);
  w.snap.cluster.status.operation = {
      {"type", "MigratingSlots"},
      {"description", "move 4096 slots"},
      {"startedAt", api::formatConditionTime(kNow - std::chrono::seconds(12))},
      {"slotsMoved", 4096},
      {"keysMoved", 250000}};
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.status.operation.is_null());
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, api::kReasonReconciled);
  EXPECT_NE(d.events[0].message.find("4096 slots and 250000 keys moved in 12s"), std::string::npos)
      << d.events[0].message;
}

TEST(Decide, AShardIsDeletedOnlyOnceItsNodesAreForgottenBudgetFirst) {
  World w(4, 0);
  w.snap.cluster.spec.masters = 3;
  // Shard 3 still holds slots: the planner drains it first, nothing is deleted.
  Decision draining = decide(w.snap, w.options);
  EXPECT_TRUE(draining.deletions.empty());
  ASSERT_TRUE(draining.topology.has_value());

  // Drained, forgotten and reset: its pod no longer knows anyone, and no one knows it.
  World after(3, 0);
  after.snap.cluster.spec.masters = 3;
  after.snap.statefulsets[3] = {{"spec", {{"replicas", 1}}}};
  PodInfo leaving = pod(3, 0);
  after.snap.pods.push_back(leaving);
  topology::ObservedNode alone;
  alone.address = leaving.address();
  alone.reachable = true;
  alone.id = nodeId(3, 0);
  after.snap.live->cluster.nodes.push_back(alone);
  Decision d = decide(after.snap, after.options);
  ASSERT_EQ(d.deletions.size(), 2u) << condition(d, api::kConditionDegraded).message;
  EXPECT_EQ(d.deletions[0].plural, "poddisruptionbudgets");
  EXPECT_EQ(d.deletions[1].plural, "statefulsets");
  EXPECT_EQ(d.deletions[1].name, "rc-shard-3");
  EXPECT_TRUE(hasEvent(d, api::kReasonScalingIn));

  // Still known to a member: not deleted, and the pass says why.
  after.snap.live->cluster.nodes[0].peer_ids.push_back(nodeId(3, 0));
  Decision blocked = decide(after.snap, after.options);
  EXPECT_TRUE(blocked.deletions.empty());
  EXPECT_EQ(blocked.error.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(blocked.error.message().find("rc-shard-3-0"), std::string::npos);
}

TEST(Decide, AnInvalidSpecIsReportedOnceAndNothingIsApplied) {
  World w(3, 1);
  w.snap.cluster.spec.masters = 2;
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.applies.empty());
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_EQ(condition(d, api::kConditionReady).reason, api::kReasonInvalidSpec);
  EXPECT_TRUE(hasEvent(d, api::kReasonInvalidSpec));
  EXPECT_EQ(d.requeue, milliseconds(0));
  w.snap.cluster.status = d.status;
  EXPECT_TRUE(decide(w.snap, w.options).events.empty());
}

TEST(Decide, ReplicasNotLinkedYetMeanLookingAgainSoon) {
  World w(3, 1);
  for (auto& [address, repl] : w.snap.live->replication) {
    if (repl.role == "slave") repl.master_link_status = "down";
  }
  Decision d = decide(w.snap, w.options);
  EXPECT_EQ(condition(d, api::kConditionReady).status, api::ConditionStatus::kFalse);
  EXPECT_EQ(condition(d, api::kConditionDegraded).reason, api::kReasonUnprotectedMasters);
  EXPECT_EQ(d.requeue, w.options.converge_poll_interval);
}

}  // namespace
}  // namespace slotkeeper::reconciler

namespace slotkeeper::reconciler {
namespace {

nlohmann::json statefulSet(int shard, int replicas, const std::string& hash) {
  return {{"metadata",
           {{"name", "rc-shard-" + std::to_string(shard)},
            {"namespace", "ns"},
            {"labels", {{std::string(resources::kLabelShard), std::to_string(shard)}}},
            {"annotations", {{std::string(resources::kAnnotationAppliedHash), hash}}}}},
          {"spec", {{"replicas", replicas}}}};
}

std::string pathOf(int shard) {
  return kube::kStatefulSets.in("ns").named("rc-shard-" + std::to_string(shard)).path();
}

TEST(MergeStatefulSets, AWriteTheCacheDoesNotShowYetWinsUntilItDoes) {
  SnapshotMemory memory;
  memory.applied_statefulsets[pathOf(0)] = statefulSet(0, 2, "new");  // shrunk from 3
  memory.applied_statefulsets[pathOf(1)] = statefulSet(1, 2, "created");
  auto merged = mergeStatefulSets({statefulSet(0, 3, "old")}, memory);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0]["spec"]["replicas"], 2) << "a stale cache must not grow a shard back";
  EXPECT_EQ(merged[1]["spec"]["replicas"], 2) << "a StatefulSet just created counts";
  EXPECT_EQ(memory.applied_statefulsets.size(), 2u);

  merged = mergeStatefulSets({statefulSet(0, 2, "new"), statefulSet(1, 2, "created")}, memory);
  EXPECT_EQ(merged[0]["spec"]["replicas"], 2);
  EXPECT_TRUE(memory.applied_statefulsets.empty()) << "forgotten once the cache caught up";
}

TEST(MergeStatefulSets, ADeletedStatefulSetStaysGoneWhileTheCacheStillHasIt) {
  SnapshotMemory memory;
  memory.deleted_statefulsets.insert(pathOf(3));
  auto merged = mergeStatefulSets({statefulSet(0, 1, "a"), statefulSet(3, 1, "b")}, memory);
  EXPECT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged.count(3), 0u);
  EXPECT_EQ(memory.deleted_statefulsets.size(), 1u);
  mergeStatefulSets({statefulSet(0, 1, "a")}, memory);
  EXPECT_TRUE(memory.deleted_statefulsets.empty());
}

// --- rolling restarts ---

// Gives every StatefulSet a current revision "new" and the named pods revision "old" (the
// others "new"), as the StatefulSet controller reports them after a template change.
void outdate(World& w, const std::set<std::string>& outdated) {
  for (auto& [shard, sts] : w.snap.statefulsets) {
    sts["metadata"]["generation"] = 3;
    sts["status"] = {{"observedGeneration", 3}, {"updateRevision", "new"}};
  }
  for (auto& p : w.snap.pods) p.revision = outdated.count(p.name) ? "old" : "new";
}

// Swaps the roles of a shard's master (ordinal 0) and its first replica, as a completed
// failover leaves them, in every node's own view.
void failOver(World& w, int shard) {
  auto& nodes = w.snap.live->cluster.nodes;
  auto at = [&](int ordinal) -> topology::ObservedNode& {
    for (auto& n : nodes) {
      if (n.address == pod(shard, ordinal).address()) return n;
    }
    throw std::logic_error("no such node");
  };
  topology::ObservedNode& old_master = at(0);
  topology::ObservedNode& promoted = at(1);
  promoted.is_master = true;
  promoted.master_id.clear();
  promoted.slots = old_master.slots;
  old_master.is_master = false;
  old_master.master_id = promoted.id;
  old_master.slots = SlotSet();
  auto& repl = w.snap.live->replication;
  std::swap(repl[old_master.address], repl[promoted.address]);
  repl[promoted.address].replicas = {{pod(shard, 0).ip, 6379, "online", 100, 0}};
  w.refreshViews();
}

std::vector<std::string> restartedPods(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.pod_restarts) out.push_back(r.pod);
  return out;
}

TEST(DecideRollout, RestartsOneReplicaFirstAndCountsTheDrift) {
  World w(3, 1);
  outdate(w, {"rc-shard-0-0", "rc-shard-0-1", "rc-shard-1-0", "rc-shard-1-1", "rc-shard-2-0",
              "rc-shard-2-1"});
  Decision d = decide(w.snap, w.options);
  EXPECT_EQ(restartedPods(d), std::vector<std::string>{"rc-shard-0-1"});
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_EQ(d.status.outdated_pods, 6);
  EXPECT_EQ(d.status.updated_pods, 0);
  EXPECT_TRUE(d.status.nodes.front().outdated);
  EXPECT_EQ(condition(d, "Progressing").reason, "RollingRestart");
  EXPECT_EQ(condition(d, "Ready").status, api::ConditionStatus::kTrue);  // it keeps serving
  EXPECT_TRUE(hasEvent(d, "RestartingPod"));
  EXPECT_EQ(d.requeue, w.options.converge_poll_interval);
}

TEST(DecideRollout, FailsTheMasterOverToAnUpdatedReplicaBeforeRestartingIt) {
  World w(3, 1);
  outdate(w, {"rc-shard-0-0", "rc-shard-1-0", "rc-shard-1-1"});
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.pod_restarts.empty());
  ASSERT_EQ(d.failovers.size(), 1u);
  EXPECT_EQ(d.failovers[0].shard, 0);
  EXPECT_EQ(d.failovers[0].replica_pod, "rc-shard-0-1");
  EXPECT_EQ(d.failovers[0].replica_address, pod(0, 1).address());
  EXPECT_EQ(d.failovers[0].master_pod, "rc-shard-0-0");
  EXPECT_TRUE(hasEvent(d, "FailingOver"));
}

TEST(DecideRollout, RestartsTheFormerMasterOnlyOnceEveryNodeAgreesOnTheNewOne) {
  World w(3, 1);
  outdate(w, {"rc-shard-0-0"});
  failOver(w, 0);
  // One node has not heard of the failover yet: it still lists the old master as master.
  auto& stale = w.snap.live->views[pod(2, 0).address()];
  for (auto& e : stale) {
    if (e.id == nodeId(0, 0)) e.master = true, e.replica = false, e.master_id.clear();
  }
  Decision waiting = decide(w.snap, w.options);
  EXPECT_TRUE(waiting.pod_restarts.empty());
  EXPECT_TRUE(waiting.failovers.empty());
  EXPECT_NE(condition(waiting, "Progressing").message.find("agree"), std::string::npos);

  w.refreshViews();
  Decision d = decide(w.snap, w.options);
  EXPECT_EQ(restartedPods(d), std::vector<std::string>{"rc-shard-0-0"});
}

TEST(DecideRollout, WaitsForAReplicaToFinishSyncingBeforeTheNextStep) {
  World w(3, 1);
  outdate(w, {"rc-shard-0-0"});
  w.snap.live->replication[pod(0, 1).address()].master_sync_in_progress = true;
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_TRUE(d.pod_restarts.empty());
  EXPECT_EQ(condition(d, "Progressing").reason, "RollingRestart");
  EXPECT_NE(condition(d, "Progressing").message.find("synced replica"), std::string::npos);
}

TEST(DecideRollout, PausedRestartsNothingAndSaysSo) {
  World w(3, 1);
  w.snap.cluster.spec.update_strategy.paused = true;
  outdate(w, {"rc-shard-0-1"});
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.pod_restarts.empty());
  EXPECT_EQ(condition(d, "Progressing").reason, "RolloutPaused");
  EXPECT_EQ(d.status.outdated_pods, 1);
}

TEST(DecideRollout, AShardWithoutReplicasRestartsInPlaceOnlyWithStorage) {
  World w(3, 0);
  outdate(w, {"rc-shard-1-0"});
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.pod_restarts.empty());
  EXPECT_EQ(condition(d, "Degraded").reason, "RolloutBlocked");
  EXPECT_NE(condition(d, "Degraded").message.find("rc-shard-1-0"), std::string::npos);

  w.snap.cluster.spec.storage = api::StorageSpec{"1Gi", ""};
  d = decide(w.snap, w.options);
  EXPECT_EQ(restartedPods(d), std::vector<std::string>{"rc-shard-1-0"});
  EXPECT_NE(d.pod_restarts[0].why.find("unavailable"), std::string::npos);
}

TEST(DecideRollout, MaxUnavailableShardsStartsThatManyShardsAtOnce) {
  World w(3, 1);
  w.snap.cluster.spec.update_strategy.max_unavailable_shards = 2;
  outdate(w, {"rc-shard-0-1", "rc-shard-1-1", "rc-shard-2-1"});
  Decision d = decide(w.snap, w.options);
  EXPECT_EQ(restartedPods(d), (std::vector<std::string>{"rc-shard-0-1", "rc-shard-1-1"}));
}

TEST(DecideRollout, APodThatCannotStartStopsTheRollAndAFixedSpecReplacesIt) {
  World w(3, 1);
  outdate(w, {"rc-shard-0-0"});
  PodInfo& broken = w.snap.pods[1];  // rc-shard-0-1, restarted onto the new template
  ASSERT_EQ(broken.name, "rc-shard-0-1");
  broken.ready = false;
  broken.waiting_reason = "ErrImagePull";
  broken.waiting_message = "image redis:nope has no local binary";
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.pod_restarts.empty());
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_EQ(condition(d, "Degraded").reason, "PodsFailing");
  EXPECT_NE(condition(d, "Degraded").message.find("rc-shard-0-1 (ErrImagePull: image redis:nope"),
            std::string::npos);
  EXPECT_TRUE(hasEvent(d, "PodsFailing"));

  // The spec is fixed: a newer revision, so the broken pod is outdated and replaced at once.
  for (auto& [shard, sts] : w.snap.statefulsets) sts["status"]["updateRevision"] = "newer";
  d = decide(w.snap, w.options);
  EXPECT_EQ(restartedPods(d), std::vector<std::string>{"rc-shard-0-1"});
}

TEST(DecideRollout, ReportsCompletionOnceWhenTheLastPodIsUpdated) {
  World w(3, 1);
  outdate(w, {});
  w.snap.cluster.status.outdated_pods = 1;
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(hasEvent(d, "RolloutComplete"));
  EXPECT_EQ(d.status.outdated_pods, 0);
  EXPECT_EQ(d.status.updated_pods, 6);
  w.snap.cluster.status = d.status;
  EXPECT_FALSE(hasEvent(decide(w.snap, w.options), "RolloutComplete"));
}

TEST(DecideRollout, UnknownRevisionsRollNothing) {
  World w(3, 1);
  outdate(w, {"rc-shard-0-1"});
  w.snap.statefulsets[0]["metadata"]["generation"] = 4;  // the controller has not caught up
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.pod_restarts.empty());
}

TEST(DecideLiveConfig, SetsEveryNodeOnceAndAgainWhenTheSpecChanges) {
  World w(3, 1);
  w.snap.live_settings_applied.clear();
  Decision first = decide(w.snap, w.options);
  EXPECT_EQ(first.config_updates.size(), 6u);
  for (const auto& u : first.config_updates) w.snap.live_settings_applied[u.address] = u.hash;
  EXPECT_TRUE(decide(w.snap, w.options).config_updates.empty());

  w.snap.cluster.spec.redis_config["maxmemory"] = "100mb";
  Decision changed = decide(w.snap, w.options);
  ASSERT_EQ(changed.config_updates.size(), 6u);
  auto settings = changed.config_updates[0].settings;
  EXPECT_NE(std::find(settings.begin(), settings.end(),
                      std::pair<std::string, std::string>("maxmemory", "100mb")),
            settings.end());
  EXPECT_TRUE(changed.applies.empty() ||
              std::none_of(changed.applies.begin(), changed.applies.end(),
                           [](const ObjectToApply& a) { return a.ref.plural == "statefulsets"; }))
      << "a live setting must not change the pod template";
}

// --- manual failover ---

TEST(DecideManualFailover, PromotesTheNamedReplicaAndRemovesTheAnnotationAfter) {
  World w(3, 1);
  w.snap.cluster.annotations["redis.slotkeeper.io/promote"] = "rc-shard-1-1";
  Decision d = decide(w.snap, w.options);
  ASSERT_EQ(d.failovers.size(), 1u);
  EXPECT_EQ(d.failovers[0].shard, 1);
  EXPECT_EQ(d.failovers[0].replica_pod, "rc-shard-1-1");
  EXPECT_EQ(d.failovers[0].master_pod, "rc-shard-1-0");
  EXPECT_EQ(d.annotations_to_remove, std::vector<std::string>{"redis.slotkeeper.io/promote"});
  EXPECT_TRUE(hasEvent(d, "ManualFailover"));
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_TRUE(d.pod_restarts.empty());
}

TEST(DecideManualFailover, IsDoneWhenThePodAlreadyHasTheRoleAskedFor) {
  World w(3, 1);
  w.snap.cluster.annotations["redis.slotkeeper.io/promote"] = "rc-shard-0-0";  // a master
  w.snap.cluster.annotations["redis.slotkeeper.io/demote"] = "rc-shard-2-1";   // a replica
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_EQ(d.annotations_to_remove.size(), 2u);
  EXPECT_FALSE(hasEvent(d, "ManualFailoverRefused"));
}

TEST(DecideManualFailover, DemotingAMasterHandsItsRoleToItsReplica) {
  World w(3, 2);
  w.snap.cluster.annotations["redis.slotkeeper.io/demote"] = "rc-shard-2-0";
  Decision d = decide(w.snap, w.options);
  ASSERT_EQ(d.failovers.size(), 1u);
  EXPECT_EQ(d.failovers[0].master_pod, "rc-shard-2-0");
  EXPECT_NE(d.failovers[0].replica_pod, "rc-shard-2-0");
}

TEST(DecideManualFailover, RefusesAnUnknownPodOrAShardWithoutReplicas) {
  World w(3, 1);
  w.snap.cluster.annotations["redis.slotkeeper.io/promote"] = "rc-shard-9-1";
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_TRUE(hasEvent(d, "ManualFailoverRefused"));
  EXPECT_EQ(d.annotations_to_remove, std::vector<std::string>{"redis.slotkeeper.io/promote"});

  World bare(3, 0);
  bare.snap.cluster.annotations["redis.slotkeeper.io/demote"] = "rc-shard-0-0";
  d = decide(bare.snap, bare.options);
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_TRUE(hasEvent(d, "ManualFailoverRefused"));
}

TEST(DecideManualFailover, WaitsForASyncingReplicaAndForSlotMigrationsKeepingTheAnnotation) {
  World w(3, 1);
  w.snap.cluster.annotations["redis.slotkeeper.io/promote"] = "rc-shard-0-1";
  w.snap.live->replication[pod(0, 1).address()].master_sync_in_progress = true;
  Decision d = decide(w.snap, w.options);
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_TRUE(d.annotations_to_remove.empty());

  World migrating(3, 1);
  migrating.snap.cluster.annotations["redis.slotkeeper.io/promote"] = "rc-shard-0-1";
  migrating.snap.live->cluster.nodes[2].open_slots.push_back(
      {100, redis::OpenSlot::Kind::kMigrating, nodeId(0, 0)});
  d = decide(migrating.snap, migrating.options);
  EXPECT_TRUE(d.failovers.empty());
  EXPECT_TRUE(d.annotations_to_remove.empty());
}

// --- capacity ---

TEST(DecideCapacity, AScaleInIntoMastersWithoutRoomIsRefusedAndMovesNothing) {
  World w(3, 0, 4);  // four masters live, three wanted: the fourth is drained into the others
  const int64_t mib = 1024 * 1024;
  for (const auto& n : w.snap.live->cluster.nodes) {
    w.snap.live->memory[n.address] = {900 * mib, 1024 * mib};
  }
  Decision d = decide(w.snap, w.options);
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_EQ(condition(d, "Degraded").reason, "InsufficientMemory");
  EXPECT_NE(condition(d, "Degraded").message.find("maxmemory"), std::string::npos);
  EXPECT_TRUE(hasEvent(d, "InsufficientMemory"));

  // With room (or no limit) the same scale-in runs.
  for (auto& [address, m] : w.snap.live->memory) m.maxmemory = 4096 * mib;
  d = decide(w.snap, w.options);
  ASSERT_TRUE(d.topology.has_value());
  w.snap.live->memory.clear();
  EXPECT_TRUE(decide(w.snap, w.options).topology.has_value());
}

// Room for the keys is not enough: a target also holds the MIGRATE batches in its buffers while
// they arrive, so big batches of big keys need more headroom than 10% of maxmemory.
TEST(DecideCapacity, BigBatchesOfBigKeysNeedRoomWhileTheyArrive) {
  World w(3, 0, 4);
  const int64_t mib = 1024 * 1024;
  for (auto& n : w.snap.live->cluster.nodes) {
    w.snap.live->memory[n.address] = {600 * mib, 1024 * mib};
    n.keys = 1000;  // 0.6 MiB each
  }
  for (auto& n : w.snap.planner_view->nodes) n.keys = 1000;
  w.snap.cluster.spec.migration.batch_keys = 1000;
  Decision d = decide(w.snap, w.options);
  EXPECT_FALSE(d.topology.has_value());
  EXPECT_EQ(condition(d, "Degraded").reason, "InsufficientMemory");
  EXPECT_NE(condition(d, "Degraded").message.find("batchKeys"), std::string::npos);

  w.snap.cluster.spec.migration.batch_keys = 10;  // 6 MiB per batch: the 10% covers it
  d = decide(w.snap, w.options);
  EXPECT_TRUE(d.topology.has_value()) << condition(d, "Degraded").message;
}

// --- nodes that answer but cannot be read ---

TEST(DecideUnreadable, ARefusedPasswordALoadingNodeAndASilentNodeHaveReasonsOfTheirOwn) {
  World w(3, 1);
  auto& node = w.snap.live->cluster.nodes[1];  // rc-shard-0-1
  node.reachable = false;
  node.unreachable = topology::ObservedNode::Unreachable::kAuth;
  Decision d = decide(w.snap, w.options);
  EXPECT_EQ(condition(d, "Degraded").reason, "AuthenticationFailed");
  EXPECT_NE(condition(d, "Degraded").message.find("rc-shard-0-1"), std::string::npos);
  EXPECT_TRUE(hasEvent(d, "AuthenticationFailed"));

  node.unreachable = topology::ObservedNode::Unreachable::kLoading;
  d = decide(w.snap, w.options);
  EXPECT_EQ(condition(d, "Degraded").reason, "NodesLoading");

  node.unreachable = topology::ObservedNode::Unreachable::kNoReply;
  d = decide(w.snap, w.options);
  EXPECT_EQ(condition(d, "Degraded").reason, "NodesNotResponding");
  EXPECT_NE(condition(d, "Degraded").message.find("rc-shard-0-1"), std::string::npos);

  node.unreachable = topology::ObservedNode::Unreachable::kDown;
  d = decide(w.snap, w.options);
  EXPECT_NE(condition(d, "Degraded").reason, "NodesNotResponding");
  EXPECT_NE(condition(d, "Degraded").reason, "NodesLoading");
  EXPECT_NE(condition(d, "Degraded").reason, "AuthenticationFailed");
}

}  // namespace
}  // namespace slotkeeper::reconciler
