// The narrow side-effect boundary to one Redis node: a pipeline of raw commands, plus typed
// admin helpers built on it. The hiredis implementation lives in hiredis_client.h; unit tests
// substitute a fake that implements pipeline().
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/cluster_nodes.h"
#include "redis/reply.h"
#include "topology/slots.h"

namespace slotkeeper::redis {

class NodeClient {
 public:
  virtual ~NodeClient() = default;

  // "ip:port" this client talks to.
  virtual const std::string& address() const = 0;

  // Sends all commands in one round trip and returns one reply per command, in order.
  // A transport failure (connection refused, timeout) is a non-OK status; Redis error
  // replies are returned as Reply values of type kError for the caller to judge.
  virtual Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands) = 0;

  // Over TLS, the SHA-256 (hex) of the certificate the node served on the last handshake, so a
  // caller can tell whether a node has taken a renewed certificate; empty over plain TCP.
  virtual std::string servedCertificateSha256() const { return {}; }

  // One command; a Redis error reply becomes a non-OK status carrying the error text.
  Result<Reply> command(const Command& cmd);

  // --- typed admin helpers (each is one command or one pipelined batch) ---
  Result<std::string> clusterNodesRaw();
  Result<std::vector<ClusterNodeEntry>> clusterNodes();
  Result<ClusterInfo> clusterInfo();
  Result<std::string> clusterMyId();
  Result<ReplicationInfo> infoReplication();
  Result<MemoryInfo> infoMemory();
  // INFO clients and INFO stats, in one round trip.
  Result<LoadInfo> infoLoad();
  Result<int64_t> dbSize();
  Status ping();

  Status clusterMeet(const std::string& ip, int port);
  Status clusterAddSlotsRange(const std::vector<SlotRange>& ranges);
  Status clusterDelSlotsRange(const std::vector<SlotRange>& ranges);
  Status clusterSetSlotImporting(int slot, const std::string& source_id);
  Status clusterSetSlotMigrating(int slot, const std::string& destination_id);
  Status clusterSetSlotNode(int slot, const std::string& node_id);
  Status clusterSetSlotStable(int slot);
  // Pipelined forms: one round trip for many slots. The first failing reply is returned.
  Status clusterSetSlotsImporting(const std::vector<int>& slots, const std::string& source_id);
  Status clusterSetSlotsMigrating(const std::vector<int>& slots, const std::string& dest_id);
  Status clusterSetSlotsNode(const std::vector<int>& slots, const std::string& node_id);
  Status clusterSetSlotsStable(const std::vector<int>& slots);
  Result<std::vector<std::string>> clusterGetKeysInSlot(int slot, int count);
  Result<int64_t> clusterCountKeysInSlot(int slot);
  // Pipelined COUNTKEYSINSLOT for many slots, in the same order.
  Result<std::vector<int64_t>> clusterCountKeysInSlots(const std::vector<int>& slots);
  Status clusterReplicate(const std::string& master_id);
  Status clusterForget(const std::string& node_id);
  enum class FailoverMode { kDefault, kForce, kTakeover };
  Status clusterFailover(FailoverMode mode);
  Status clusterResetSoft();
  Status configSet(const std::string& key, const std::string& value);
  Result<std::string> configGet(const std::string& key);  // "" when the key is unknown
  // The SHA-256 (hex) of every password an ACL user accepts (ACL GETUSER's "passwords").
  Result<std::vector<std::string>> aclPasswordHashes(const std::string& user);
  // ACL SETUSER user rule...
  Status aclSetUser(const std::string& user, const std::vector<std::string>& rules);
  // One CONFIG SET of every pair (Redis 7: all take effect or none does).
  Status configSetAll(const std::vector<std::pair<std::string, std::string>>& settings);
  // DUMP payloads of keys (nullopt for a missing key), for comparing values on BUSYKEY. Each
  // DUMP goes after ASKING, so this works on the importing node of an open slot as well.
  Result<std::vector<std::optional<std::string>>> dumpKeys(const std::vector<std::string>& keys);

  // MIGRATE host port "" 0 timeout [REPLACE] [AUTH2 user pass | AUTH pass] KEYS k1 k2...
  // "NOKEY" (nothing to move) is success. A BUSYKEY error is returned as kConflict so the
  // caller can decide whether REPLACE is safe.
  struct MigrateOptions {
    std::chrono::milliseconds timeout{60000};
    bool replace = false;
    std::string password;  // empty = no AUTH
  };
  Status migrateKeys(const std::string& dest_ip, int dest_port,
                     const std::vector<std::string>& keys, const MigrateOptions& options);
};

// TLS towards the nodes: the server's chain is always verified against `ca_pem`, and its name
// against the address dialled (an IP SAN) or, when set, `server_name` (a DNS SAN). A node
// dialled by IP whose certificate lists DNS names instead passes when one of them matches a name
// `dns_names` gives for that IP (a pod's name under its headless Service).
struct TlsOptions {
  bool enabled = false;
  std::string ca_pem;    // the CA (bundle) to trust; required when enabled
  std::string cert_pem;  // the client certificate Redis asks for (tls-auth-clients); optional
  std::string key_pem;   // its private key
  std::string server_name;
  std::map<std::string, std::vector<std::string>> dns_names;  // by IP
};

// Connection settings shared by every node of one cluster.
struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{10000};
  std::string password;  // sent with AUTH after connecting when not empty
  // An ACL user tried first (AUTH username user_password) when set; the default user's
  // passwords above are tried only if the node refuses it (a node that does not have the user
  // yet).
  std::string username;
  std::string user_password;
  // Tried when `password` is refused: while a new password is rolled in, nodes that have not
  // taken it yet still accept the previous one.
  std::string fallback_password;
  // CLIENT SETNAME after connecting when not empty, so `CLIENT LIST` on a node tells which
  // process holds a connection (the operator names its connections after its identity).
  std::string client_name;
  TlsOptions tls;  // plain TCP unless tls.enabled
};

// Opens clients by address; the executor and observer depend on this, not on hiredis.
class NodeConnector {
 public:
  virtual ~NodeConnector() = default;
  virtual Result<std::unique_ptr<NodeClient>> connect(const std::string& address) = 0;
};

// The words a command that got no answer within ConnectOptions::command_timeout carries, and the
// test for it: such a node accepted the connection but is stopped, paused or overloaded, which is
// not the same as a node that refused or dropped it.
inline constexpr std::string_view kNoReplyWithin = "no reply within ";
bool isNoReply(const Status& status);

// Splits "host:port"; rejects anything else with a clear message.
Result<std::pair<std::string, int>> splitAddress(const std::string& address);

}  // namespace slotkeeper::redis
