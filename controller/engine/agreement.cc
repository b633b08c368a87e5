#include "engine/agreement.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "common/log.h"
#include "engine/observer.h"

namespace slotkeeper::engine {
namespace {

std::set<std::string> knownIds(const MemberView& view) {
  std::set<std::string> ids;
  for (const auto& e : view.nodes) {
    if (!e.handshake) ids.insert(e.id);
  }
  return ids;
}

std::string myId(const MemberView& view) {
  for (const auto& e : view.nodes) {
    if (e.myself) return e.id;
  }
  return "";
}

Result<MemberView> readMember(redis::NodeClient& client) {
  MemberView view;
  view.address = client.address();
  ASSIGN_OR_RETURN(view.nodes, client.clusterNodes());
  ASSIGN_OR_RETURN(auto info, client.clusterInfo());
  view.cluster_state = info.state;
  return view;
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

}  // namespace

std::string findDisagreement(const std::vector<MemberView>& views) {
  if (views.empty()) return "";
  std::set<std::string> member_ids;
  for (const auto& v : views) member_ids.insert(myId(v));
  const auto roles = selfReportedMasters(views);
  const auto reference_owners = slotOwnersFrom(views.front().nodes);
  // Before every slot is assigned (forming, or repairing lost slots) the state is "fail" by
  // definition; agreement then means the same partial map and full membership.
  bool all_assigned = std::none_of(reference_owners.begin(), reference_owners.end(),
                                   [](const std::string& id) { return id.empty(); });
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
    auto owners = slotOwnersFrom(v.nodes);
    for (int s = 0; s < kSlotCount; ++s) {
      if (owners[static_cast<size_t>(s)] != reference_owners[static_cast<size_t>(s)]) {
        return v.address + " and " + views.front().address + " disagree on the owner of slot " +
               std::to_string(s);
      }
    }
  }
  return "";
}

Status waitForAgreement(redis::NodeConnector& connector, const std::vector<std::string>& addresses,
                        Clock& clock, const AgreementOptions& options) {
  std::map<std::string, std::unique_ptr<redis::NodeClient>> clients;
  const auto deadline = clock.now() + options.timeout;
  std::string last_reason = "no members";
  while (true) {
    std::vector<MemberView> views;
    bool complete = true;
    for (const auto& address : addresses) {
      auto& client = clients[address];
      if (!client) {
        auto connected = connector.connect(address);
        if (!connected.isOk()) {
          last_reason = connected.status().toString();
          complete = false;
          break;
        }
        client = std::move(connected).value();
      }
      auto view = readMember(*client);
      if (!view.isOk()) {
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
    clock.sleepFor(options.poll_interval);
  }
}

}  // namespace slotkeeper::engine
