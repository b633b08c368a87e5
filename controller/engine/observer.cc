#include "engine/observer.h"

#include <charconv>
#include <deque>
#include <set>

#include "common/log.h"

namespace slotkeeper::engine {
namespace {

using redis::ClusterNodeEntry;
using topology::ObservedNode;

const ClusterNodeEntry* findMyself(const std::vector<ClusterNodeEntry>& entries) {
  for (const auto& e : entries) {
    if (e.myself) return &e;
  }
  return nullptr;
}

// Fills a reachable node's fields from its own view of the cluster.
Status readReachableNode(redis::NodeClient& client, ObservedNode* node,
                         std::vector<ClusterNodeEntry>* entries) {
  ASSIGN_OR_RETURN(*entries, client.clusterNodes());
  const ClusterNodeEntry* me = findMyself(*entries);
  if (me == nullptr) return internalError("CLUSTER NODES of " + node->address + " has no myself");
  ASSIGN_OR_RETURN(node->keys, client.dbSize());
  node->reachable = true;
  node->id = me->id;
  node->is_master = !me->replica;
  node->master_id = me->master_id;
  node->slots = SlotSet::fromRanges(me->slots);
  node->open_slots = me->open_slots;
  for (const auto& e : *entries) {
    if (!e.myself && !e.handshake) node->peer_ids.push_back(e.id);
  }
  return Status::ok();
}

// What peers say about a node we could not reach ourselves. Every peer's word counts: the slots
// are those any of them gives it (never fewer than it may hold, so none is reassigned from one
// stale view), and disagreement is recorded for the planner to refuse to act on.
void fillFromPeerViews(const std::vector<ClusterNodeEntry>& entries, ObservedNode* node) {
  const ClusterNodeEntry& first = entries.front();
  node->id = first.id;
  node->is_master = !first.replica;
  node->master_id = first.master_id;
  node->slots = SlotSet::fromRanges(first.slots);
  for (const auto& e : entries) {
    const SlotSet slots = SlotSet::fromRanges(e.slots);
    if (e.replica != first.replica || !(slots == node->slots)) node->peer_views_disagree = true;
    node->slots = node->slots | slots;
    if (!e.replica) node->is_master = true;
  }
}

ObservedNode::Unreachable classify(const Status& failure) {
  if (failure.code() == StatusCode::kUnauthenticated) return ObservedNode::Unreachable::kAuth;
  if (failure.message().find("LOADING") != std::string::npos) {
    return ObservedNode::Unreachable::kLoading;
  }
  if (redis::isNoReply(failure)) return ObservedNode::Unreachable::kNoReply;
  return ObservedNode::Unreachable::kDown;
}

// Slots no node claims: no reachable node's own view gives them to itself and no peer gives them
// to an unreachable node. Other views may still name an owner (Redis never clears a stale owner by
// gossip), so "unassigned" is decided here, on every node's own word, and nowhere else.
SlotSet unclaimedSlots(const topology::ObservedCluster& cluster) {
  SlotSet claimed;
  for (const auto& node : cluster.nodes) claimed = claimed | node.slots;
  return SlotSet::all() - claimed;
}

// A master may hold keys in a slot nobody claims: its move was cut short by a failover, or the
// slot was dropped by hand. Counting only there keeps this to one round trip on the rare node
// with such slots and keys, and to nothing at all on a healthy cluster.
Status findKeysInUnclaimedSlots(redis::NodeConnector& connector,
                                topology::ObservedCluster* cluster) {
  const SlotSet unclaimed = unclaimedSlots(*cluster);
  if (unclaimed.empty()) return Status::ok();
  const std::vector<int> slots = unclaimed.slots();
  for (auto& node : cluster->nodes) {
    if (!node.reachable || !node.is_master || node.keys == 0) continue;
    ASSIGN_OR_RETURN(auto client, connector.connect(node.address));
    ASSIGN_OR_RETURN(auto counts, client->clusterCountKeysInSlots(slots));
    for (size_t i = 0; i < slots.size() && i < counts.size(); ++i) {
      if (counts[i] > 0) node.keys_in_unclaimed_slots.add(slots[i]);
    }
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> slotOwnersFrom(const std::vector<ClusterNodeEntry>& entries) {
  std::vector<std::string> owners(kSlotCount);
  for (const auto& e : entries) {
    for (const auto& r : e.slots) {
      for (int s = r.first; s <= r.last; ++s) owners[static_cast<size_t>(s)] = e.id;
    }
  }
  return owners;
}

Result<topology::ObservedCluster> observeCluster(
    redis::NodeConnector& connector, const std::vector<std::string>& addresses,
    const std::map<std::string, std::string>& failure_domains,
    const std::map<std::string, std::string>& aliases) {
  auto reachedAt = [&](const ClusterNodeEntry& e) {
    auto it = aliases.find(e.address());
    return it == aliases.end() ? e.address() : it->second;
  };
  topology::ObservedCluster cluster;
  std::deque<std::string> pending(addresses.begin(), addresses.end());
  std::set<std::string> seen;
  // Peer entries by id, to describe nodes we cannot reach and to find failed flags.
  std::map<std::string, std::vector<ClusterNodeEntry>> peer_views;
  std::set<std::string> failed_ids;

  while (!pending.empty()) {
    std::string address = pending.front();
    pending.pop_front();
    if (!seen.insert(address).second) continue;
    ObservedNode node;
    node.address = address;
    if (auto it = failure_domains.find(address); it != failure_domains.end()) {
      node.failure_domain = it->second;
    }
    std::vector<ClusterNodeEntry> entries;
    auto client = connector.connect(address);
    Status read = client.isOk() ? readReachableNode(**client, &node, &entries) : client.status();
    if (!read.isOk()) {
      log::debug("node unreachable", {{"node", address}, {"error", read.toString()}});
      node.reachable = false;
      node.unreachable = classify(read);
    }
    for (const auto& e : entries) {
      if (e.myself || e.handshake || e.noaddr || e.ip.empty()) continue;
      if (e.fail) failed_ids.insert(e.id);
      peer_views[e.id].push_back(e);
      pending.push_back(reachedAt(e));
    }
    cluster.nodes.push_back(std::move(node));
  }

  for (auto& node : cluster.nodes) {
    if (!node.reachable) {
      for (const auto& [id, entries] : peer_views) {
        std::vector<ClusterNodeEntry> here;
        for (const auto& e : entries) {
          if (reachedAt(e) == node.address) here.push_back(e);
        }
        if (!here.empty()) fillFromPeerViews(here, &node);
      }
    }
    node.marked_failed = failed_ids.count(node.id) > 0;
  }
  RETURN_IF_ERROR(findKeysInUnclaimedSlots(connector, &cluster));
  return cluster;
}

std::chrono::milliseconds readSmallestNodeTimeout(redis::NodeConnector& connector,
                                                  const std::vector<std::string>& addresses) {
  int64_t smallest = 0;
  for (const auto& address : addresses) {
    auto client = connector.connect(address);
    if (!client.isOk()) continue;
    auto value = (*client)->configGet("cluster-node-timeout");
    if (!value.isOk()) continue;
    int64_t ms = 0;
    auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), ms);
    if (error != std::errc() || end != value->data() + value->size() || ms <= 0) continue;
    if (smallest == 0 || ms < smallest) smallest = ms;
  }
  return std::chrono::milliseconds(smallest);
}

}  // namespace slotkeeper::engine
