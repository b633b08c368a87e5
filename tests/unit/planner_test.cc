// Table-driven tests for makePlan: (observed cluster, desired shape) -> expected steps or refusal.
// Every successful plan is also applied to a small model of the cluster and planned again, which
// must converge to an empty plan with the even split and the right replicas.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "topology/plan.h"

namespace slotkeeper::topology {
namespace {

// ---- Builders: every test node is 127.0.0.1:<port> with a recognisable 40-char id ----

std::string addr(int port) { return "127.0.0.1:" + std::to_string(port); }
std::string idOf(int port) { return "node" + std::to_string(port) + std::string(32, 'f'); }

class Node {
 public:
  explicit Node(int port) {
    node_.address = addr(port);
    node_.id = idOf(port);
    node_.reachable = true;
  }
  Node& slots(const std::string& list) {
    node_.slots = parseSlotList(list).value();
    return *this;
  }
  Node& replicaOf(int port) {
    node_.is_master = false;
    node_.master_id = idOf(port);
    return *this;
  }
  Node& keys(int64_t n) {
    node_.keys = n;
    return *this;
  }
  Node& domain(const std::string& d) {
    node_.failure_domain = d;
    return *this;
  }
  Node& at(int port) {  // seen at another address than its id suggests
    node_.address = addr(port);
    return *this;
  }
  Node& unreachable() {
    node_.reachable = false;
    node_.marked_failed = true;
    return *this;
  }
  Node& keysInUnclaimed(const std::string& list) {  // holds keys in slots nobody claims
    node_.keys_in_unclaimed_slots = parseSlotList(list).value();
    return *this;
  }
  Node& disputed() {  // its peers disagree about it
    node_.peer_views_disagree = true;
    return *this;
  }
  Node& migrating(int slot, int to) {
    node_.open_slots.push_back({slot, redis::OpenSlot::Kind::kMigrating, idOf(to)});
    return *this;
  }
  Node& importing(int slot, int from) {
    node_.open_slots.push_back({slot, redis::OpenSlot::Kind::kImporting, idOf(from)});
    return *this;
  }
  const ObservedNode& get() const { return node_; }

