#include "engine/agreement.h"

#include <algorithm>
#include <memory>
#include <set>

#include "common/log.h"
#include "engine/observer.h"

namespace slotkeeper::engine {
namespace {

using redis::ClusterNodeEntry;
using SlotViews = topology::WaitForAgreementStep::SlotViews;

// Slot ranges sorted and merged, so two lists compare equal exactly when they cover the same
// slots (CLUSTER NODES prints them that way already; this guards against any other order).
std::vector<SlotRange> normalized(std::vector<SlotRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  std::vector<SlotRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// Owner id -> the slots it owns, as one view records them: a few ranges per master instead of
// one owner per slot.
using SlotMap = std::map<std::string, std::vector<SlotRange>>;

SlotMap slotMapOf(const std::vector<ClusterNodeEntry>& entries) {
  SlotMap out;
  for (const auto& e : entries) {
    if (e.handshake || !e.master || e.slots.empty()) continue;
    out[e.id] = normalized(e.slots);
  }
  return out;
}

std::string rangesText(const std::vector<SlotRange>& ranges) {
  if (ranges.empty()) return "no slots";
  std::string out;
  for (size_t i = 0; i < ranges.size() && i < 3; ++i) {
    out += (i ? "," : "") + std::to_string(ranges[i].first);
    if (ranges[i].last != ranges[i].first) out += "-" + std::to_string(ranges[i].last);
  }
  if (ranges.size() > 3) out += ",...";
  return out;
}

// The first slot whose owner differs between two maps; -1 when they agree.
int firstDifferingSlot(const SlotMap& a, const SlotMap& b) {
  auto owners = [](const SlotMap& map) {
    std::vector<const std::string*> out(kSlotCount, nullptr);
    for (const auto& [id, ranges] : map) {
      for (const auto& r : ranges) {
        for (int s = std::max(0, r.first); s <= std::min(kSlotCount - 1, r.last); ++s) {
          out[static_cast<size_t>(s)] = &id;
        }
      }
    }
    return out;
  };
  const auto oa = owners(a);
  const auto ob = owners(b);
  for (size_t s = 0; s < oa.size(); ++s) {
    const bool same = (oa[s] == nullptr && ob[s] == nullptr) ||
                      (oa[s] != nullptr && ob[s] != nullptr && *oa[s] == *ob[s]);
    if (!same) return static_cast<int>(s);
  }
  return -1;
}

int assignedCount(const SlotMap& map) {
  int n = 0;
  for (const auto& [id, ranges] : map) {
    for (const auto& r : ranges) n += r.size();
  }
  return n;
}

const ClusterNodeEntry* myselfOf(const MemberView& view) {
  for (const auto& e : view.nodes) {
    if (e.myself) return &e;
  }
  return nullptr;
}

std::string myId(const MemberView& view) {
  const ClusterNodeEntry* me = myselfOf(view);
  return me == nullptr ? "" : me->id;
}

const ClusterNodeEntry* knownEntry(const MemberView& view, const std::string& id) {
  for (const auto& e : view.nodes) {
    if (e.id == id && !e.handshake) return &e;
  }
  return nullptr;
}

std::set<std::string> knownIds(const MemberView& view) {
  std::set<std::string> ids;
  for (const auto& e : view.nodes) {
    if (!e.handshake) ids.insert(e.id);
  }
  return ids;
}

// What each member says it is: "" for a master, else the id of its master.
std::map<std::string, std::string> selfReportedMasters(const std::vector<MemberView>& views) {
  std::map<std::string, std::string> out;
  for (const auto& v : views) {
    for (const auto& e : v.nodes) {
      if (e.myself) out[e.id] = e.replica ? e.master_id : "";
    }
  }
  return out;
}

// A member whose view of another member's role lags behind (gossip has not carried a REPLICATE
// yet) would make a reader right after the barrier see the old topology.
std::string findRoleLag(const MemberView& view, const std::map<std::string, std::string>& roles) {
  for (const auto& e : view.nodes) {
    auto it = roles.find(e.id);
    if (it == roles.end()) continue;
    std::string seen = e.replica ? e.master_id : "";
    if (seen != it->second) {
      return view.address + " still sees " + e.address() + " as " +
             (seen.empty() ? "a master" : "a replica of " + seen.substr(0, 8));
    }
  }
  return "";
}

// Collects the first reason and every nudge of a scoped check.
struct Findings {
  ScopedVerdict verdict;
  void fail(const std::string& reason) {
    if (verdict.reason.empty()) verdict.reason = reason;
  }
  void nudge(const std::string& from, const std::string& to) {
    if (from == to || from.empty() || to.empty()) return;
    std::pair<std::string, std::string> n{from, to};
    if (std::find(verdict.nudges.begin(), verdict.nudges.end(), n) == verdict.nudges.end()) {
      verdict.nudges.push_back(std::move(n));
    }
  }
};

const MemberView* viewOf(const std::map<std::string, MemberView>& views,
                         const std::string& address) {
  auto it = views.find(address);
  return it == views.end() || it->second.nodes.empty() ? nullptr : &it->second;
}

void checkJoined(const std::vector<std::string>& joined, const std::vector<std::string>& members,
                 const std::map<std::string, MemberView>& views, Findings& out) {
  for (const auto& j : joined) {
    const MemberView* vj = viewOf(views, j);
    if (vj == nullptr) return out.fail("no view of " + j);
    const std::string jid = myId(*vj);
    for (const auto& m : members) {
      if (m == j) continue;
      const MemberView* vm = viewOf(views, m);
      if (vm == nullptr) return out.fail("no view of " + m);
      const std::string mid = myId(*vm);
      if (knownEntry(*vj, mid) == nullptr) {
        out.fail(j + " does not know " + m + " yet");
        out.nudge(j, m);
      }
      if (knownEntry(*vm, jid) == nullptr) {
        out.fail(m + " does not know " + j + " yet");
        out.nudge(m, j);
      }
    }
  }
}

void checkForgotten(const std::vector<std::string>& forgotten,
                    const std::vector<std::string>& members,
                    const std::map<std::string, MemberView>& views, Findings& out) {
  if (forgotten.empty()) return;
  for (const auto& m : members) {
    const MemberView* vm = viewOf(views, m);
    if (vm == nullptr) return out.fail("no view of " + m);
    for (const auto& e : vm->nodes) {
      if (std::find(forgotten.begin(), forgotten.end(), e.id) != forgotten.end()) {
        out.fail(m + " still lists forgotten node " + e.id.substr(0, 8));
        out.verdict.forgets.emplace_back(m, e.id);
      }
    }
  }
}

// Every viewer's slot map must hold each master's own claim, and the viewers must agree on
// the rest (owners no viewer could ask, such as an unreachable master).
void checkSlotMap(SlotViews scope, const std::vector<std::string>& members,
                  const std::map<std::string, MemberView>& views, Findings& out) {
  std::map<std::string, std::pair<std::string, std::vector<SlotRange>>> claims;  // id -> addr
  std::vector<const MemberView*> viewers;
  for (const auto& m : members) {
    const MemberView* vm = viewOf(views, m);
    if (vm == nullptr) {
      if (scope == SlotViews::kEveryMember) return out.fail("no view of " + m);
      continue;  // a replica, not read when only the masters count
    }
    const ClusterNodeEntry* me = myselfOf(*vm);
    if (me == nullptr) return out.fail(m + " does not list itself");
    if (!me->open_slots.empty()) {
      return out.fail(m + " has open slot " + std::to_string(me->open_slots.front().slot));
    }
    if (me->master) {
      claims[me->id] = {m, normalized(me->slots)};
    } else if (scope == SlotViews::kMasters) {
      continue;
    }
    viewers.push_back(vm);
  }
  if (viewers.empty()) return;
  const SlotMap reference = slotMapOf(viewers.front()->nodes);
  for (const MemberView* v : viewers) {
    const SlotMap map = slotMapOf(v->nodes);
    for (const auto& [id, claim] : claims) {
      auto it = map.find(id);
      const std::vector<SlotRange> seen = it == map.end() ? std::vector<SlotRange>{} : it->second;
      if (seen != claim.second) {
        out.fail(v->address + " sees " + claim.first + " with " + rangesText(seen) +
                 ", which claims " + rangesText(claim.second));
        out.nudge(claim.first, v->address);
      }
    }
    if (map != reference) {
      const int slot = firstDifferingSlot(map, reference);
      out.fail(v->address + " and " + viewers.front()->address + " disagree on the owner of slot " +
               std::to_string(slot));
    }
  }
}

void checkServing(const std::vector<std::string>& serving,
                  const std::map<std::string, MemberView>& views, Findings& out) {
  // Until every slot has an owner the state is "fail" by definition, and nothing can serve.
  int assigned = 0;
  for (const auto& [address, v] : views) {
    assigned = std::max(assigned, v.slots_assigned);
    if (!v.nodes.empty()) assigned = std::max(assigned, assignedCount(slotMapOf(v.nodes)));
  }
  if (assigned < kSlotCount) return;
  for (const auto& s : serving) {
    auto it = views.find(s);
    if (it == views.end() || it->second.cluster_state.empty()) return out.fail("no state of " + s);
    if (it->second.cluster_state != "ok") {
      return out.fail(s + " reports cluster_state:" + it->second.cluster_state);
    }
  }
}

void checkReplicaLinks(const std::vector<topology::ReplicaLink>& links,
                       const std::map<std::string, MemberView>& views, Findings& out) {
  for (const auto& link : links) {
    const MemberView* vr = viewOf(views, link.replica_address);
    const MemberView* vm = viewOf(views, link.master_address);
    if (vr == nullptr) return out.fail("no view of " + link.replica_address);
    if (vm == nullptr) return out.fail("no view of " + link.master_address);
    const ClusterNodeEntry* me = myselfOf(*vr);
    if (me == nullptr || !me->replica || me->master_id != link.master_id) {
      out.fail(link.replica_address + " does not replicate " + link.master_id.substr(0, 8) +
               " yet");
      continue;
    }
    const ClusterNodeEntry* seen = knownEntry(*vm, me->id);
    if (seen == nullptr || !seen->replica || seen->master_id != link.master_id) {
      out.fail(link.master_address + " does not list " + link.replica_address +
               " as its replica yet");
      out.nudge(link.replica_address, link.master_address);
    }
  }
}

void addUnique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

void checkSynced(const std::vector<std::string>& synced,
                 const std::map<std::string, MemberView>& views, Findings& out) {
  for (const auto& replica : synced) {
    const MemberView* v = viewOf(views, replica);
    if (v == nullptr) return out.fail("no replication state of " + replica);
    if (v->master_link_status != "up" || v->sync_in_progress) {
      return out.fail(replica + " has not finished syncing with its master");
    }
  }
}

// Reads one node's views in a single round trip.
Result<MemberView> readView(redis::NodeClient& client, bool nodes, bool info,
                            bool replication = false) {
  std::vector<redis::Command> commands;
  if (nodes) commands.push_back({"CLUSTER", "NODES"});
  if (info) commands.push_back({"CLUSTER", "INFO"});
  if (replication) commands.push_back({"INFO", "replication"});
  ASSIGN_OR_RETURN(auto replies, client.pipeline(commands));
  if (replies.size() != commands.size()) {
    return internalError(client.address() + " answered " + std::to_string(replies.size()) +
                         " replies to " + std::to_string(commands.size()) + " commands");
  }
  MemberView view;
  view.address = client.address();
  size_t next = 0;
  if (nodes) {
    const auto& reply = replies[next++];
    if (reply.type != redis::Reply::Type::kString) {
      return unavailable(client.address() + " CLUSTER NODES: " + reply.str);
    }
    auto parsed = redis::parseClusterNodes(reply.str);
    if (!parsed.isOk()) return parsed.status().withContext(client.address());
    view.nodes = std::move(parsed).value();
  }
  if (info) {
    const auto& reply = replies[next++];
    if (reply.type != redis::Reply::Type::kString) {
      return unavailable(client.address() + " CLUSTER INFO: " + reply.str);
    }
    auto parsed = redis::parseClusterInfo(reply.str);
    if (!parsed.isOk()) return parsed.status().withContext(client.address());
    view.cluster_state = parsed->state;
    view.slots_assigned = parsed->slots_assigned;
  }
  if (replication) {
    const auto& reply = replies[next++];
    if (reply.type != redis::Reply::Type::kString) {
      return unavailable(client.address() + " INFO replication: " + reply.str);
    }
    auto parsed = redis::parseReplicationInfo(reply.str);
    if (!parsed.isOk()) return parsed.status().withContext(client.address());
    view.master_link_status = parsed->master_link_status;
    view.sync_in_progress = parsed->master_sync_in_progress;
  }
  return view;
}

// Connections kept for the length of one wait.
class Connections {
 public:
  explicit Connections(redis::NodeConnector& connector) : connector_(connector) {}
  Result<redis::NodeClient*> get(const std::string& address) {
    auto& slot = clients_[address];
    if (!slot) {
      ASSIGN_OR_RETURN(slot, connector_.connect(address));
    }
    return slot.get();
  }
  void drop(const std::string& address) { clients_.erase(address); }

 private:
  redis::NodeConnector& connector_;
  std::map<std::string, std::unique_ptr<redis::NodeClient>> clients_;
};

std::chrono::milliseconds nextPollInterval(std::chrono::milliseconds interval,
                                           const AgreementOptions& options) {
  return std::max(options.poll_interval, std::min(interval * 2, options.max_poll_interval));
}

}  // namespace

std::string findDisagreement(const std::vector<MemberView>& views) {
  if (views.empty()) return "";
  std::set<std::string> member_ids;
  for (const auto& v : views) member_ids.insert(myId(v));
  const auto roles = selfReportedMasters(views);
  const SlotMap reference = slotMapOf(views.front().nodes);
  // Before every slot is assigned (forming, or repairing lost slots) the state is "fail" by
  // definition; agreement then means the same partial map and full membership.
  const bool all_assigned = assignedCount(reference) >= kSlotCount;
  for (const auto& v : views) {
    if (all_assigned && v.cluster_state != "ok") {
      return v.address + " reports cluster_state:" + v.cluster_state;
    }
    for (const auto& e : v.nodes) {
      if (e.handshake) return v.address + " is still in handshake with " + e.address();
      if (!e.open_slots.empty()) {
        return v.address + " has open slot " + std::to_string(e.open_slots.front().slot);
      }
    }
    std::set<std::string> known = knownIds(v);
    for (const auto& id : member_ids) {
      if (!known.count(id)) return v.address + " does not know node " + id.substr(0, 8);
    }
    if (std::string lag = findRoleLag(v, roles); !lag.empty()) return lag;
    const SlotMap map = slotMapOf(v.nodes);
    if (map != reference) {
      return v.address + " and " + views.front().address + " disagree on the owner of slot " +
             std::to_string(firstDifferingSlot(map, reference));
    }
  }
  return "";
}

ScopedVerdict checkScopedAgreement(const topology::WaitForAgreementStep& what,
                                   const std::vector<std::string>& members,
                                   const std::map<std::string, MemberView>& views) {
  Findings out;
  checkJoined(what.joined, members, views, out);
  checkForgotten(what.forgotten, members, views, out);
  if (what.slot_map != SlotViews::kNone) checkSlotMap(what.slot_map, members, views, out);
  checkReplicaLinks(what.replica_links, views, out);
  if (out.verdict.reason.empty()) checkSynced(what.synced, views, out);
  if (out.verdict.reason.empty()) checkServing(what.serving, views, out);
  return out.verdict;
}

ViewsToRead viewsToRead(const topology::WaitForAgreementStep& what,
                        const std::vector<std::string>& members,
                        const std::vector<std::string>& masters) {
  ViewsToRead out;
  const bool every_member = !what.joined.empty() || !what.forgotten.empty() ||
                            what.slot_map == SlotViews::kEveryMember ||
                            (what.slot_map == SlotViews::kMasters && masters.empty());
  if (every_member) {
    for (const auto& m : members) addUnique(out.nodes, m);
  } else if (what.slot_map == SlotViews::kMasters) {
    for (const auto& m : masters) addUnique(out.nodes, m);
  }
  for (const auto& j : what.joined) addUnique(out.nodes, j);
  for (const auto& link : what.replica_links) {
    addUnique(out.nodes, link.replica_address);
    addUnique(out.nodes, link.master_address);
  }
  for (const auto& s : what.serving) addUnique(out.info, s);
  for (const auto& s : what.synced) addUnique(out.replication, s);
  return out;
}

Status waitForAgreement(redis::NodeConnector& connector, const std::vector<std::string>& addresses,
                        Clock& clock, const AgreementOptions& options) {
  Connections clients(connector);
  const auto deadline = clock.now() + options.timeout;
  std::chrono::milliseconds interval = options.poll_interval;
  std::string last_reason = "no members";
  while (true) {
    std::vector<MemberView> views;
    bool complete = true;
    for (const auto& address : addresses) {
      auto client = clients.get(address);
      auto view = client.isOk() ? readView(**client, true, true) : client.status();
      if (!view.isOk()) {
        clients.drop(address);
        last_reason = view.status().toString();
        complete = false;
        break;
      }
      views.push_back(std::move(view).value());
    }
    if (complete) {
      std::string reason = findDisagreement(views);
      if (reason.empty()) return Status::ok();
      if (reason != last_reason) log::debug("waiting for agreement", {{"reason", reason}});
      last_reason = std::move(reason);
    }
    if (clock.now() >= deadline) {
      return deadlineExceeded("cluster did not reach agreement: " + last_reason);
    }
    clock.sleepFor(interval);
    interval = nextPollInterval(interval, options);
  }
}

Status waitForAgreement(redis::NodeConnector& connector, const std::vector<std::string>& members,
                        const topology::WaitForAgreementStep& what, Clock& clock,
                        const AgreementOptions& options) {
  if (what.waitsForEverything()) return waitForAgreement(connector, members, clock, options);
  Connections clients(connector);
  const auto deadline = clock.now() + options.timeout;
  std::chrono::milliseconds interval = options.poll_interval;
  // A nudge repeats at most once per nudge_interval, so a lost packet is made up for without
  // flooding a node that is slow to answer.
  std::map<std::pair<std::string, std::string>, Clock::TimePoint> nudged;
  auto due = [&](const std::string& from, const std::string& to) {
    auto [it, first] = nudged.try_emplace({from, to}, clock.now());
    if (first) return true;
    if (clock.now() - it->second < options.nudge_interval) return false;
    it->second = clock.now();
    return true;
  };
  std::vector<std::string> masters;
  std::string last_reason = "nothing read yet";
  while (true) {
    const ViewsToRead reads = viewsToRead(what, members, masters);
    std::map<std::string, MemberView> views;
    bool complete = true;
    std::vector<std::string> addresses = reads.nodes;
    for (const auto& a : reads.info) addUnique(addresses, a);
    for (const auto& a : reads.replication) addUnique(addresses, a);
    auto listed = [](const std::vector<std::string>& list, const std::string& address) {
      return std::find(list.begin(), list.end(), address) != list.end();
    };
    for (const auto& address : addresses) {
      const bool nodes = listed(reads.nodes, address);
      const bool info = listed(reads.info, address);
      const bool replication = listed(reads.replication, address);
      auto client = clients.get(address);
      auto view = client.isOk() ? readView(**client, nodes, info, replication) : client.status();
      if (!view.isOk()) {
        clients.drop(address);
        last_reason = view.status().toString();
        complete = false;
        break;
      }
      views[address] = std::move(view).value();
    }
    if (complete) {
      if (what.slot_map == SlotViews::kMasters && masters.empty()) {
        for (const auto& m : members) {
          auto it = views.find(m);
          const ClusterNodeEntry* me = it == views.end() ? nullptr : myselfOf(it->second);
          if (me != nullptr && me->master) masters.push_back(m);
        }
      }
      ScopedVerdict verdict = checkScopedAgreement(what, members, views);
      if (verdict.reason.empty()) return Status::ok();
      if (verdict.reason != last_reason) {
        log::debug("waiting for agreement", {{"reason", verdict.reason}});
      }
      last_reason = std::move(verdict.reason);
      for (const auto& [from, to] : verdict.nudges) {
        if (!due(from, to)) continue;
        auto client = clients.get(from);
        auto target = redis::splitAddress(to);
        if (!client.isOk() || !target.isOk()) continue;
        Status s = (*client)->clusterMeet(target->first, target->second);
        if (!s.isOk()) log::debug("nudge failed", {{"from", from}, {"to", to}});
      }
      for (const auto& [member, id] : verdict.forgets) {
        if (!due(member, id)) continue;
        auto client = clients.get(member);
        if (client.isOk()) (void)(*client)->clusterForget(id);
      }
    }
    if (clock.now() >= deadline) {
      return deadlineExceeded("cluster did not reach agreement: " + last_reason);
    }
    clock.sleepFor(interval);
    interval = nextPollInterval(interval, options);
  }
}

}  // namespace slotkeeper::engine
