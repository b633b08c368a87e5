// An in-memory Redis Cluster for unit tests of the topology engine: no sockets, no processes, no
// sleeping, and the same outcome on every run.
//
// Each node has an id, an "ip:port" address, a role (master, or replica of an id), a config
// epoch, a key space, and its own view of the cluster like a real node: the peers it knows (with
// their roles, epochs and fail flags as it last heard them), the owner of every slot, and its
// MIGRATING/IMPORTING markers. The clients that connect() returns interpret the commands the
// engine sends (CLUSTER NODES/INFO/MYID/MEET/ADDSLOTSRANGE/DELSLOTSRANGE/SETSLOT/GETKEYSINSLOT/
// COUNTKEYSINSLOT/REPLICATE/FORGET/RESET/BUMPEPOCH/FAILOVER, INFO replication, DBSIZE, PING,
// MIGRATE ... KEYS, ASKING, DUMP, GET, SET, CONFIG SET/GET, CLIENT SETNAME, AUTH) with Redis's
// rules and error texts: SETSLOT changes only the node it is sent to, MIGRATE moves keys between
// fake nodes (BUSYKEY without REPLACE), keyed commands are redirected with MOVED/ASK, and a
// command the fake does not model is answered with an error naming it.
//
// Gossip is explicit. One gossip round lets every reachable node hear from every reachable peer
// it knows: roles, epochs and addresses; membership (a node learns the peers of its peers unless
// it has forgotten them); slot claims, with Redis's rules (a master's claim replaces an owner
// with a lower config epoch; a node drops its keys in a slot it loses that way; a master left
// without slots, or a replica whose master is, follows the node that took them when
// cluster-allow-replica-migration allows it or when that node claims exactly the slots it
// took); and fail flags for unreachable peers. With auto-propagation (the default) gossip runs to a
// fixed point after every round trip that changed cluster state, so all views agree as soon as a
// command returns; with it off, views differ until the test calls propagate() (for example from a
// ManualClock sleep hook).
//
// The "global truth" of a slot (ownerOf) is the claim gossip would settle on: the master that
// lists the slot as its own with the highest config epoch.
//
// Thread-safety: every public method and every client's pipeline() take one mutex, so the
// executor's parallel moves (each thread with its own client from connect()) are safe. A single
// client, like a Redis connection, is used by one thread at a time, and must not outlive the
// cluster. Command hooks run under the mutex and must not call back into the cluster.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/node_client.h"
#include "redis/reply.h"
#include "topology/slots.h"

namespace slotkeeper::test {

// What an injected fault does to one command.
struct CommandFault {
  // The reply the command gets instead of running.
  redis::Reply reply = redis::Reply::error("ERR injected fault");
  // Instead of a reply, the round trip fails as a transport error (the commands before this one
  // in the same pipeline have run; this one and the rest have not).
  bool drop_connection = false;
};

// Called before each command with the address it was sent to; a fault it returns replaces the
// command, which then does not run.
using CommandHook = std::function<std::optional<CommandFault>(const std::string& address,
                                                              const redis::Command& command)>;

// A declarative fault: of the commands that match, the first `skip` run normally, the next
// `times` (-1: all of them) get `fault`.
struct FaultSpec {
  std::string address;             // empty: any node
  std::vector<std::string> words;  // leading words, case-insensitive: {"MIGRATE"}, {"CLUSTER",
                                   // "SETSLOT"}; empty: every command
  int skip = 0;
  int times = 1;
  CommandFault fault;
};

class FakeRedisCluster final : public redis::NodeConnector {
 public:
  struct Options {
    // Run gossip to a fixed point after every round trip that changed cluster state.
    bool auto_propagate = true;
    // Gossip ticks (propagate() or gossipRound() calls) a CLUSTER MEET handshake takes before
    // the two nodes know each other; 0 completes it within the MEET itself. Until then the
    // meeting node lists the other as "handshake".
    int meet_rounds = 0;
  };

  FakeRedisCluster();
  explicit FakeRedisCluster(Options options);
  ~FakeRedisCluster() override;
  FakeRedisCluster(const FakeRedisCluster&) = delete;
  FakeRedisCluster& operator=(const FakeRedisCluster&) = delete;

  // ---- building ----