 private:
  ObservedNode node_;
};

// `members` all know each other (unreachable ones are known but report nothing themselves);
// `loners` know nobody.
ObservedCluster cluster(const std::vector<Node>& members, const std::vector<Node>& loners = {}) {
  ObservedCluster out;
  for (const auto& m : members) {
    ObservedNode node = m.get();
    if (node.reachable) {
      for (const auto& other : members) {
        if (other.get().id != node.id) node.peer_ids.push_back(other.get().id);
      }
    }
    out.nodes.push_back(node);
  }
  for (const auto& l : loners) out.nodes.push_back(l.get());
  return out;
}

std::vector<Node> evenThree() {
  return {Node(7000).slots("0-5461"), Node(7001).slots("5462-10922"),
          Node(7002).slots("10923-16383")};
}

std::vector<Node> plus(std::vector<Node> a, const std::vector<Node>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Node> fresh(const std::vector<int>& ports) {
  std::vector<Node> out;
  for (int p : ports) out.emplace_back(p);
  return out;
}

std::vector<int> ports(int first, int last) {
  std::vector<int> out;
  for (int p = first; p <= last; ++p) out.push_back(p);
  return out;
}

DesiredShape shape(int masters, int replicas, const std::vector<int>& node_ports) {
  DesiredShape s;
  s.masters = masters;
  s.replicas_per_master = replicas;
  for (int p : node_ports) s.nodes.push_back({addr(p), "", -1});
  return s;
}

DesiredShape withShards(DesiredShape s, const std::vector<std::vector<int>>& shards) {
  for (size_t shard = 0; shard < shards.size(); ++shard) {
    for (int p : shards[shard]) {
      for (auto& n : s.nodes) {
        if (n.address == addr(p)) n.shard = static_cast<int>(shard);
      }
    }
  }
  return s;
}

DesiredShape withDomains(DesiredShape s, const std::map<int, std::string>& domains) {
  for (const auto& [port, domain] : domains) {
    for (auto& n : s.nodes) {
      if (n.address == addr(port)) n.failure_domain = domain;
    }
  }
  return s;
}

// ---- A compact, complete rendering of steps for the tables ----

std::string portOf(const std::string& address) { return address.substr(address.find(':') + 1); }

// "7003", checking the id belongs to that address ("7003?<id>" otherwise).
std::string label(const std::string& address, const std::string& id) {
  const std::string port = portOf(address);
  return id == idOf(std::stoi(port)) ? port : port + "?" + id;
}

std::string portList(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : ",") + portOf(a);
  return out;
}

// "wait all" for a full barrier, else each condition: "wait joined 7003 serving 7003",
// "wait slots masters", "wait links 7003->7000", "wait forgotten 7003".
std::string waitSignature(const WaitForAgreementStep& w) {
  if (w.waitsForEverything()) return "wait all";
  std::string out = "wait";
  if (!w.joined.empty()) out += " joined " + portList(w.joined);
  if (w.slot_map == WaitForAgreementStep::SlotViews::kMasters) out += " slots masters";
  if (w.slot_map == WaitForAgreementStep::SlotViews::kEveryMember) out += " slots everyone";
  if (!w.serving.empty()) out += " serving " + portList(w.serving);
  if (!w.replica_links.empty()) {
    std::string links;
    for (const auto& l : w.replica_links) {
      links += (links.empty() ? "" : ",") + portOf(l.replica_address) + "->" +
               label(l.master_address, l.master_id);
    }
    out += " links " + links;
  }
  if (!w.synced.empty()) out += " synced " + portList(w.synced);
  if (!w.forgotten.empty()) {
    std::string ids;
    for (const auto& id : w.forgotten) ids += (ids.empty() ? "" : ",") + id.substr(4, 4);
    out += " forgotten " + ids;
  }
  return out;
}

std::string signature(const Step& step) {
  if (auto* s = std::get_if<SettleSlotStep>(&step)) {
    std::string holders;
    for (const auto& h : s->key_holders) holders += (holders.empty() ? "" : ",") + portOf(h);
    for (const auto& h : s->takeover_holders) holders += " takeover " + portOf(h);
    return "settle " + std::to_string(s->slot) + " -> " + label(s->owner_address, s->owner_id) +
           (s->finish ? " finish" : " rollback") + " (" + holders + ")";
  }
  if (auto* s = std::get_if<MeetStep>(&step)) {
    return "meet " + label(s->address, s->node_id) + " via " + portOf(s->via_address);
  }
  if (auto* s = std::get_if<AssignSlotsStep>(&step)) {
    return "assign " + label(s->address, s->node_id) + " " + s->slots.toString();
  }
  if (auto* s = std::get_if<MoveSlotsStep>(&step)) {
    return "move " + label(s->source_address, s->source_id) + "->" +
           label(s->target_address, s->target_id) + " " + s->slots.toString();
  }
  if (auto* s = std::get_if<DetachReplicaStep>(&step)) {
    return "detach " + label(s->address, s->node_id);
  }
  if (auto* s = std::get_if<ReplicateStep>(&step)) {
    return "replicate " + label(s->address, s->node_id) + " -> " +
           label(s->master_address, s->master_id);
  }
  if (auto* s = std::get_if<ForgetStep>(&step)) {
    return "forget " + label(s->address, s->node_id) + (s->reachable ? "" : " unreachable");
  }
  if (auto* s = std::get_if<HandBackKeysStep>(&step)) {
    return "hand back " + label(s->address, s->node_id);
  }
  return waitSignature(std::get<WaitForAgreementStep>(step));
}

std::vector<std::string> signatures(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& step : plan.steps) out.push_back(signature(step));
  return out;
}

// ---- A model of the cluster that applies steps, to check plans converge ----

ObservedNode* findByAddress(ObservedCluster& c, const std::string& address) {
  for (auto& n : c.nodes) {
    if (n.address == address) return &n;
  }
  return nullptr;
}

// Everyone `node` knows, plus itself.
std::set<std::string> groupOf(const ObservedNode& node) {
  std::set<std::string> group(node.peer_ids.begin(), node.peer_ids.end());
  group.insert(node.id);
  return group;
}

void applyStep(ObservedCluster& c, const Step& step) {
  if (auto* s = std::get_if<SettleSlotStep>(&step)) {
    for (auto& n : c.nodes) {
      n.slots.remove(s->slot);
      std::erase_if(n.open_slots, [&](const redis::OpenSlot& o) { return o.slot == s->slot; });
    }
    findByAddress(c, s->owner_address)->slots.add(s->slot);
  } else if (auto* s = std::get_if<MeetStep>(&step)) {
    // Peers learn the node's current address, so reports at an old address disappear.
    std::erase_if(c.nodes, [&](const ObservedNode& n) {
      return n.id == s->node_id && n.address != s->address;
    });
    // Gossip completes: both groups end up knowing each other.
    std::set<std::string> group = groupOf(*findByAddress(c, s->via_address));
    const auto other = groupOf(*findByAddress(c, s->address));
    group.insert(other.begin(), other.end());
    for (auto& n : c.nodes) {
      if (!n.reachable || group.count(n.id) == 0) continue;
      n.peer_ids.clear();
      for (const auto& id : group) {
        if (id != n.id) n.peer_ids.push_back(id);
      }
    }
  } else if (auto* s = std::get_if<AssignSlotsStep>(&step)) {
    auto* n = findByAddress(c, s->address);
    n->slots = n->slots | s->slots;
    for (auto& other : c.nodes) {
      other.keys_in_unclaimed_slots = other.keys_in_unclaimed_slots - s->slots;
    }
  } else if (auto* s = std::get_if<MoveSlotsStep>(&step)) {
    auto* from = findByAddress(c, s->source_address);
    auto* to = findByAddress(c, s->target_address);
    ASSERT_TRUE((s->slots - from->slots).empty()) << "moves slots the source does not hold";
    from->slots = from->slots - s->slots;
    to->slots = to->slots | s->slots;
    if (from->slots.empty()) from->keys = 0;
  } else if (auto* s = std::get_if<DetachReplicaStep>(&step)) {
    auto* n = findByAddress(c, s->address);
    ASSERT_FALSE(n->is_master) << "detach only runs on replicas";
    n->is_master = true;
    n->master_id.clear();
    n->peer_ids.clear();
    n->keys = 0;
  } else if (auto* s = std::get_if<HandBackKeysStep>(&step)) {
    auto* n = findByAddress(c, s->address);
    ASSERT_TRUE(n->slots.empty()) << "only a master without slots hands its keys back";
    n->keys = 0;
  } else if (auto* s = std::get_if<ReplicateStep>(&step)) {
    auto* n = findByAddress(c, s->address);
    ASSERT_TRUE(n->slots.empty()) << "replicate runs only on nodes without slots";
    ASSERT_FALSE(n->is_master && n->keys > 0) << "replicate would wipe a master's keys";
    n->is_master = false;
    n->master_id = s->master_id;
  } else if (auto* s = std::get_if<ForgetStep>(&step)) {
    for (const auto& n : c.nodes) {
      EXPECT_FALSE(n.reachable && !n.is_master && n.master_id == s->node_id)
          << n.address << " would answer \"Can't forget my master!\"";
    }
    std::erase_if(c.nodes, [&](const ObservedNode& n) {
      if (n.id != s->node_id) return false;
      EXPECT_TRUE(n.slots.empty()) << "forgets a node that still holds slots";
      EXPECT_FALSE(n.reachable && n.is_master && n.keys > 0) << "resets a master with data";
      return true;
    });
    for (auto& n : c.nodes) std::erase(n.peer_ids, s->node_id);
  }
}

// Plans that only repair (settle open slots, give slots nobody claims to their keys' holder, hand
// keys back) come before the plan that does the rest.
bool settlesOnly(const Plan& plan) {
  return std::all_of(plan.steps.begin(), plan.steps.end(), [](const Step& s) {
    return std::holds_alternative<SettleSlotStep>(s) ||
           std::holds_alternative<HandBackKeysStep>(s) ||
           std::holds_alternative<AssignSlotsStep>(s) ||
           std::holds_alternative<WaitForAgreementStep>(s);
  });
}

// Applies plans until one is empty; a plan that does more than repair must finish the job.
void expectConverges(ObservedCluster c, const DesiredShape& desired) {
  for (int round = 0; round < 3; ++round) {
    auto plan = makePlan(c, desired);
    ASSERT_TRUE(plan.isOk()) << "round " << round << ": " << plan.status().toString();
    if (plan->empty()) break;
    ASSERT_LT(round, 2) << "still planning after a full plan";
    const bool settle_only = settlesOnly(*plan);
    for (const auto& step : plan->steps) {
      EXPECT_FALSE(std::holds_alternative<ForgetStep>(step) &&
                   std::any_of(desired.nodes.begin(), desired.nodes.end(),
                               [&](const DesiredNode& d) {
                                 return d.address == std::get<ForgetStep>(step).address;
                               }))
          << "forgets a desired node";
      applyStep(c, step);
    }
    if (!settle_only) {
      auto again = makePlan(c, desired);
      ASSERT_TRUE(again.isOk()) << again.status().toString();
      EXPECT_TRUE(again->empty()) << "not converged; next plan starts with "
                                  << describeStep(again->steps.front());
      break;
    }
  }
  // The outcome: M masters with the even split, R replicas each, nobody else.
  const std::vector<int> shares = evenSlotCounts(desired.masters);
  std::map<std::string, int> replicas;
  std::vector<int> counts;
  SlotSet covered;
  for (const auto& n : c.nodes) {
    if (n.is_master && !n.slots.empty()) counts.push_back(n.slots.count());
    if (!n.is_master) ++replicas[n.master_id];
    covered = covered | n.slots;
  }
  std::sort(counts.rbegin(), counts.rend());
  EXPECT_EQ(counts, shares);
  EXPECT_EQ(covered.count(), kSlotCount);
  for (const auto& n : c.nodes) {
    if (!n.is_master) continue;
    EXPECT_EQ(replicas[n.id], desired.replicas_per_master) << n.address;
  }
  EXPECT_EQ(c.nodes.size(), desired.nodes.size());
}

// ---- The table ----

struct PlanCase {
  std::string name;
  ObservedCluster observed;
  DesiredShape desired;
  std::vector<std::string> steps;  // expected when `error` is kOk
  StatusCode error = StatusCode::kOk;
  std::string reason;  // a substring of the refusal
};

// Parameterised test names print the case's sentence instead of its bytes.
void PrintTo(const PlanCase& c, std::ostream* os) { *os << c.name; }

PlanCase planned(std::string name, ObservedCluster observed, DesiredShape desired,
                 std::vector<std::string> steps) {
  return {std::move(name),  std::move(observed), std::move(desired),
          std::move(steps), StatusCode::kOk,     ""};
}

PlanCase refused(std::string name, ObservedCluster observed, DesiredShape desired, StatusCode error,
                 std::string reason) {
  return {std::move(name), std::move(observed), std::move(desired), {}, error, std::move(reason)};
}

std::vector<PlanCase> planCases() {
  std::vector<PlanCase> cases;
  cases.push_back(
      planned("forms three masters from empty nodes", cluster({}, fresh(ports(7000, 7002))),
              shape(3, 0, ports(7000, 7002)),
              {"meet 7001 via 7000", "meet 7002 via 7000", "wait joined 7001,7002",
               "assign 7000 0-5461", "assign 7001 5462-10922", "assign 7002 10923-16383",
               "wait slots everyone serving 7000,7001,7002"}));
  cases.push_back(planned(
      "forms three masters with one replica each", cluster({}, fresh(ports(7000, 7005))),
      shape(3, 1, ports(7000, 7005)),
      {"meet 7001 via 7000", "meet 7002 via 7000", "meet 7003 via 7000", "meet 7004 via 7000",
       "meet 7005 via 7000", "wait joined 7001,7002,7003,7004,7005", "assign 7000 0-5461",
       "assign 7001 5462-10922", "assign 7002 10923-16383", "wait slots masters",
       "replicate 7003 -> 7000", "replicate 7004 -> 7001", "replicate 7005 -> 7002",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005 links "
       "7003->7000,7004->7001,7005->7002"}));
  cases.push_back(planned("adds a replica to each of three masters",
                          cluster(evenThree(), fresh(ports(7003, 7005))),
                          shape(3, 1, ports(7000, 7005)),
                          {"meet 7003 via 7000", "meet 7004 via 7000", "meet 7005 via 7000",
                           "wait joined 7003,7004,7005", "replicate 7003 -> 7000",
                           "replicate 7004 -> 7001", "replicate 7005 -> 7002",
                           "wait serving 7003,7004,7005 links 7003->7000,7004->7001,7005->7002"}));
  cases.push_back(
      planned("adds a fourth master taking one contiguous range from an end of each master",
              cluster(evenThree(), fresh({7003})), shape(4, 0, ports(7000, 7003)),
              {"meet 7003 via 7000", "wait joined 7003 serving 7003", "move 7000->7003 4096-5461",
               "move 7001->7003 5462-6826", "move 7002->7003 10923-12287",
               "wait slots everyone serving 7000,7001,7002,7003"}));
  cases.push_back(
      planned("removes the fourth master by draining it into its neighbours and forgetting it",
              cluster({Node(7000).slots("0-4095"), Node(7001).slots("4096-8191"),
                       Node(7002).slots("8192-12287"), Node(7003).slots("12288-16383")}),
              shape(3, 0, ports(7000, 7002)),
              {"move 7003->7000 13653-15018", "move 7003->7001 15019-16383",
               "move 7003->7002 12288-13652", "wait slots masters", "forget 7003",
               "wait slots everyone serving 7000,7001,7002 forgotten 7003"}));
  cases.push_back(planned("finishes an interrupted scale-out moving only the missing slots",
                          cluster({Node(7000).slots("0-4095"), Node(7001).slots("5462-10922"),
                                   Node(7002).slots("10923-16383"), Node(7003).slots("4096-5461")}),
                          shape(4, 0, ports(7000, 7003)),
                          {"move 7001->7003 5462-6826", "move 7002->7003 10923-12287",
                           "wait slots everyone serving 7000,7001,7002,7003"}));
  cases.push_back(
      planned("leaves a converged cluster alone",
              cluster(plus(evenThree(), {Node(7003).replicaOf(7000), Node(7004).replicaOf(7001),
                                         Node(7005).replicaOf(7002)})),
              shape(3, 1, ports(7000, 7005)), {}));
  cases.push_back(
      planned("leaves a converged cluster alone when the remainder slot sits on a later master",
              cluster({Node(7000).slots("0-5460"), Node(7001).slots("5461-10921"),
                       Node(7002).slots("10922-16383")}),
              shape(3, 0, ports(7000, 7002)), {}));
  cases.push_back(planned(
      "settles an open slot by finishing the move to a master that stays",
      cluster({Node(7000).slots("0-5461").migrating(4096, 7003), Node(7001).slots("5462-10922"),
               Node(7002).slots("10923-16383"), Node(7003).importing(4096, 7000)}),
      shape(4, 0, ports(7000, 7003)), {"settle 4096 -> 7003 finish (7000)", "wait all"}));
  // The source's replica was promoted mid-move (CLUSTER FAILOVER FORCE): the demoted source is a
  // replica, lost its marker and is no key holder; the promoted node claims the slot without a
  // marker (the settle marks it again), and it is the key holder whose copies win.
  cases.push_back(planned("finishes a move whose source was failed over to its replica mid-move",
                          cluster({Node(7000).replicaOf(7004), Node(7001).slots("5462-10922"),
                                   Node(7002).slots("10923-16383"),
                                   Node(7003).importing(4096, 7000), Node(7004).slots("0-5461")}),
                          shape(4, 0, {7001, 7002, 7003, 7004}),
                          {"settle 4096 -> 7003 finish (7004 takeover 7004)", "wait all"}));
  cases.push_back(planned(
      "finishes a move whose destination already owns the slot",
      cluster({Node(7000).slots("0-5461").migrating(4096, 7003), Node(7001).slots("5462-10922"),
               Node(7002).slots("10923-16383"), Node(7003).slots("4096")}),
      shape(4, 0, ports(7000, 7003)), {"settle 4096 -> 7003 finish (7000)", "wait all"}));
  cases.push_back(planned(
      "rolls an open slot back when the destination is leaving",
      cluster({Node(7000).slots("0-5461").migrating(4096, 7003), Node(7001).slots("5462-10922"),
               Node(7002).slots("10923-16383"), Node(7003).importing(4096, 7000)}),
      shape(3, 0, ports(7000, 7002)), {"settle 4096 -> 7000 rollback (7003)", "wait all"}));
  cases.push_back(
      planned("rolls an open slot back when the importing node is unreachable",
              cluster({Node(7000).slots("0-5461").migrating(4096, 7003).migrating(17, 7003),
                       Node(7001).slots("5462-10922"), Node(7002).slots("10923-16383"),
                       Node(7003).unreachable()}),
              shape(3, 0, ports(7000, 7002)),
              {"settle 17 -> 7000 rollback ()", "settle 4096 -> 7000 rollback ()", "wait all"}));
  cases.push_back(
      planned("re-points replicas attached to the wrong master",
              cluster(plus(evenThree(), {Node(7003).replicaOf(7000), Node(7004).replicaOf(7000),
                                         Node(7005).replicaOf(7001)})),
              shape(3, 1, ports(7000, 7005)),
              {"replicate 7004 -> 7002", "wait serving 7004 links 7004->7002"}));
  cases.push_back(planned(
      "places each new replica in another failure domain than its master",
      cluster({Node(7000).slots("0-5461").domain("a"), Node(7001).slots("5462-10922").domain("b"),
               Node(7002).slots("10923-16383").domain("c")},
              {Node(7003).domain("a"), Node(7004), Node(7005)}),
      withDomains(shape(3, 1, ports(7000, 7005)), {{7004, "b"}, {7005, "c"}}),
      {"meet 7003 via 7000", "meet 7004 via 7000", "meet 7005 via 7000",
       "wait joined 7003,7004,7005", "replicate 7003 -> 7002", "replicate 7004 -> 7000",
       "replicate 7005 -> 7001",
       "wait serving 7003,7004,7005 links 7003->7002,7004->7000,7005->7001"}));
  cases.push_back(planned(
      "spreads new masters over failure domains",
      cluster({}, {Node(7000).domain("a"), Node(7001).domain("a"), Node(7002).domain("b"),
                   Node(7003).domain("b"), Node(7004).domain("c"), Node(7005).domain("c")}),
      shape(3, 1, ports(7000, 7005)),
      {"meet 7001 via 7000", "meet 7002 via 7000", "meet 7003 via 7000", "meet 7004 via 7000",
       "meet 7005 via 7000", "wait joined 7001,7002,7003,7004,7005", "assign 7000 0-5461",
       "assign 7002 5462-10922", "assign 7004 10923-16383", "wait slots masters",
       "replicate 7001 -> 7004", "replicate 7003 -> 7000", "replicate 7005 -> 7002",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005 links "
       "7001->7004,7003->7000,7005->7002"}));
  cases.push_back(planned(
      "keeps the promoted pod as master of its shard after a failover",
      cluster({Node(7000).replicaOf(7001), Node(7001).slots("0-5461"),
               Node(7002).slots("5462-10922"), Node(7003).replicaOf(7002),
               Node(7004).slots("10923-16383"), Node(7005).replicaOf(7004)}),
      withShards(shape(3, 1, ports(7000, 7005)), {{7000, 7001}, {7002, 7003}, {7004, 7005}}), {}));
  cases.push_back(planned(
      "detaches a replica to master a shard that has no master",
      cluster({Node(7000).slots("0-5461"), Node(7001).replicaOf(7000),
               Node(7002).slots("5462-16383"), Node(7003).replicaOf(7002),
               Node(7004).replicaOf(7000), Node(7005).replicaOf(7002)}),
      withShards(shape(3, 1, ports(7000, 7005)), {{7000, 7001}, {7002, 7003}, {7004, 7005}}),
      {"detach 7004", "meet 7004 via 7000", "wait joined 7004", "replicate 7005 -> 7004",
       "wait serving 7004,7005 links 7005->7004 synced 7005", "move 7002->7004 5462-10922",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005"}));
  cases.push_back(planned(
      "adds a shard in operator mode with its first node as master",
      cluster(plus(evenThree(), {Node(7003).replicaOf(7000), Node(7004).replicaOf(7001),
                                 Node(7005).replicaOf(7002)}),
              fresh({7010, 7011})),
      withShards(shape(4, 1, {7000, 7001, 7002, 7003, 7004, 7005, 7010, 7011}),
                 {{7000, 7003}, {7001, 7004}, {7002, 7005}, {7010, 7011}}),
      // The new shard's replica is attached and synced before any slot moves to it.
      {"meet 7010 via 7000", "meet 7011 via 7000", "wait joined 7010,7011",
       "replicate 7011 -> 7010", "wait serving 7010,7011 links 7011->7010 synced 7011",
       "move 7000->7010 4096-5461", "move 7001->7010 5462-6826", "move 7002->7010 10923-12287",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005,7010,7011"}));
  cases.push_back(
      planned("drains a master that stays as a replica and re-points it after the drain",
              cluster({Node(7000).slots("0-4095"), Node(7001).slots("4096-8191"),
                       Node(7002).slots("8192-12287"), Node(7003).slots("12288-16383")},
                      fresh({7004, 7005})),
              shape(3, 1, ports(7000, 7005)),
              {"meet 7004 via 7000", "meet 7005 via 7000", "wait joined 7004,7005",
               "replicate 7004 -> 7001", "replicate 7005 -> 7002",
               "wait serving 7000,7001,7002,7004,7005 links 7004->7001,7005->7002 synced "
               "7004,7005",
               "move 7003->7000 13653-15018", "move 7003->7001 15019-16383",
               "move 7003->7002 12288-13652", "wait slots masters", "replicate 7003 -> 7000",
               "wait slots everyone serving 7000,7001,7002,7003,7004,7005 links 7003->7000"}));
  cases.push_back(
      planned("forgets replicas that are no longer wanted",
              cluster(plus(evenThree(), {Node(7003).replicaOf(7000), Node(7004).replicaOf(7001),
                                         Node(7005).replicaOf(7002)})),
              shape(3, 0, ports(7000, 7002)),
              {"forget 7003", "forget 7004", "forget 7005", "wait forgotten 7003,7004,7005"}));
  cases.push_back(planned(
      "forgets a failed replica that is gone and re-points its replacement",
      cluster(plus(evenThree(), {Node(7003).replicaOf(7000).unreachable(),
                                 Node(7004).replicaOf(7001), Node(7005).replicaOf(7002)}),
              fresh({7006})),
      shape(3, 1, {7000, 7001, 7002, 7004, 7005, 7006}),
      {"meet 7006 via 7000", "wait joined 7006", "replicate 7006 -> 7000",
       "wait serving 7006 links 7006->7000", "forget 7003 unreachable", "wait forgotten 7003"}));
  cases.push_back(
      planned("assigns slots nobody owns to the master with the fewest slots",
              cluster({Node(7000).slots("0-5461"), Node(7001).slots("5462-10922"), Node(7002)}),
              shape(3, 0, ports(7000, 7002)),
              {"assign 7002 10923-16383", "wait slots everyone serving 7000,7001,7002"}));
  cases.push_back(
      planned("assigns lost slots and rebalances in one plan",
              cluster({Node(7000).slots("0-8191"), Node(7001).slots("8192-12287"), Node(7002)}),
              shape(3, 0, ports(7000, 7002)),
              {"assign 7002 12288-16383", "wait slots masters serving 7001,7002",
               "move 7000->7001 6827-8191", "move 7000->7002 0-1364",
               "wait slots everyone serving 7000,7001,7002"}));
  cases.push_back(planned("meets again a node whose address changed",
                          cluster({Node(7000).slots("0-5461"), Node(7001).slots("5462-10922"),
                                   Node(7002).slots("10923-16383").at(7009).unreachable(),
                                   Node(7002).slots("10923-16383")}),
                          shape(3, 0, ports(7000, 7002)),
                          {"meet 7002 via 7000", "wait joined 7002"}));

  cases.push_back(planned(
      "forms a cluster whose nodes were already met by an interrupted run",
      cluster({Node(7000), Node(7001)}, fresh({7002})), shape(3, 0, ports(7000, 7002)),
      {"meet 7002 via 7000", "wait joined 7002", "assign 7000 0-5461", "assign 7001 5462-10922",
       "assign 7002 10923-16383", "wait slots everyone serving 7000,7001,7002"}));
  cases.push_back(planned(
      "turns replicas into masters when six masters without replicas are wanted",
      cluster(plus(evenThree(), {Node(7003).replicaOf(7000), Node(7004).replicaOf(7001),
                                 Node(7005).replicaOf(7002)})),
      shape(6, 0, ports(7000, 7005)),
      {"detach 7003", "meet 7003 via 7000", "detach 7004", "meet 7004 via 7000", "detach 7005",
       "meet 7005 via 7000", "wait joined 7003,7004,7005 serving 7003,7004,7005",
       "move 7000->7003 0-2730", "move 7001->7004 5462-8191", "move 7002->7005 10923-13652",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005"}));
  cases.push_back(planned(
      "grows three masters with replicas to four, keeping every existing link",
      cluster(
          plus({Node(7000).slots("0-5461").domain("a"), Node(7001).slots("5462-10922").domain("b"),
                Node(7002).slots("10923-16383").domain("c")},
               {Node(7003).replicaOf(7000).domain("b"), Node(7004).replicaOf(7001).domain("c"),
                Node(7005).replicaOf(7002).domain("a")}),
          {Node(7006).domain("a"), Node(7007).domain("a")}),
      // Both new nodes are in domain a, so the new pair shares it: existing links are kept
      // rather than re-pointed to dodge the clash.
      shape(4, 1, ports(7000, 7007)),
      {"meet 7006 via 7000", "meet 7007 via 7000", "wait joined 7006,7007",
       "replicate 7007 -> 7006", "wait serving 7006,7007 links 7007->7006 synced 7007",
       "move 7000->7006 4096-5461", "move 7001->7006 5462-6826", "move 7002->7006 10923-12287",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005,7006,7007"}));
  cases.push_back(planned(
      "removes a shard in operator mode: drains its master, forgets both pods",
      cluster({Node(7000).slots("0-4095"), Node(7001).replicaOf(7000),
               Node(7002).slots("4096-8191"), Node(7003).replicaOf(7002),
               Node(7004).slots("8192-12287"), Node(7005).replicaOf(7004),
               Node(7006).slots("12288-16383"), Node(7007).replicaOf(7006)}),
      withShards(shape(3, 1, ports(7000, 7005)), {{7000, 7001}, {7002, 7003}, {7004, 7005}}),
      {"move 7006->7000 13653-15018", "move 7006->7002 15019-16383", "move 7006->7004 12288-13652",
       "wait slots masters", "forget 7007", "forget 7006",
       "wait slots everyone serving 7000,7001,7002,7003,7004,7005 forgotten 7007,7006"}));

  // Refusals: the request is wrong.
  cases.push_back(refused("refuses fewer than three masters", cluster({}, fresh({7000, 7001})),
                          shape(2, 0, {7000, 7001}), StatusCode::kInvalidArgument,
                          "a Redis Cluster needs at least 3 masters, got 2"));
  cases.push_back(refused("refuses a negative replica count", cluster({}, fresh(ports(7000, 7002))),
                          shape(3, -1, ports(7000, 7002)), StatusCode::kInvalidArgument,
                          "replicas per master must be 0 or more, got -1"));
  cases.push_back(refused("refuses an address listed twice", cluster({}, fresh(ports(7000, 7002))),
                          shape(3, 0, {7000, 7001, 7001}), StatusCode::kInvalidArgument,
                          "address 127.0.0.1:7001 is listed twice"));
  cases.push_back(refused("refuses a node count that does not fit the shape",
                          cluster({}, fresh(ports(7000, 7004))), shape(3, 1, ports(7000, 7004)),
                          StatusCode::kInvalidArgument,
                          "3 masters × (1+1) replicas need 6 nodes, got 5"));
  cases.push_back(refused("refuses shards given for only some nodes",
                          cluster({}, fresh(ports(7000, 7002))),
                          withShards(shape(3, 0, ports(7000, 7002)), {{7000}, {7001}}),
                          StatusCode::kInvalidArgument, "every node or for none"));
  cases.push_back(
      refused("refuses a shard outside the masters' range", cluster({}, fresh(ports(7000, 7002))),
              withShards(shape(3, 0, ports(7000, 7002)), {{7000}, {7001}, {}, {7002}}),
              StatusCode::kInvalidArgument, "127.0.0.1:7002 has shard 3, outside 0..2"));
  cases.push_back(refused(
      "refuses a shard of the wrong size", cluster({}, fresh(ports(7000, 7005))),
      withShards(shape(3, 1, ports(7000, 7005)), {{7000, 7001, 7002}, {7003, 7004}, {7005}}),
      StatusCode::kInvalidArgument, "shard 0 has 3 nodes, expected 2"));

  // Refusals: not safe now.
  cases.push_back(refused("refuses while a desired node is unreachable",
                          cluster({Node(7000).slots("0-5461"), Node(7001).slots("5462-10922"),
                                   Node(7002).slots("10923-16383").unreachable()}),
                          shape(3, 0, ports(7000, 7002)), StatusCode::kFailedPrecondition,
                          "desired node 127.0.0.1:7002 is unreachable"));
  cases.push_back(refused(
      "refuses to drain a master it cannot reach",
      cluster({Node(7000).slots("0-4095"), Node(7001).slots("4096-8191"),
               Node(7002).slots("8192-12287"), Node(7003).slots("12288-16383").unreachable()}),
      shape(3, 0, ports(7000, 7002)), StatusCode::kFailedPrecondition,
      "127.0.0.1:7003 holds 4096 slots and must be drained, but it is unreachable"));
  cases.push_back(refused("refuses to merge two clusters",
                          cluster(evenThree(), {Node(7003).slots("0-16383")}),
                          shape(4, 0, ports(7000, 7003)), StatusCode::kFailedPrecondition,
                          "belong to two different clusters: 127.0.0.1:7000 and 127.0.0.1:7003"));
  cases.push_back(refused("refuses to join a node that holds data",
                          cluster(evenThree(), {Node(7003).keys(12)}),
                          shape(4, 0, ports(7000, 7003)), StatusCode::kFailedPrecondition,
                          "127.0.0.1:7003 is not part of the cluster but holds 12 keys"));
  cases.push_back(refused("refuses to form a cluster over a node that holds data",
                          cluster({}, {Node(7000), Node(7001).keys(1), Node(7002)}),
                          shape(3, 0, ports(7000, 7002)), StatusCode::kFailedPrecondition,
                          "holds 1 key"));
  // One peer's stale view says the unreachable node holds nothing: neither forget it nor give
  // its slots away on that word.
  cases.push_back(refused("refuses to forget an unreachable node its peers disagree about",
                          cluster(plus(evenThree(), {Node(7003).unreachable().disputed()})),
                          shape(3, 0, ports(7000, 7002)), StatusCode::kFailedPrecondition,
                          "the members disagree about unreachable node 127.0.0.1:7003"));
  cases.push_back(
      refused("refuses to settle an open slot whose owner is unreachable",
              cluster({Node(7000).slots("0-5461").unreachable(), Node(7001).slots("5462-10922"),
                       Node(7002).slots("10923-16383"), Node(7003).importing(4096, 7000)}),
              shape(3, 0, {7001, 7002, 7003}), StatusCode::kFailedPrecondition,
              "slot 4096 is open but its owner 127.0.0.1:7000 (node7000) is unreachable"));
  cases.push_back(refused("refuses while two masters claim one slot",
                          cluster({Node(7000).slots("0-5461"), Node(7001).slots("5461-10922"),
                                   Node(7002).slots("10923-16383")}),
                          shape(3, 0, ports(7000, 7002)), StatusCode::kFailedPrecondition,
                          "slot 5461 is claimed by both 127.0.0.1:7000 and 127.0.0.1:7001"));
  // A master that lost its slots (a forced failover racing a move) but kept keys: it gives them
  // back to their owners before anything else, and is re-pointed once empty.
  cases.push_back(planned("hands the keys of a slotless master back before re-pointing it",
                          cluster(plus(evenThree(), {Node(7003).keys(5), Node(7004).replicaOf(7001),
                                                     Node(7005).replicaOf(7002)})),
                          shape(3, 1, ports(7000, 7005)), {"hand back 7003"}));
  // A failover cut a move short: nobody claims 11307-11690, and their keys sit on 7003 (the
  // promoted replica of the move's target). Balance alone would give some of them to 7000.
  cases.push_back(planned(
      "gives slots nobody claims to the master holding their keys before anything else",
      cluster({Node(7000).slots("0-4095").keys(10), Node(7001).slots("4096-8191").keys(10),
               Node(7002).slots("8192-11306").keys(10),
               Node(7003).slots("11691-16383").keys(20).keysInUnclaimed("11307-11400,11500")}),
      shape(4, 0, ports(7000, 7003)), {"assign 7003 11307-11400,11500", "wait slots everyone"}));
  cases.push_back(refused(
      "refuses to assign a slot nobody claims whose keys sit on two masters",
      cluster({Node(7000).slots("0-5461").keys(5).keysInUnclaimed("7000"),
               Node(7001).slots("5462-6999,7001-10922").keys(5).keysInUnclaimed("7000"),
               Node(7002).slots("10923-16383")}),
      shape(3, 0, ports(7000, 7002)), StatusCode::kFailedPrecondition,
      "slot 7000 is claimed by no node, and both 127.0.0.1:7000 and 127.0.0.1:7001 hold keys in "
      "it"));
  return cases;
}

std::string testName(const testing::TestParamInfo<PlanCase>& info) {
  std::string name;
  for (char c : info.param.name) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

class PlanTable : public testing::TestWithParam<PlanCase> {};

TEST_P(PlanTable, PlansTheExpectedStepsOrRefuses) {
  const PlanCase& c = GetParam();
  auto plan = makePlan(c.observed, c.desired);
  if (c.error != StatusCode::kOk) {
    ASSERT_FALSE(plan.isOk()) << "planned " << testing::PrintToString(signatures(*plan));
    EXPECT_EQ(plan.status().code(), c.error) << plan.status().toString();
    EXPECT_NE(plan.status().message().find(c.reason), std::string::npos) << plan.status().message();
    return;
  }
  ASSERT_TRUE(plan.isOk()) << plan.status().toString();
  EXPECT_EQ(signatures(*plan), c.steps);
}

TEST_P(PlanTable, IsTheSameWhateverTheInputOrder) {
  const PlanCase& c = GetParam();
  ObservedCluster observed = c.observed;
  DesiredShape desired = c.desired;
  std::reverse(observed.nodes.begin(), observed.nodes.end());
  std::reverse(desired.nodes.begin(), desired.nodes.end());
  for (auto& n : observed.nodes) std::reverse(n.peer_ids.begin(), n.peer_ids.end());
  auto original = makePlan(c.observed, c.desired);
  auto reordered = makePlan(observed, desired);
  ASSERT_EQ(original.isOk(), reordered.isOk());
  if (!original.isOk()) {
    EXPECT_EQ(original.status().message(), reordered.status().message());
    return;
  }
  EXPECT_EQ(signatures(*original), signatures(*reordered));
}

INSTANTIATE_TEST_SUITE_P(Planner, PlanTable, testing::ValuesIn(planCases()), testName);

std::vector<PlanCase> plannedCases() {
  std::vector<PlanCase> out;
  for (auto& c : planCases()) {
    if (c.error == StatusCode::kOk) out.push_back(std::move(c));
  }
  return out;
}

class ConvergenceTable : public testing::TestWithParam<PlanCase> {};

TEST_P(ConvergenceTable, AppliedPlansConvergeToTheDesiredShape) {
  expectConverges(GetParam().observed, GetParam().desired);
}

INSTANTIATE_TEST_SUITE_P(Planner, ConvergenceTable, testing::ValuesIn(plannedCases()), testName);

// ---- Outcomes the table rows imply, checked directly ----

TEST(Planner, AddingAFourthMasterMovesAQuarterOfTheSlotsFromTheEnds) {
  auto plan = makePlan(cluster(evenThree(), fresh({7003})), shape(4, 0, ports(7000, 7003)));
  ASSERT_TRUE(plan.isOk()) << plan.status().toString();
  int moved = 0;
  for (const auto& step : plan->steps) {
    auto* move = std::get_if<MoveSlotsStep>(&step);
    if (move == nullptr) continue;
    moved += move->slots.count();
    EXPECT_EQ(move->target_address, addr(7003));
    EXPECT_EQ(move->slots.ranges().size(), 1u);
    EXPECT_GE(move->slots.count(), 1365);
    EXPECT_LE(move->slots.count(), 1366);
  }
  EXPECT_EQ(moved, 4096);
}

TEST(Planner, NewReplicasNeverShareTheirMastersFailureDomainWhenAvoidable) {
  ObservedCluster observed =
      cluster({Node(7000).slots("0-5461").domain("a"), Node(7001).slots("5462-10922").domain("b"),
               Node(7002).slots("10923-16383").domain("c")},
              {Node(7003).domain("a"), Node(7004).domain("a"), Node(7005).domain("b"),
               Node(7006).domain("b"), Node(7007).domain("c"), Node(7008).domain("c")});
  auto plan = makePlan(observed, shape(3, 2, ports(7000, 7008)));
  ASSERT_TRUE(plan.isOk()) << plan.status().toString();
  std::map<std::string, std::string> domain_of;
  for (const auto& n : observed.nodes) domain_of[n.address] = n.failure_domain;
  std::map<std::string, std::set<std::string>> domains_per_master;
  int replicate_steps = 0;
  for (const auto& step : plan->steps) {
    auto* r = std::get_if<ReplicateStep>(&step);
    if (r == nullptr) continue;
    ++replicate_steps;
    EXPECT_NE(domain_of[r->address], domain_of[r->master_address]) << describeStep(step);
    domains_per_master[r->master_address].insert(domain_of[r->address]);
  }
  EXPECT_EQ(replicate_steps, 6);
  // Two replicas of one master sit in the two other domains, not both in one.
  for (const auto& [master, domains] : domains_per_master) EXPECT_EQ(domains.size(), 2u) << master;
}

TEST(Planner, PromotedShardMasterIsMetThroughAMemberThatHoldsSlots) {
  auto plan = makePlan(
      cluster({Node(7000).slots("0-5461"), Node(7001).replicaOf(7000),
               Node(7002).slots("5462-16383"), Node(7003).replicaOf(7002),
               Node(7004).replicaOf(7000), Node(7005).replicaOf(7002)}),
      withShards(shape(3, 1, ports(7000, 7005)), {{7000, 7001}, {7002, 7003}, {7004, 7005}}));
  ASSERT_TRUE(plan.isOk()) << plan.status().toString();
  ASSERT_GE(plan->steps.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<DetachReplicaStep>(plan->steps[0]));
  auto* meet = std::get_if<MeetStep>(&plan->steps[1]);
  ASSERT_NE(meet, nullptr);
  EXPECT_EQ(meet->via_address, addr(7000));
}

TEST(DescribeStep, WritesOneReadableLinePerStepKind) {
  MoveSlotsStep move{addr(7000), idOf(7000), addr(7003), idOf(7003),
                     parseSlotList("0-1364").value()};
  EXPECT_EQ(describeStep(move), "move 1365 slots (0-1364) 127.0.0.1:7000 -> 127.0.0.1:7003");
  EXPECT_EQ(describeStep(MeetStep{addr(7003), idOf(7003), addr(7000)}),
            "meet 127.0.0.1:7003 (node7003) via 127.0.0.1:7000");
  EXPECT_EQ(describeStep(AssignSlotsStep{addr(7000), idOf(7000), parseSlotList("0-5461").value()}),
            "assign 5462 slots (0-5461) to 127.0.0.1:7000 (node7000)");
  EXPECT_EQ(describeStep(ReplicateStep{addr(7003), idOf(7003), idOf(7000), addr(7000)}),
            "replicate 127.0.0.1:7003 (node7003) from master 127.0.0.1:7000 (node7000)");
  EXPECT_EQ(describeStep(ForgetStep{idOf(7003), "", false}),
            "forget node7003 on every member (unreachable)");
  EXPECT_EQ(describeStep(ForgetStep{idOf(7003), addr(7003), true}),
            "forget 127.0.0.1:7003 (node7003) on every member, then reset it");
  EXPECT_EQ(describeStep(DetachReplicaStep{addr(7004), idOf(7004)}),
            "detach replica 127.0.0.1:7004 (node7004) to make it an empty master");
  EXPECT_EQ(describeStep(SettleSlotStep{42, addr(7003), idOf(7003), {addr(7000)}, true}),
            "settle slot 42: finish the move to 127.0.0.1:7003 (node7003), keys from "
            "127.0.0.1:7000");
  EXPECT_EQ(describeStep(SettleSlotStep{42, addr(7000), idOf(7000), {}, false}),
            "settle slot 42: roll back to 127.0.0.1:7000 (node7000)");
  EXPECT_EQ(describeStep(WaitForAgreementStep{}), "wait until every node agrees on the slot map");
  WaitForAgreementStep joined;
  joined.joined = {addr(7003), addr(7004), addr(7005), addr(7006)};
  joined.serving = {addr(7003)};
  EXPECT_EQ(describeStep(joined),
            "wait until 127.0.0.1:7003, 127.0.0.1:7004, 127.0.0.1:7005 and 1 more and every "
            "member know one another; cluster_state:ok on 127.0.0.1:7003");
  WaitForAgreementStep links;
  links.slot_map = WaitForAgreementStep::SlotViews::kMasters;
  links.replica_links = {{addr(7003), addr(7000), idOf(7000)}};
  links.forgotten = {idOf(7009)};
  EXPECT_EQ(describeStep(links),
            "wait until the masters agree on the slot map; both ends see the replica links "
            "127.0.0.1:7003 -> 127.0.0.1:7000 (node7000); no member lists node7009");
  SlotSet scattered;
  for (int s = 0; s < 20; s += 2) scattered.add(s);
  EXPECT_EQ(describeStep(AssignSlotsStep{addr(7000), "", scattered}),
            "assign 10 slots (0,2,4,6,... 10 ranges) to 127.0.0.1:7000");
}

// ---- Property: random existing clusters reach the even split moving only the surplus ----

TEST(Planner, RandomClustersReachTheEvenSplitMovingOnlyTheSurplus) {
  std::mt19937 rng(424242);
  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int existing = std::uniform_int_distribution<int>(3, 8)(rng);
    const int masters = std::uniform_int_distribution<int>(3, 8)(rng);
    // Random slot layout over the existing masters.
    std::set<int> cuts;
    const int pieces = std::uniform_int_distribution<int>(existing, 40)(rng);
    while (static_cast<int>(cuts.size()) < pieces - 1) {
      cuts.insert(std::uniform_int_distribution<int>(1, kSlotCount - 1)(rng));
    }
    cuts.insert(kSlotCount);
    std::vector<std::string> layout(static_cast<size_t>(existing));
    std::vector<int> counts(static_cast<size_t>(existing), 0);
    int first = 0;
    for (int end : cuts) {
      const size_t owner = size_t(std::uniform_int_distribution<int>(0, existing - 1)(rng));
      layout[owner] += (layout[owner].empty() ? "" : ",") + std::to_string(first) + "-" +
                       std::to_string(end - 1);
      counts[owner] += end - first;
      first = end;
    }
    std::vector<Node> members;
    for (int i = 0; i < existing; ++i) {
      Node n(7000 + i);
      if (!layout[size_t(i)].empty()) n.slots(layout[size_t(i)]);
      members.push_back(n);
    }
    std::vector<Node> loners;
    for (int i = existing; i < masters; ++i) loners.emplace_back(7000 + i);
    ObservedCluster observed = cluster(members, loners);
    // Desired: M masters without replicas. Growing adds the fresh nodes; shrinking keeps the M
    // biggest holders and removes the others.
    std::vector<int> order(static_cast<size_t>(existing));
    for (int i = 0; i < existing; ++i) order[size_t(i)] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return counts[size_t(a)] > counts[size_t(b)]; });
    std::vector<int> desired_ports;
    for (int i = 0; i < masters; ++i) {
      desired_ports.push_back(7000 + (i < existing ? order[size_t(i)] : i));
    }
    const DesiredShape desired = shape(masters, 0, desired_ports);

    // The fewest slots that must move: the surplus over the best even targets, plus every slot
    // on a dropped node.
    std::vector<int> kept;
    int dropped = 0;
    for (int i = 0; i < existing; ++i) {
      bool is_kept =
          std::find(desired_ports.begin(), desired_ports.end(), 7000 + i) != desired_ports.end();
      if (is_kept) {
        kept.push_back(counts[size_t(i)]);
      } else {
        dropped += counts[size_t(i)];
      }
    }
    kept.resize(static_cast<size_t>(masters), 0);
    std::sort(kept.rbegin(), kept.rend());
    const std::vector<int> shares = evenSlotCounts(masters);
    int surplus = dropped;
    for (size_t i = 0; i < kept.size(); ++i) surplus += std::max(0, kept[i] - shares[i]);

    auto plan = makePlan(observed, desired);
    ASSERT_TRUE(plan.isOk()) << plan.status().toString();
    int moved = 0;
    for (const auto& step : plan->steps) {
      if (auto* m = std::get_if<MoveSlotsStep>(&step)) moved += m->slots.count();
      EXPECT_FALSE(std::holds_alternative<AssignSlotsStep>(step)) << "nothing is uncovered";
    }
    EXPECT_EQ(moved, surplus);
    expectConverges(observed, desired);
  }
}

}  // namespace
}  // namespace slotkeeper::topology
