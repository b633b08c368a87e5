// describeStep: one line per plan step, for logs, events and the CLI's dry run.
#include <string>
#include <variant>
#include <vector>

#include "topology/plan.h"

namespace slotkeeper::topology {
namespace {

// Node ids are 40 hex characters; the first 8 identify a node in practice, as in redis-cli.
std::string shortId(const std::string& id) { return id.substr(0, 8); }

std::string nodeLabel(const std::string& address, const std::string& id) {
  if (id.empty()) return address;
  if (address.empty()) return shortId(id);
  return address + " (" + shortId(id) + ")";
}

// "0-1364" or, for fragmented sets, the first ranges and a count, so a line stays readable.
std::string slotList(const SlotSet& slots) {
  constexpr size_t kShownRanges = 4;
  const auto ranges = slots.ranges();
  if (ranges.size() <= kShownRanges) return slots.toString();
  SlotSet shown;
  for (size_t i = 0; i < kShownRanges; ++i) shown.addRange(ranges[i]);
  return shown.toString() + ",... " + std::to_string(ranges.size()) + " ranges";
}

std::string slotCount(const SlotSet& slots) {
  const int n = slots.count();
  return std::to_string(n) + (n == 1 ? " slot" : " slots");
}

std::string describeOne(const SettleSlotStep& s) {
  std::string line = "settle slot " + std::to_string(s.slot) +
                     (s.finish ? ": finish the move to " : ": roll back to ") +
                     nodeLabel(s.owner_address, s.owner_id);
  if (!s.key_holders.empty()) {
    line += ", keys from ";
    for (size_t i = 0; i < s.key_holders.size(); ++i) {
      line += (i == 0 ? "" : ", ") + s.key_holders[i];
    }
  }
  if (!s.takeover_holders.empty()) {
    line += " (the owner's copy wins over ";
    for (size_t i = 0; i < s.takeover_holders.size(); ++i) {
      line += (i == 0 ? "" : ", ") + s.takeover_holders[i];
    }
    line += ", which took the slot over by a failover)";
  }
  return line;
}

std::string describeOne(const MeetStep& s) {
  return "meet " + nodeLabel(s.address, s.node_id) + " via " + s.via_address;
}

std::string describeOne(const AssignSlotsStep& s) {
  return "assign " + slotCount(s.slots) + " (" + slotList(s.slots) + ") to " +
         nodeLabel(s.address, s.node_id);
}

std::string describeOne(const MoveSlotsStep& s) {
  return "move " + slotCount(s.slots) + " (" + slotList(s.slots) + ") " + s.source_address +
         " -> " + s.target_address;
}

std::string describeOne(const DetachReplicaStep& s) {
  return "detach replica " + nodeLabel(s.address, s.node_id) + " to make it an empty master";
}

std::string describeOne(const ReplicateStep& s) {
  return "replicate " + nodeLabel(s.address, s.node_id) + " from master " +
         nodeLabel(s.master_address, s.master_id);
}

std::string describeOne(const HandBackKeysStep& s) {
  return "hand the keys of slotless master " + nodeLabel(s.address, s.node_id) +
         " back to their slots' owners";
}

std::string describeOne(const ForgetStep& s) {
  return "forget " + nodeLabel(s.address, s.node_id) +
         (s.reachable ? " on every member, then reset it" : " on every member (unreachable)");
}

// "a, b, c" or "a, b, c and 4 more": a barrier over a big cluster still fits on a line.
std::string nodeList(const std::vector<std::string>& items) {
  constexpr size_t kShown = 3;
  std::string out;
  for (size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kShown) out += " and " + std::to_string(items.size() - kShown) + " more";
  return out;
}

std::string describeOne(const WaitForAgreementStep& s) {
  if (s.waitsForEverything()) return "wait until every node agrees on the slot map";
  std::vector<std::string> parts;
  if (!s.joined.empty()) parts.push_back(nodeList(s.joined) + " and every member know one another");
  if (s.slot_map == WaitForAgreementStep::SlotViews::kMasters) {
    parts.push_back("the masters agree on the slot map");
  } else if (s.slot_map == WaitForAgreementStep::SlotViews::kEveryMember) {
    parts.push_back("every member agrees on the slot map");
  }
  if (!s.serving.empty()) parts.push_back("cluster_state:ok on " + nodeList(s.serving));
  if (!s.replica_links.empty()) {
    std::vector<std::string> links;
    for (const auto& l : s.replica_links) {
      links.push_back(l.replica_address + " -> " + nodeLabel(l.master_address, l.master_id));
    }
    parts.push_back("both ends see the replica links " + nodeList(links));
  }
  if (!s.synced.empty()) parts.push_back(nodeList(s.synced) + " finished syncing");
  if (!s.forgotten.empty()) {
    std::vector<std::string> ids;
    for (const auto& id : s.forgotten) ids.push_back(shortId(id));
    parts.push_back("no member lists " + nodeList(ids));
  }
  std::string out = "wait until ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
  return out;
}

}  // namespace

std::string describeStep(const Step& step) {
  return std::visit([](const auto& s) { return describeOne(s); }, step);
}

}  // namespace slotkeeper::topology
