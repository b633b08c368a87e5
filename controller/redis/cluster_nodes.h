// Pure parsers for CLUSTER NODES, CLUSTER INFO and INFO replication replies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "topology/slots.h"

namespace slotkeeper::redis {

// A slot a node reports as "[slot->-dest]" (migrating) or "[slot-<-source]" (importing).
struct OpenSlot {
  enum class Kind { kMigrating, kImporting };
  int slot = 0;
  Kind kind = Kind::kMigrating;
  std::string peer_id;  // destination when migrating, source when importing
  bool operator==(const OpenSlot&) const = default;
};

// One line of CLUSTER NODES.
struct ClusterNodeEntry {
  std::string id;
  std::string ip;  // empty when the node has no address yet (":0@0")
  int port = 0;
  int cport = 0;
  std::string hostname;  // Redis 7 "ip:port@cport,hostname"; empty when absent
  bool myself = false;
  bool master = false;
  bool replica = false;
  bool fail = false;
  bool pfail = false;
  bool handshake = false;
  bool noaddr = false;
  bool nofailover = false;
  std::string master_id;  // empty for masters ("-")
  int64_t ping_sent = 0;
  int64_t pong_recv = 0;
  int64_t config_epoch = 0;
  bool connected = false;  // link-state "connected" vs "disconnected"
  std::vector<SlotRange> slots;
  std::vector<OpenSlot> open_slots;

  std::string address() const { return ip + ":" + std::to_string(port); }
};

Result<std::vector<ClusterNodeEntry>> parseClusterNodes(std::string_view text);

// The fields of CLUSTER INFO the operator acts on.
struct ClusterInfo {
  std::string state;  // "ok" or "fail"
  int slots_assigned = 0;
  int slots_ok = 0;
  int slots_pfail = 0;
  int slots_fail = 0;
  int known_nodes = 0;
  int size = 0;
  int64_t current_epoch = 0;
  int64_t my_epoch = 0;
};

Result<ClusterInfo> parseClusterInfo(std::string_view text);

// INFO replication, from either side of the link.
struct ReplicaLink {
  std::string ip;
  int port = 0;
  std::string state;  // "online", "wait_bgsave", "send_bulk"...
  int64_t offset = 0;
  int64_t lag_seconds = 0;
};

struct ReplicationInfo {
  std::string role;  // "master" or "slave"
  // Master side.
  std::vector<ReplicaLink> replicas;
  int64_t master_repl_offset = 0;
  // Replica side.
  std::string master_host;
  int master_port = 0;
  std::string master_link_status;  // "up" or "down"
  bool master_sync_in_progress = false;
  int64_t slave_repl_offset = 0;
  int64_t master_last_io_seconds_ago = -1;
};

Result<ReplicationInfo> parseReplicationInfo(std::string_view text);

// The fields of INFO memory the operator acts on (bytes).
struct MemoryInfo {
  int64_t used_memory = 0;
  int64_t maxmemory = 0;  // 0 = no limit
};

Result<MemoryInfo> parseMemoryInfo(std::string_view text);

// The load of a node, from INFO clients and INFO stats, for its metrics.
struct LoadInfo {
  int64_t connected_clients = 0;
  int64_t ops_per_sec = 0;   // instantaneous_ops_per_sec
  int64_t evicted_keys = 0;  // since the node started
  int64_t expired_keys = 0;  // since the node started
};

// Reads the fields above from the text of INFO clients, INFO stats, or both concatenated; a
// field that is absent stays 0.
Result<LoadInfo> parseLoadInfo(std::string_view text);

}  // namespace slotkeeper::redis
