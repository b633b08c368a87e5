// The planner's input: what was observed of the live nodes, and the shape the user asked for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "redis/cluster_nodes.h"
#include "topology/slots.h"

namespace slotkeeper::topology {

// One node as the observer saw it, from its own CLUSTER NODES / DBSIZE when reachable, or from
// its peers' view when not.
struct ObservedNode {
  std::string address;  // "ip:port" the engine reaches it at
  bool reachable = false;
  std::string id;  // CLUSTER MYID; empty when unreachable and no peer knows it
  bool is_master = true;
  std::string master_id;  // set for replicas
  SlotSet slots;          // slots this node claims in its own view (peers' view if unreachable)
  std::vector<redis::OpenSlot> open_slots;  // its importing/migrating markers
  // Ids of every node in its CLUSTER NODES other than itself and handshake entries. An empty
  // list means the node is alone (a fresh node, or one that was reset).
  std::vector<std::string> peer_ids;
  bool marked_failed = false;  // some peer flags it "fail"
  int64_t keys = 0;            // DBSIZE (0 when unreachable)
  std::string failure_domain;  // e.g. the Kubernetes node or zone; empty = unknown
  // Why an unreachable node could not be read: four different things to tell a person (down:
  // refused or dropped the connection; no reply: took it but did not answer in time).
  enum class Unreachable { kNo, kDown, kAuth, kLoading, kNoReply };
  Unreachable unreachable = Unreachable::kNo;
  // Unreachable only: the peers that list it do not agree on its role or slots, so what it
  // holds is not known (one of them may have a stale view).
  bool peer_views_disagree = false;
  // Reachable masters only: the slots that no node claims in which this node holds keys. Those
  // keys decide who must claim such a slot; any other owner would leave them unreachable.
  SlotSet keys_in_unclaimed_slots;
};

struct ObservedCluster {
  std::vector<ObservedNode> nodes;  // every node found: the desired ones and all current members
};

// A node the user wants in the cluster.
struct DesiredNode {
  std::string address;
  std::string failure_domain;  // preferred over what was observed when not empty
  // The shard (0..masters-1) a node belongs to, as the operator's StatefulSets fix it;
  // -1 lets the planner choose. Either every node has a shard or none has.
  int shard = -1;
};

struct DesiredShape {
  int masters = 3;
  int replicas_per_master = 0;
  std::vector<DesiredNode> nodes;  // the complete membership: anything else is removed
};

}  // namespace slotkeeper::topology
