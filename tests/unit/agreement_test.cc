#include "engine/agreement.h"

#include <gtest/gtest.h>

#include <functional>

namespace slotkeeper::engine {
namespace {

using topology::WaitForAgreementStep;
using SlotViews = WaitForAgreementStep::SlotViews;

redis::ClusterNodeEntry entry(const std::string& id, bool myself, std::vector<SlotRange> slots) {
  redis::ClusterNodeEntry e;
  e.id = id;
  e.ip = "127.0.0.1";
  e.port = 7000;
  e.myself = myself;
  e.master = true;
  e.slots = std::move(slots);
  return e;
}

MemberView view(const std::string& me, std::vector<SlotRange> a_slots,
                std::vector<SlotRange> b_slots) {
  return {me + ":7000",
          "ok",
          {entry("a", me == "a", std::move(a_slots)), entry("b", me == "b", std::move(b_slots))}};
}

TEST(Agreement, IdenticalSlotMapsAndOkStateAgree) {
  EXPECT_EQ(findDisagreement(
                {view("a", {{0, 8191}}, {{8192, 16383}}), view("b", {{0, 8191}}, {{8192, 16383}})}),
            "");
}

TEST(Agreement, ADifferentOwnerForOneSlotIsNamed) {
  std::string why = findDisagreement(
      {view("a", {{0, 8191}}, {{8192, 16383}}), view("b", {{0, 8190}}, {{8191, 16383}})});
  EXPECT_NE(why.find("slot 8191"), std::string::npos) << why;
}

TEST(Agreement, ClusterStateFailDisagreesOnlyOnceEverySlotIsAssigned) {
  auto a = view("a", {{0, 8191}}, {{8192, 16383}});
  a.cluster_state = "fail";
  EXPECT_NE(findDisagreement({a}).find("cluster_state:fail"), std::string::npos);
  // While forming, nothing is assigned yet and "fail" is expected.
  auto forming = view("a", {}, {});
  forming.cluster_state = "fail";
  EXPECT_EQ(findDisagreement({forming}), "");
}

TEST(Agreement, AMemberThatDoesNotKnowAnotherDisagrees) {
  MemberView lonely{"c:7000", "ok", {entry("c", true, {})}};
  std::string why = findDisagreement({view("a", {}, {}), lonely});
  EXPECT_NE(why.find("does not know"), std::string::npos) << why;
}

TEST(Agreement, AnOpenSlotDisagrees) {
  auto a = view("a", {{0, 8191}}, {{8192, 16383}});
  a.nodes[0].open_slots.push_back({5, redis::OpenSlot::Kind::kMigrating, "b"});
  EXPECT_NE(findDisagreement({a}).find("open slot 5"), std::string::npos);
}

// ---- Scoped barriers: nodes "a", "b", "c"... at <name>:7000, with their own views ----

struct NodeSpec {
  std::string name;
  std::string master;  // empty for a master
  std::vector<SlotRange> slots;
  bool handshake = false;
};

std::string addressOf(const std::string& name) { return name + ":7000"; }

redis::ClusterNodeEntry entryOf(const NodeSpec& spec, bool myself) {
  redis::ClusterNodeEntry e;
  e.id = spec.handshake ? "random" + spec.name : spec.name;
  e.ip = spec.name;
  e.port = 7000;
  e.myself = myself;
  e.master = spec.master.empty();
  e.replica = !spec.master.empty();
  e.master_id = spec.master;
  e.handshake = spec.handshake;
  if (e.master) e.slots = spec.slots;
  return e;
}

// `self` as it sees itself, and the peers as it sees them.
MemberView viewOf(const NodeSpec& self, const std::vector<NodeSpec>& peers,
                  const std::string& state = "ok", int assigned = kSlotCount) {
  MemberView v{addressOf(self.name), state, {entryOf(self, true)}, assigned};
  for (const auto& p : peers) v.nodes.push_back(entryOf(p, false));
  return v;
}

std::map<std::string, MemberView> byAddress(const std::vector<MemberView>& views) {
  std::map<std::string, MemberView> out;
  for (const auto& v : views) out[v.address] = v;
  return out;
}

std::vector<std::string> addresses(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(addressOf(n));
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

const NodeSpec kA{"a", "", {{0, 8191}}};
const NodeSpec kB{"b", "", {{8192, 16383}}};
const NodeSpec kC{"c", "", {}};

TEST(ScopedAgreement, AJoinedNodeMustKnowEveryMemberAndBeKnownByEach) {
  WaitForAgreementStep what;
  what.joined = {addressOf("c")};
  const auto members = addresses({"a", "b", "c"});
  auto agreed = byAddress({viewOf(kA, {kB, kC}), viewOf(kB, {kA, kC}), viewOf(kC, {kA, kB})});
  EXPECT_EQ(checkScopedAgreement(what, members, agreed).reason, "");

  // c has learned a, but b knows c only as a handshake so far: b is told to meet c.
  auto lagging = byAddress(
      {viewOf(kA, {kB, kC}), viewOf(kB, {kA, NodeSpec{"c", "", {}, true}}), viewOf(kC, {kA})});
  auto verdict = checkScopedAgreement(what, members, lagging);
  EXPECT_NE(verdict.reason.find("does not know"), std::string::npos) << verdict.reason;
  EXPECT_EQ(verdict.nudges,
            (Pairs{{addressOf("c"), addressOf("b")}, {addressOf("b"), addressOf("c")}}));
}

TEST(ScopedAgreement, TheMastersSlotMapMustMatchEachMastersOwnClaim) {
  WaitForAgreementStep what;
  what.slot_map = SlotViews::kMasters;
  const auto members = addresses({"a", "b", "r"});
  const NodeSpec r{"r", "a", {}};
  const NodeSpec b_before{"b", "", {}};
  // r, a replica, still has the old map; only the masters count here.
  auto views = byAddress({viewOf(kA, {kB, r}), viewOf(kB, {kA, r}), viewOf(r, {kA, b_before})});
  EXPECT_EQ(checkScopedAgreement(what, members, views).reason, "");

  // a still sees b without slots: b, which claims them, is told to meet a.
  views = byAddress({viewOf(kA, {b_before, r}), viewOf(kB, {kA, r}), viewOf(r, {kA, kB})});
  auto verdict = checkScopedAgreement(what, members, views);
  EXPECT_NE(verdict.reason.find("which claims 8192-16383"), std::string::npos) << verdict.reason;
  EXPECT_EQ(verdict.nudges, (Pairs{{addressOf("b"), addressOf("a")}}));

  // Every member's view counts at the end of a plan, replicas included.
  what.slot_map = SlotViews::kEveryMember;
  views = byAddress({viewOf(kA, {kB, r}), viewOf(kB, {kA, r}), viewOf(r, {kA, b_before})});
  verdict = checkScopedAgreement(what, members, views);
  EXPECT_NE(verdict.reason.find(addressOf("r") + " sees"), std::string::npos) << verdict.reason;
  EXPECT_EQ(verdict.nudges, (Pairs{{addressOf("b"), addressOf("r")}}));
}

TEST(ScopedAgreement, AnOpenSlotOnAMasterDisagrees) {
  WaitForAgreementStep what;
  what.slot_map = SlotViews::kMasters;
  auto a = viewOf(kA, {kB});
  a.nodes[0].open_slots.push_back({5, redis::OpenSlot::Kind::kMigrating, "b"});
  auto verdict =
      checkScopedAgreement(what, addresses({"a", "b"}), byAddress({a, viewOf(kB, {kA})}));
  EXPECT_NE(verdict.reason.find("open slot 5"), std::string::npos) << verdict.reason;
}

TEST(ScopedAgreement, ServingIsRequiredOnlyOnceEverySlotHasAnOwner) {
  WaitForAgreementStep what;
  what.serving = {addressOf("c")};
  // c joined moments ago: it knows every slot's owner but is still in its rejoin delay.
  auto verdict = checkScopedAgreement(what, addresses({"c"}),
                                      byAddress({viewOf(kC, {kA, kB}, "fail", kSlotCount)}));
  EXPECT_NE(verdict.reason.find("cluster_state:fail"), std::string::npos) << verdict.reason;
  EXPECT_EQ(checkScopedAgreement(what, addresses({"c"}),
                                 byAddress({viewOf(kC, {kA, kB}, "ok", kSlotCount)}))
                .reason,
            "");
  // Forming: slots are still unassigned, so "fail" is expected.
  const NodeSpec half{"a", "", {{0, 8191}}};
  EXPECT_EQ(
      checkScopedAgreement(what, addresses({"c"}), byAddress({viewOf(kC, {half}, "fail", 8192)}))
          .reason,
      "");
}

TEST(ScopedAgreement, AReplicaLinkNeedsOnlyTheReplicaAndItsMaster) {
  WaitForAgreementStep what;
  what.replica_links = {{addressOf("r"), addressOf("a"), "a"}};
  const auto members = addresses({"a", "b", "r"});
  const NodeSpec r{"r", "a", {}};
  const NodeSpec r_as_master{"r", "", {}};
  // b has not heard of the new role yet; that does not hold the barrier up.
  auto views = byAddress({viewOf(kA, {kB, r}), viewOf(kB, {kA, r_as_master}), viewOf(r, {kA, kB})});
  EXPECT_EQ(checkScopedAgreement(what, members, views).reason, "");

  views = byAddress({viewOf(kA, {kB, r_as_master}), viewOf(r, {kA, kB})});
  auto verdict = checkScopedAgreement(what, members, views);
  EXPECT_NE(verdict.reason.find("does not list"), std::string::npos) << verdict.reason;
  EXPECT_EQ(verdict.nudges, (Pairs{{addressOf("r"), addressOf("a")}}));

  views = byAddress({viewOf(kA, {kB, r}), viewOf(r_as_master, {kA, kB})});
  verdict = checkScopedAgreement(what, members, views);
  EXPECT_NE(verdict.reason.find("does not replicate"), std::string::npos) << verdict.reason;
}

TEST(ScopedAgreement, AForgottenNodeStillListedIsForgottenAgain) {
  WaitForAgreementStep what;
  what.forgotten = {"c"};
  const auto members = addresses({"a", "b"});
  auto verdict =
      checkScopedAgreement(what, members, byAddress({viewOf(kA, {kB}), viewOf(kB, {kA, kC})}));
  EXPECT_NE(verdict.reason.find("still lists forgotten node c"), std::string::npos);
  EXPECT_EQ(verdict.forgets, (Pairs{{addressOf("b"), "c"}}));
  EXPECT_EQ(
      checkScopedAgreement(what, members, byAddress({viewOf(kA, {kB}), viewOf(kB, {kA})})).reason,
      "");
}

TEST(ScopedAgreement, ReadsOnlyTheViewsTheConditionsNeed) {
  const auto members = addresses({"a", "b", "c", "r"});
  WaitForAgreementStep links;
  links.replica_links = {{addressOf("r"), addressOf("a"), "a"}};
  auto reads = viewsToRead(links, members, {});
  EXPECT_EQ(reads.nodes, addresses({"r", "a"}));
  EXPECT_TRUE(reads.info.empty());

  WaitForAgreementStep masters;
  masters.slot_map = SlotViews::kMasters;
  masters.serving = {addressOf("c")};
  // The first read finds out who the masters are; later ones read only them.
  EXPECT_EQ(viewsToRead(masters, members, {}).nodes, members);
  reads = viewsToRead(masters, members, addresses({"a", "b", "c"}));
  EXPECT_EQ(reads.nodes, addresses({"a", "b", "c"}));
  EXPECT_EQ(reads.info, addresses({"c"}));

  WaitForAgreementStep joined;
  joined.joined = {addressOf("c")};
  EXPECT_EQ(viewsToRead(joined, members, {}).nodes, members);
}

// ---- The wait itself, against nodes that answer from scripted views ----

class ScriptedNodes : public redis::NodeConnector {
 public:
  std::map<std::string, std::function<MemberView()>> views;
  std::vector<std::string> log;  // "<address> <command words>"
  std::function<void(const std::string& address, const redis::Command& command)> on_command;

  Result<std::unique_ptr<redis::NodeClient>> connect(const std::string& address) override;
};

std::string nodesText(const MemberView& v) {
  std::string out;
  for (const auto& e : v.nodes) {
    std::string flags = e.myself ? "myself," : "";
    flags += e.master ? "master" : "slave";
    if (e.handshake) flags += ",handshake";
    out += e.id + " " + e.ip + ":7000@17000 " + flags + " " +
           (e.master_id.empty() ? "-" : e.master_id) + " 0 0 1 connected";
    for (const auto& r : e.slots)
      out += " " + std::to_string(r.first) + "-" + std::to_string(r.last);
    out += "\n";
  }
  return out;
}

class ScriptedClient : public redis::NodeClient {
 public:
  ScriptedClient(ScriptedNodes& nodes, std::string address)
      : nodes_(nodes), address_(std::move(address)) {}
  const std::string& address() const override { return address_; }
  Result<std::vector<redis::Reply>> pipeline(const std::vector<redis::Command>& commands) override {
    std::vector<redis::Reply> replies;
    for (const auto& c : commands) {
      std::string line = address_;
      for (const auto& w : c) line += " " + w;
      nodes_.log.push_back(line);
      if (nodes_.on_command) nodes_.on_command(address_, c);
      const MemberView v = nodes_.views.at(address_)();
      if (c == redis::Command{"CLUSTER", "NODES"}) {
        replies.push_back(redis::Reply::string(nodesText(v)));
      } else if (c == redis::Command{"CLUSTER", "INFO"}) {
        replies.push_back(redis::Reply::string(
            "cluster_state:" + v.cluster_state +
            "\r\ncluster_slots_assigned:" + std::to_string(v.slots_assigned) + "\r\n"));
      } else {
        replies.push_back(redis::Reply::status("OK"));
      }
    }
    return replies;
  }

 private:
  ScriptedNodes& nodes_;
  std::string address_;
};

Result<std::unique_ptr<redis::NodeClient>> ScriptedNodes::connect(const std::string& address) {
  if (!views.count(address)) return unavailable("no node at " + address);
  return std::unique_ptr<redis::NodeClient>(std::make_unique<ScriptedClient>(*this, address));
}

int countContaining(const std::vector<std::string>& log, const std::string& text) {
  int n = 0;
  for (const auto& line : log) n += line.find(text) != std::string::npos ? 1 : 0;
  return n;
}

TEST(WaitForScopedAgreement, AMeetFromTheReplicaTellsItsMasterAndNobodyElseIsRead) {
  ScriptedNodes nodes;
  const NodeSpec r{"r", "a", {}};
  const NodeSpec r_as_master{"r", "", {}};
  bool master_heard = false;
  nodes.views[addressOf("a")] = [&] { return viewOf(kA, {kB, master_heard ? r : r_as_master}); };
  nodes.views[addressOf("b")] = [&] { return viewOf(kB, {kA, r_as_master}); };
  nodes.views[addressOf("r")] = [&] { return viewOf(r, {kA, kB}); };
  nodes.on_command = [&](const std::string& address, const redis::Command& c) {
    if (address == addressOf("r") && c.size() == 4 && c[1] == "MEET" && c[2] == "a") {
      master_heard = true;
    }
  };
  WaitForAgreementStep what;
  what.replica_links = {{addressOf("r"), addressOf("a"), "a"}};
  FakeClock clock;
  Status s = waitForAgreement(nodes, addresses({"a", "b", "r"}), what, clock);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(countContaining(nodes.log, "r:7000 CLUSTER MEET a 7000"), 1);
  EXPECT_EQ(countContaining(nodes.log, "b:7000"), 0) << "b's view does not matter here";
  EXPECT_LT(clock.now().time_since_epoch(), std::chrono::milliseconds(100));
}

TEST(WaitForScopedAgreement, TimesOutNamingWhatIsMissingAndNudgesAtTheNudgeInterval) {
  ScriptedNodes nodes;
  nodes.views[addressOf("a")] = [&] { return viewOf(kA, {kB}); };
  nodes.views[addressOf("b")] = [&] { return viewOf(kB, {kA}); };
  nodes.views[addressOf("c")] = [&] { return viewOf(kC, {}); };
  WaitForAgreementStep what;
  what.joined = {addressOf("c")};
  AgreementOptions options;
  options.timeout = std::chrono::milliseconds(2000);
  FakeClock clock;
  Status s = waitForAgreement(nodes, addresses({"a", "b", "c"}), what, clock, options);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("does not know"), std::string::npos) << s.toString();
  // 2 s at most one nudge per 500 ms for each of the four missing directions; the reads back off
  // to 160 ms apart, so the nudges go out at 0, 630, 1270 and 1910 ms.
  EXPECT_EQ(countContaining(nodes.log, "c:7000 CLUSTER MEET a 7000"), 4);
  EXPECT_EQ(countContaining(nodes.log, "a:7000 CLUSTER MEET c 7000"), 4);
}

TEST(WaitForScopedAgreement, AStepWithNoConditionWaitsForFullAgreement) {
  ScriptedNodes nodes;
  nodes.views[addressOf("a")] = [&] { return viewOf(kA, {kB}); };
  nodes.views[addressOf("b")] = [&] { return viewOf(kB, {}); };
  AgreementOptions options;
  options.timeout = std::chrono::milliseconds(100);
  FakeClock clock;
  Status s = waitForAgreement(nodes, addresses({"a", "b"}), WaitForAgreementStep{}, clock, options);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("does not know"), std::string::npos) << s.toString();
}

}  // namespace
}  // namespace slotkeeper::engine