  // A fresh node: an empty master that knows only itself. Returns its id (generated when `id` is
  // empty: 40 hex characters, stable for a given address and creation order).
  std::string addNode(const std::string& address, const std::string& id = "");
  // `count` fresh nodes at ip:first_port, ip:first_port+1, ...; returns their addresses.
  std::vector<std::string> addNodes(int count, const std::string& ip = "10.0.0.1",
                                    int first_port = 7000);
  // Forms a cluster directly, the way redis-cli would leave it: every listed node knows every
  // other, `masters` split the slots evenly (in the order given) with config epochs 1..n, and
  // each replica (address -> master address) follows its master with a copy of its keys.
  void formCluster(const std::vector<std::string>& masters,
                   const std::map<std::string, std::string>& replica_of = {});
  // The node at `from` (same id, keys and views) now answers at `to`; peers learn the new
  // address by gossip.
  void moveNode(const std::string& from, const std::string& to);

  // ---- redis::NodeConnector ----

  // A client for the node at `address`; Unavailable when there is none or it is unreachable.
  Result<std::unique_ptr<redis::NodeClient>> connect(const std::string& address) override;

  // ---- gossip ----

  // One tick: pending MEET handshakes advance, then gossip rounds run until nothing changes.
  void propagate();
  // One tick with a single gossip round; returns whether any view changed.
  bool gossipRound();
  void setAutoPropagate(bool on);
  void setMeetRounds(int rounds);

  // ---- faults ----

  // An unreachable node refuses connections and fails every round trip; peers mark it "fail"
  // on the next gossip round.
  void setReachable(const std::string& address, bool reachable);
  void setCommandHook(CommandHook hook);
  void addFault(FaultSpec spec);
  void clearFaults();
  // Commands answered by a fault so far (hook and specs).
  int faultsInjected() const;

  // ---- data ----

  // Writes a key straight into a node's key space (and its replicas'), bypassing routing.
  void putKey(const std::string& address, const std::string& key, const std::string& value);
  // Writes a key to the master that owns its slot in the global truth, as a cluster client
  // would; FailedPrecondition when no master owns the slot.
  Status writeKey(const std::string& key, const std::string& value);
  std::map<std::string, std::string> keysOf(const std::string& address) const;
  int64_t keyCount(const std::string& address) const;
  // Every key held by a master, with the addresses of the masters holding it.
  std::map<std::string, std::vector<std::string>> keyHolders() const;
  // Problems with data placement, as readable lines (empty when all is well): a key held by a
  // master that does not own its slot in its own view or in the global truth, or held by two
  // masters, and a replica whose keys differ from its master's.
  std::vector<std::string> placementProblems() const;

  // ---- inspection (copies, taken under the mutex) ----

  std::vector<std::string> addresses() const;
  std::string idOf(const std::string& address) const;  // "" when no node is there
  std::string addressOfId(const std::string& id) const;
  bool isReachable(const std::string& address) const;
  bool isReplica(const std::string& address) const;
  // The master id of a replica, "" for a master.
  std::string masterIdOf(const std::string& address) const;
  // The slots a node lists as its own in its own view.
  SlotSet slotsOf(const std::string& address) const;
  // Who `viewer` believes owns `slot` (an id, "" when unassigned).
  std::string ownerInViewOf(const std::string& viewer, int slot) const;
  // The global truth for `slot` (an id, "" when no master claims it).
  std::string ownerOf(int slot) const;
  // Slot counts per master address in the global truth (masters without slots omitted).
  std::map<std::string, int> slotCounts() const;
  // True when the view of every slot of every reachable node among `among` (all nodes when
  // empty) matches the global truth and none of them has an open slot.
  bool viewsAgree(const std::vector<std::string>& among = {}) const;
  std::map<int, std::string> migratingSlots(const std::string& address) const;  // slot -> dest
  std::map<int, std::string> importingSlots(const std::string& address) const;  // slot -> src
  // Ids a node knows besides its own (handshakes excluded).
  std::set<std::string> knownIds(const std::string& address) const;
  int64_t configEpochOf(const std::string& address) const;
  std::string configValue(const std::string& address, const std::string& name) const;

  // Commands run so far, one line each ("10.0.0.1:7000 CLUSTER SETSLOT 12 NODE ab12..."),
  // showing at most the first 5 words of each (faulted commands are not listed).
  std::vector<std::string> commandLog() const;
  // How many commands run so far started with these words (case-insensitive; at most 5 words
  // are compared), on any node or on one.
  int commandCount(const std::vector<std::string>& words, const std::string& address = "") const;

 private:
  friend class FakeNodeClient;
  struct State;

  // What a client's pipeline() does.
  Result<std::vector<redis::Reply>> execute(const std::string& address,
                                            const std::vector<redis::Command>& commands,
                                            bool* asking);

  mutable std::mutex mu_;
  std::unique_ptr<State> state_;
};

}  // namespace slotkeeper::test
