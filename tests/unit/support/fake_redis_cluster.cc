#include "unit/support/fake_redis_cluster.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "redis/key_slot.h"

namespace slotkeeper::test {
namespace {

using redis::Command;
using redis::Reply;

constexpr int kNone = -1;
// Gossip rounds after which propagate() gives up looking for a fixed point.
constexpr int kMaxGossipRounds = 64;
constexpr size_t kLoggedWords = 5;
constexpr size_t kMaxProblemLines = 40;

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// Case-insensitive equality with an upper-case word, without building strings.
bool is(std::string_view word, std::string_view upper_word) {
  if (word.size() != upper_word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(word[i])) != upper_word[i]) return false;
  }
  return true;
}

std::optional<int64_t> parseInt(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<int> parseSlot(std::string_view text) {
  auto value = parseInt(text);
  if (!value || *value < 0 || *value >= kSlotCount) return std::nullopt;
  return static_cast<int>(*value);
}

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string hex(uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[value & 0xf];
    value >>= 4;
  }
  return out;
}

std::pair<std::string, int> splitHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {address, 0};
  auto port = parseInt(std::string_view(address).substr(colon + 1));
  return {address.substr(0, colon), port ? static_cast<int>(*port) : 0};
}

// "ip:port@cport", the bus port being port + 10000 as Redis defaults it.
std::string busAddress(const std::string& address) {
  int port = splitHostPort(address).second;
  int cport = port + 10000 <= 65535 ? port + 10000 : port;
  return address + "@" + std::to_string(cport);
}

Reply ok() { return Reply::status("OK"); }
Reply err(std::string text) { return Reply::error(std::move(text)); }
Reply array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::kArray;
  r.elements = std::move(elements);
  return r;
}
Reply wrongArgs(const std::string& name) {
  return err("ERR wrong number of arguments for '" + name + "' command");
}

std::string joinWords(const Command& cmd, size_t max_words) {
  std::string out;
  for (size_t i = 0; i < std::min(max_words, cmd.size()); ++i) {
    if (i > 0) out += ' ';
    out += cmd[i].empty() ? "\"\"" : cmd[i];
  }
  if (cmd.size() > max_words) out += " ...";
  return out;
}

bool startsWithWords(const Command& cmd, const std::vector<std::string>& words) {
  if (cmd.size() < words.size()) return false;
  for (size_t i = 0; i < words.size(); ++i) {
    if (!is(cmd[i], upper(words[i]))) return false;
  }
  return true;
}

// What one node believes about another.
struct Peer {
  std::string address;
  int master = kNone;  // the peer's master; kNone: the peer is a master
  int64_t config_epoch = 0;
  bool failed = false;
};

// A CLUSTER MEET that has not completed yet.
struct Handshake {
  std::string address;
  int rounds_left = 0;
  std::string temp_id;
};

struct Node {
  std::string id;
  std::string address;
  bool reachable = true;
  int master = kNone;  // own role: kNone for a master
  int64_t config_epoch = 0;
  int64_t current_epoch = 0;
  // This node's view: the owner (node index) of every slot.
  std::vector<int> owners = std::vector<int>(kSlotCount, kNone);
  int own_slots = 0;             // slots this node owns in its own view
  std::map<int, int> migrating;  // slot -> destination
  std::map<int, int> importing;  // slot -> source
  std::map<int, Peer> peers;
  std::vector<Handshake> handshakes;
  std::set<int> banned;                                    // forgotten: not re-learned from gossip
  std::map<int, std::map<std::string, std::string>> keys;  // slot -> key -> value
  int64_t key_count = 0;
  std::map<std::string, std::string> config;
  // Cached cluster_state, valid while `state_generation` matches the cluster's generation.
  uint64_t state_generation = 0;
  bool state_ok = false;
  // Bumped on every change to what this node claims or believes (owners, markers, roles,
  // epochs, peers, config), so gossip can skip an exchange that cannot change anything.
  uint64_t version = 1;
  // The slots this node claimed as of `claims_version`.
  std::vector<int> claims;
  uint64_t claims_version = 0;
  // Per sender: (sender version, own version) when its claims were last applied here.
  std::map<int, std::pair<uint64_t, uint64_t>> heard;
};

// One command run, with its first kLoggedWords words joined by kWordSeparator (and "..." as a
// last word when it had more).
struct LogEntry {
  std::string address;
  std::string words;
};
constexpr char kWordSeparator = '\x1f';

std::vector<std::string_view> splitLogged(std::string_view words) {
  std::vector<std::string_view> out;
  while (true) {
    size_t end = words.find(kWordSeparator);
    out.push_back(words.substr(0, end));
    if (end == std::string_view::npos) return out;
    words = words.substr(end + 1);
  }
}

}  // namespace

// Not thread-safe by itself: FakeRedisCluster holds its mutex around every use.
struct FakeRedisCluster::State {
  Options options;
  std::vector<Node> nodes;  // a node's index is its handle; nodes are never removed
  std::map<std::string, int> by_address;
  std::map<std::string, int> by_id;
  bool dirty = false;       // cluster state changed since the last propagation
  uint64_t generation = 1;  // bumped on every change of slot owners or fail flags
  CommandHook hook;
  struct ActiveFault {
    FaultSpec spec;
    int matched = 0;
  };
  std::vector<ActiveFault> faults;
  int faults_injected = 0;
  std::deque<LogEntry> log;
  uint64_t handshake_serial = 0;

  // ---- lookups ----

  int at(const std::string& address) const {
    auto it = by_address.find(address);
    return it == by_address.end() ? kNone : it->second;
  }
  int withId(const std::string& id) const {
    // Pipelines name the same node thousands of times in a row.
    if (id == last_id) return last_id_index;
    auto it = by_id.find(id);
    if (it == by_id.end()) return kNone;
    last_id = id;
    last_id_index = it->second;
    return it->second;
  }
  mutable std::string last_id;
  mutable int last_id_index = kNone;
  const Node* find(const std::string& address) const {
    int n = at(address);
    return n == kNone ? nullptr : &nodes[static_cast<size_t>(n)];
  }
  Node& node(int n) { return nodes[static_cast<size_t>(n)]; }
  const Node& node(int n) const { return nodes[static_cast<size_t>(n)]; }
  int indexOf(const Node& n) const { return static_cast<int>(&n - nodes.data()); }
  std::string idOrEmpty(int n) const { return n == kNone ? "" : node(n).id; }

  void touch() {
    dirty = true;
    ++generation;
  }

  // ---- one node's view ----

  // The node `id` names, if `me` knows it (itself included).
  int knownWithId(const Node& me, const std::string& id) const {
    int x = withId(id);
    if (x == kNone) return kNone;
    if (x == indexOf(me) || me.peers.count(x) > 0) return x;
    return kNone;
  }
  bool masterInView(const Node& me, int x) const {
    if (x == indexOf(me)) return me.master == kNone;
    auto it = me.peers.find(x);
    return it != me.peers.end() && it->second.master == kNone;
  }
  int64_t epochInView(const Node& me, int x) const {
    if (x == indexOf(me)) return me.config_epoch;
    auto it = me.peers.find(x);
    return it == me.peers.end() ? 0 : it->second.config_epoch;
  }
  std::string addressInView(const Node& me, int x) const {
    if (x == indexOf(me)) return me.address;
    auto it = me.peers.find(x);
    return it == me.peers.end() ? node(x).address : it->second.address;
  }
  int slotsInView(const Node& me, int x) const {
    if (x == indexOf(me)) return me.own_slots;
    return static_cast<int>(std::count(me.owners.begin(), me.owners.end(), x));
  }
  void setOwner(Node& me, int slot, int owner) {
    int& current = me.owners[static_cast<size_t>(slot)];
    if (current == owner) return;
    const int self = indexOf(me);
    if (current == self) --me.own_slots;
    if (owner == self) ++me.own_slots;
    current = owner;
    ++me.version;
    ++generation;
  }
  Peer selfReport(int x) const {
    const Node& s = node(x);
    return {s.address, s.master, s.config_epoch, false};
  }
  int64_t maxEpoch(const Node& me) const {
    int64_t max = std::max(me.current_epoch, me.config_epoch);
    for (const auto& [x, peer] : me.peers) max = std::max(max, peer.config_epoch);
    return max;
  }
  // CLUSTER BUMPEPOCH: a new epoch unless this node's is already the unique maximum.
  bool bumpEpoch(Node& me) {
    const int64_t max = maxEpoch(me);
    if (me.config_epoch != 0 && me.config_epoch == max) return false;
    me.current_epoch = max + 1;
    me.config_epoch = me.current_epoch;
    ++me.version;
    touch();
    return true;
  }
  // Per node index: whether `me` can count on it to serve its slots (itself, or a known peer
  // not flagged as failing).
  std::vector<char> healthyInView(const Node& me) const {
    std::vector<char> healthy(nodes.size(), 0);
    healthy[static_cast<size_t>(indexOf(me))] = 1;
    for (const auto& [x, peer] : me.peers) healthy[static_cast<size_t>(x)] = peer.failed ? 0 : 1;
    return healthy;
  }
  bool clusterStateOk(Node& me) {
    if (me.state_generation == generation) return me.state_ok;
    const std::vector<char> healthy = healthyInView(me);
    const char* healthy_at = healthy.data();
    const int* owners = me.owners.data();
    bool ok = true;
    for (int s = 0; s < kSlotCount; ++s) {
      if (owners[s] == kNone || !healthy_at[owners[s]]) {
        ok = false;
        break;
      }
    }
    me.state_generation = generation;
    me.state_ok = ok;
    return ok;
  }
  bool allowsReplicaMigration(const Node& me) const {
    auto it = me.config.find("cluster-allow-replica-migration");
    return it == me.config.end() || it->second != "no";
  }

  // ---- key space (a master's writes reach its replicas at once) ----

  static int64_t countKeys(const Node& me, int slot) {
    auto it = me.keys.find(slot);
    return it == me.keys.end() ? 0 : static_cast<int64_t>(it->second.size());
  }
  static const std::string* findKey(const Node& me, const std::string& key) {
    auto slot = me.keys.find(redis::keyHashSlot(key));
    if (slot == me.keys.end()) return nullptr;
    auto it = slot->second.find(key);
    return it == slot->second.end() ? nullptr : &it->second;
  }
  static void setLocal(Node& me, int slot, const std::string& key, const std::string& value) {
    auto [it, inserted] = me.keys[slot].insert_or_assign(key, value);
    if (inserted) ++me.key_count;
  }
  static void eraseLocal(Node& me, int slot, const std::string& key) {
    auto it = me.keys.find(slot);
    if (it == me.keys.end()) return;
    if (it->second.erase(key) > 0) --me.key_count;
    if (it->second.empty()) me.keys.erase(it);
  }
  std::vector<int> replicasOf(int m) const {
    std::vector<int> out;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].master == m) out.push_back(static_cast<int>(i));
    }
    return out;
  }
  void store(int n, int slot, const std::string& key, const std::string& value) {
    setLocal(node(n), slot, key, value);
    for (int r : replicasOf(n)) setLocal(node(r), slot, key, value);
  }
  void erase(int n, int slot, const std::string& key) {
    eraseLocal(node(n), slot, key);
    for (int r : replicasOf(n)) eraseLocal(node(r), slot, key);
  }
  void eraseSlotKeys(int n, int slot) {
    std::vector<std::string> doomed;
    auto it = node(n).keys.find(slot);
    if (it == node(n).keys.end()) return;
    for (const auto& [key, value] : it->second) doomed.push_back(key);
    for (const auto& key : doomed) erase(n, slot, key);
  }
  static void flush(Node& me) {
    me.keys.clear();
    me.key_count = 0;
  }
  // The node follows `m` and takes a full copy of its data set.
  void becomeReplica(int n, int m) {
    Node& me = node(n);
    me.master = m;
    me.migrating.clear();
    me.importing.clear();
    me.keys = node(m).keys;
    me.key_count = node(m).key_count;
    ++me.version;
    touch();
  }

  // ---- membership ----

  void link(int a, int b) {
    if (a == b) return;
    Node& na = node(a);
    Node& nb = node(b);
    na.peers[b] = selfReport(b);
    nb.peers[a] = selfReport(a);
    na.banned.erase(b);
    nb.banned.erase(a);
    std::erase_if(na.handshakes, [&](const Handshake& h) { return h.address == nb.address; });
    std::erase_if(nb.handshakes, [&](const Handshake& h) { return h.address == na.address; });
    const int64_t epoch = std::max(na.current_epoch, nb.current_epoch);
    na.current_epoch = epoch;
    nb.current_epoch = epoch;
    ++na.version;
    ++nb.version;
    touch();
  }
  void forgetNode(Node& me, int x) {
    me.peers.erase(x);
    for (int s = 0; s < kSlotCount; ++s) {
      if (me.owners[static_cast<size_t>(s)] == x) setOwner(me, s, kNone);
    }
    std::erase_if(me.migrating, [&](const auto& entry) { return entry.second == x; });
    std::erase_if(me.importing, [&](const auto& entry) { return entry.second == x; });
    me.banned.insert(x);
    ++me.version;
    touch();
  }
  void resetSoft(Node& me) {
    me.peers.clear();
    me.handshakes.clear();
    me.banned.clear();
    for (int s = 0; s < kSlotCount; ++s) setOwner(me, s, kNone);
    me.migrating.clear();
    me.importing.clear();
    if (me.master != kNone) {
      me.master = kNone;
      flush(me);
    }
    me.heard.clear();
    ++me.version;
    touch();
  }

  // ---- gossip ----

  void advanceHandshakes() {
    std::vector<std::pair<int, int>> completed;
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node& me = nodes[i];
      if (!me.reachable) continue;
      for (Handshake& h : me.handshakes) {
        if (h.rounds_left > 0) --h.rounds_left;
        int t = at(h.address);
        if (h.rounds_left == 0 && t != kNone && t != static_cast<int>(i) && node(t).reachable) {
          completed.emplace_back(static_cast<int>(i), t);
        }
      }
    }
    for (auto [a, b] : completed) link(a, b);
  }

  // The slots node `i` claims in its own view (a master's own slots), kept up to date.
  const std::vector<int>& claimsOf(int i) {
    Node& s = node(i);
    if (s.claims_version != s.version) {
      s.claims.clear();
      const int* owners = s.owners.data();
      for (int slot = 0; slot < kSlotCount; ++slot) {
        if (owners[slot] == i) s.claims.push_back(slot);
      }
      s.claims_version = s.version;
    }
    return s.claims;
  }

  // Redis's clusterUpdateSlotsConfigWith: node `r` hears master `x` claim `claimed`.
  bool applyClaims(int r, int x, const std::vector<int>& claimed) {
    Node& me = node(r);
    const int64_t epoch = node(x).config_epoch;
    const int cur_master = me.master == kNone ? r : me.master;
    bool lost_to_sender = false;
    int migrated_ours = 0;
    bool changed = false;
    std::vector<int> dirty_slots;
    std::vector<int64_t> epochs(nodes.size(), 0);
    epochs[static_cast<size_t>(r)] = me.config_epoch;
    for (const auto& [id, peer] : me.peers) epochs[static_cast<size_t>(id)] = peer.config_epoch;
    const int* owners = me.owners.data();
    const int64_t* epoch_of = epochs.data();
    for (int slot : claimed) {
      const int cur = owners[slot];
      if (cur == x) continue;
      if (cur != kNone && epoch_of[cur] >= epoch) continue;
      if (!me.importing.empty() && me.importing.count(slot) > 0) continue;
      if (cur == r && countKeys(me, slot) > 0) dirty_slots.push_back(slot);
      if (cur == cur_master) {
        lost_to_sender = true;
        ++migrated_ours;
      }
      setOwner(me, slot, x);
      changed = true;
    }
    if (lost_to_sender && slotsInView(me, cur_master) == 0 &&
        (allowsReplicaMigration(me) || migrated_ours == static_cast<int>(claimed.size()))) {
      // A master left without slots was failed over (or drained): it follows the new owner.
      becomeReplica(r, x);
    } else {
      // Keys in a slot this node lost to a newer claim are deleted, as Redis does.
      for (int slot : dirty_slots) eraseSlotKeys(r, slot);
    }
    return changed;
  }

  // Node `r` exchanges a ping/pong with peer `x`.
  bool hear(int r, int x, const std::vector<int>& claimed, uint64_t claims_version) {
    Node& me = node(r);
    const Node& sender = node(x);
    bool changed = false;
    Peer& peer = me.peers[x];
    // `r` reaches `x` at the address it knows, or `x` (knowing `r`) reaches out itself.
    const bool contact =
        sender.reachable && (peer.address == sender.address || sender.peers.count(r) > 0);
    if (!contact) {
      if (!peer.failed) {
        peer.failed = true;
        ++me.version;
        ++generation;
        changed = true;
      }
      return changed;
    }
    Peer fresh = selfReport(x);
    if (peer.address != fresh.address || peer.master != fresh.master ||
        peer.config_epoch != fresh.config_epoch || peer.failed) {
      if (peer.failed) ++generation;
      peer = fresh;
      ++me.version;
      changed = true;
    }
    const int64_t epoch = std::max(sender.current_epoch, sender.config_epoch);
    if (epoch > me.current_epoch) {
      me.current_epoch = epoch;
      changed = true;
    }
    // Membership: the peers of a peer, unless forgotten here; the handshake needs them up.
    std::vector<int> introduced;
    for (const auto& [y, known] : sender.peers) {
      if (y == r || me.peers.count(y) > 0 || me.banned.count(y) > 0) continue;
      const Node& other = node(y);
      if (!other.reachable || other.address != known.address) continue;
      introduced.push_back(y);
    }
    for (int y : introduced) {
      link(r, y);
      changed = true;
    }
    // Two masters with one config epoch: the one with the smaller id takes a new epoch.
    if (me.master == kNone && sender.master == kNone && me.config_epoch == sender.config_epoch &&
        sender.id > me.id) {
      me.current_epoch = std::max(me.current_epoch, maxEpoch(me)) + 1;
      me.config_epoch = me.current_epoch;
      ++me.version;
      ++generation;
      changed = true;
    }
    if (sender.master != kNone) return changed;
    // Applying the same claims to an unchanged view again cannot change it.
    auto& last = me.heard[x];
    if (last.first == claims_version && last.second == me.version) return changed;
    if (applyClaims(r, x, claimed)) changed = true;
    last = {claims_version, node(r).version};
    return changed;
  }

  bool gossipOnce() {
    // Every master's claims as of the start of the round.
    std::vector<std::vector<int>> claimed(nodes.size());
    std::vector<uint64_t> claimed_versions(nodes.size(), 0);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& s = nodes[i];
      if (!s.reachable || s.master != kNone) continue;
      claimed[i] = claimsOf(static_cast<int>(i));
      claimed_versions[i] = s.version;
    }
    bool changed = false;
    for (size_t r = 0; r < nodes.size(); ++r) {
      if (!nodes[r].reachable) continue;
      std::vector<int> peers;
      for (const auto& [x, peer] : nodes[r].peers) peers.push_back(x);
      for (int x : peers) {
        if (nodes[r].peers.count(x) == 0) continue;
        const auto sx = static_cast<size_t>(x);
        if (hear(static_cast<int>(r), x, claimed[sx], claimed_versions[sx])) changed = true;
      }
    }
    if (changed) ++generation;
    return changed;
  }

  void gossipToFixedPoint() {
    for (int round = 0; round < kMaxGossipRounds; ++round) {
      if (!gossipOnce()) break;
    }
    dirty = false;
  }

  // The global truth of every slot as node indices (see ownerOf).
  std::vector<int> truth() const {
    std::vector<int> best(kSlotCount, kNone);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& node = nodes[i];
      if (node.master != kNone || node.own_slots == 0) continue;
      for (int s = 0; s < kSlotCount; ++s) {
        if (node.owners[static_cast<size_t>(s)] != static_cast<int>(i)) continue;
        int& current = best[static_cast<size_t>(s)];
        if (current == kNone || beats(node, nodes[static_cast<size_t>(current)])) {
          current = static_cast<int>(i);
        }
      }
    }
    return best;
  }
  // Of two masters claiming a slot, the one gossip settles on.
  static bool beats(const Node& a, const Node& b) {
    if (a.config_epoch != b.config_epoch) return a.config_epoch > b.config_epoch;
    return a.address < b.address;
  }

  // ---- faults and log ----

  std::optional<CommandFault> faultFor(const std::string& address, const Command& cmd) {
    if (hook) {
      if (auto fault = hook(address, cmd)) return fault;
    }
    for (ActiveFault& active : faults) {
      const FaultSpec& spec = active.spec;
      if (!spec.address.empty() && spec.address != address) continue;
      if (!startsWithWords(cmd, spec.words)) continue;
      const int index = active.matched++;
      if (index < spec.skip) continue;
      if (spec.times >= 0 && index >= spec.skip + spec.times) continue;
      return spec.fault;
    }
    return std::nullopt;
  }

  void record(const std::string& address, const Command& cmd) {
    LogEntry& entry = log.emplace_back();
    entry.address = address;
    const size_t words = std::min(cmd.size(), kLoggedWords);
    for (size_t i = 0; i < words; ++i) {
      if (i > 0) entry.words += kWordSeparator;
      entry.words += cmd[i];
    }
    if (cmd.size() > kLoggedWords) entry.words += std::string(1, kWordSeparator) + "...";
  }

  // ---- rendering ----

  std::string renderNodes(int n) const {
    const Node& me = node(n);
    std::map<int, std::vector<std::pair<int, int>>> ranges;
    for (int s = 0; s < kSlotCount;) {
      const int owner = me.owners[static_cast<size_t>(s)];
      int e = s;
      while (e + 1 < kSlotCount && me.owners[static_cast<size_t>(e + 1)] == owner) ++e;
      if (owner != kNone) ranges[owner].emplace_back(s, e);
      s = e + 1;
    }
    auto slotFields = [&](int x) {
      std::string out;
      auto it = ranges.find(x);
      if (it == ranges.end()) return out;
      for (auto [first, last] : it->second) {
        out += ' ' + std::to_string(first);
        if (last != first) out += '-' + std::to_string(last);
      }
      return out;
    };
    auto epochOf = [&](int x, int master) {
      return master == kNone ? epochInView(me, x) : epochInView(me, master);
    };
    std::string text;
    // myself
    text += me.id + ' ' + busAddress(me.address) + ' ' +
            (me.master == kNone ? "myself,master" : "myself,slave") + ' ' +
            (me.master == kNone ? "-" : node(me.master).id) + " 0 0 " +
            std::to_string(epochOf(n, me.master)) + " connected" + slotFields(n);
    for (const auto& [slot, dest] : me.migrating) {
      text += " [" + std::to_string(slot) + "->-" + node(dest).id + "]";
    }
    for (const auto& [slot, source] : me.importing) {
      text += " [" + std::to_string(slot) + "-<-" + node(source).id + "]";
    }
    text += '\n';
    for (const auto& [x, peer] : me.peers) {
      const Node& other = node(x);
      std::string flags = peer.master == kNone ? "master" : "slave";
      if (peer.failed) flags += ",fail";
      const bool connected = other.reachable && other.address == peer.address;
      text += other.id + ' ' + busAddress(peer.address) + ' ' + flags + ' ' +
              (peer.master == kNone ? "-" : node(peer.master).id) + " 0 1 " +
              std::to_string(epochOf(x, peer.master)) + ' ' +
              (connected ? "connected" : "disconnected") + slotFields(x) + '\n';
    }
    for (const Handshake& h : me.handshakes) {
      text += h.temp_id + ' ' + busAddress(h.address) + " handshake - 0 0 0 disconnected\n";
    }
    return text;
  }

  std::string renderClusterInfo(int n) {
    Node& me = node(n);
    int assigned = 0;
    int failing = 0;
    const std::vector<char> healthy = healthyInView(me);
    std::vector<char> sized(nodes.size(), 0);
    for (int owner : me.owners) {
      if (owner == kNone) continue;
      ++assigned;
      sized[static_cast<size_t>(owner)] = 1;
      if (!healthy[static_cast<size_t>(owner)]) ++failing;
    }
    std::string text;
    auto field = [&](const std::string& key, const std::string& value) {
      text += key + ':' + value + "\r\n";
    };
    field("cluster_enabled", "1");
    field("cluster_state", clusterStateOk(me) ? "ok" : "fail");
    field("cluster_slots_assigned", std::to_string(assigned));
    field("cluster_slots_ok", std::to_string(assigned - failing));
    field("cluster_slots_pfail", "0");
    field("cluster_slots_fail", std::to_string(failing));
    field("cluster_known_nodes", std::to_string(1 + me.peers.size() + me.handshakes.size()));
    field("cluster_size", std::to_string(std::count(sized.begin(), sized.end(), 1)));
    field("cluster_current_epoch", std::to_string(std::max(me.current_epoch, me.config_epoch)));
    field("cluster_my_epoch", std::to_string(me.config_epoch));
    return text;
  }

  std::string renderReplication(int n) const {
    const Node& me = node(n);
    std::string text = "# Replication\r\n";
    auto field = [&](const std::string& key, const std::string& value) {
      text += key + ':' + value + "\r\n";
    };
    if (me.master == kNone) {
      std::vector<int> replicas;
      for (int r : replicasOf(n)) {
        if (node(r).reachable) replicas.push_back(r);
      }
      field("role", "master");
      field("connected_slaves", std::to_string(replicas.size()));
      for (size_t i = 0; i < replicas.size(); ++i) {
        auto [ip, port] = splitHostPort(node(replicas[i]).address);
        field("slave" + std::to_string(i),
              "ip=" + ip + ",port=" + std::to_string(port) +
                  ",state=online,offset=" + std::to_string(node(replicas[i]).key_count) + ",lag=0");
      }
      field("master_repl_offset", std::to_string(me.key_count));
      return text;
    }
    const Node& master = node(me.master);
    auto [ip, port] = splitHostPort(master.address);
    const bool up = master.reachable;
    field("role", "slave");
    field("master_host", ip);
    field("master_port", std::to_string(port));
    field("master_link_status", up ? "up" : "down");
    field("master_last_io_seconds_ago", up ? "0" : "-1");
    field("master_sync_in_progress", "0");
    field("slave_repl_offset", std::to_string(me.key_count));
    field("slave_priority", "100");
    field("slave_read_only", "1");
    field("connected_slaves", "0");
    field("master_repl_offset", std::to_string(me.key_count));
    return text;
  }

  // ---- commands ----

  // Redis's getNodeByQuery for one slot: nullopt when this node serves the command, else the
  // redirect or error to answer with.
  std::optional<Reply> route(int n, int slot, bool asking, bool key_missing, bool is_migrate) {
    Node& me = node(n);
    const int owner = me.owners[static_cast<size_t>(slot)];
    if (owner == kNone) return err("CLUSTERDOWN Hash slot not served");
    if (!clusterStateOk(me)) return err("CLUSTERDOWN The cluster is down");
    const bool migrating = owner == n && me.migrating.count(slot) > 0;
    const bool importing = !migrating && me.importing.count(slot) > 0;
    if (is_migrate && (migrating || importing)) return std::nullopt;
    if (migrating && key_missing) {
      return err("ASK " + std::to_string(slot) + ' ' + addressInView(me, me.migrating.at(slot)));
    }
    if (importing && asking) return std::nullopt;
    if (owner != n) return err("MOVED " + std::to_string(slot) + ' ' + addressInView(me, owner));
    return std::nullopt;
  }

  Reply run(int n, const Command& cmd, bool* asking) {
    if (cmd.empty()) return err("ERR empty command");
    const bool was_asking = *asking;
    *asking = false;
    const std::string& name = cmd[0];
    if (is(name, "CLUSTER")) return cluster(n, cmd);
    if (is(name, "ASKING")) {
      *asking = true;
      return ok();
    }
    if (is(name, "PING")) return Reply::status("PONG");
    if (is(name, "AUTH")) return ok();
    if (is(name, "DBSIZE")) return Reply::integerReply(node(n).key_count);
    if (is(name, "INFO")) return info(n, cmd);
    if (is(name, "CONFIG")) return config(n, cmd);
    if (is(name, "CLIENT")) return client(cmd);
    if (is(name, "MIGRATE")) return migrate(n, cmd);
    if (is(name, "DUMP") || is(name, "GET")) return read(n, cmd, was_asking, is(name, "DUMP"));
    if (is(name, "SET")) return write(n, cmd, was_asking);
    if (is(name, "DEL")) return remove(n, cmd, was_asking);
    return unknownCommand(cmd);
  }

  static Reply unknownCommand(const Command& cmd) {
    return err("ERR unknown command '" + joinWords(cmd, cmd.size() > 1 ? 2 : 1) +
               "' (FakeRedisCluster does not model it)");
  }

  Reply info(int n, const Command& cmd) {
    const std::string section = cmd.size() > 1 ? upper(cmd[1]) : "DEFAULT";
    if (section == "REPLICATION" || section == "DEFAULT" || section == "ALL" ||
        section == "EVERYTHING") {
      return Reply::string(renderReplication(n));
    }
    if (section == "MEMORY") {
      // A model: 100 bytes per key; maxmemory as set by CONFIG SET (plain bytes).
      const Node& me = node(n);
      auto max = me.config.find("maxmemory");
      return Reply::string("# Memory\r\nused_memory:" + std::to_string(me.key_count * 100) +
                           "\r\nmaxmemory:" + (max == me.config.end() ? "0" : max->second) +
                           "\r\n");
    }
    if (section == "KEYSPACE") {
      const int64_t keys = node(n).key_count;
      return Reply::string(keys == 0 ? "# Keyspace\r\n"
                                     : "# Keyspace\r\ndb0:keys=" + std::to_string(keys) +
                                           ",expires=0,avg_ttl=0\r\n");
    }
    return Reply::string("");
  }

  Reply config(int n, const Command& cmd) {
    if (cmd.size() < 2) return wrongArgs("config");
    const std::string sub = upper(cmd[1]);
    Node& me = node(n);
    if (sub == "SET") {
      if (cmd.size() < 4 || cmd.size() % 2 != 0) return wrongArgs("config|set");
      for (size_t i = 2; i + 1 < cmd.size(); i += 2) {
        std::string key = cmd[i];
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        me.config[key] = cmd[i + 1];
      }
      ++me.version;
      return ok();
    }
    if (sub == "GET") {
      if (cmd.size() != 3) return wrongArgs("config|get");
      auto it = me.config.find(cmd[2]);
      if (it == me.config.end()) return array({});
      return array({Reply::string(it->first), Reply::string(it->second)});
    }
    return unknownCommand(cmd);
  }

  static Reply client(const Command& cmd) {
    if (cmd.size() < 2) return wrongArgs("client");
    const std::string sub = upper(cmd[1]);
    if (sub == "SETNAME") return cmd.size() == 3 ? ok() : wrongArgs("client|setname");
    return unknownCommand(cmd);
  }

  Reply read(int n, const Command& cmd, bool asking, bool dump) {
    if (cmd.size() != 2) return wrongArgs(dump ? "dump" : "get");
    const std::string* value = findKey(node(n), cmd[1]);
    if (auto redirect = route(n, redis::keyHashSlot(cmd[1]), asking, value == nullptr, false)) {
      return *redirect;
    }
    if (value == nullptr) return Reply{};
    return Reply::string(*value);
  }

  Reply write(int n, const Command& cmd, bool asking) {
    if (cmd.size() != 3) return wrongArgs("set");
    const int slot = redis::keyHashSlot(cmd[1]);
    const bool missing = findKey(node(n), cmd[1]) == nullptr;
    if (auto redirect = route(n, slot, asking, missing, false)) return *redirect;
    store(n, slot, cmd[1], cmd[2]);
    return ok();
  }

  // DEL of one key, routed like a write; the count of keys removed.
  Reply remove(int n, const Command& cmd, bool asking) {
    if (cmd.size() != 2) return wrongArgs("del");
    const int slot = redis::keyHashSlot(cmd[1]);
    const bool missing = findKey(node(n), cmd[1]) == nullptr;
    if (auto redirect = route(n, slot, asking, missing, false)) return *redirect;
    if (missing) return Reply::integerReply(0);
    erase(n, slot, cmd[1]);
    return Reply::integerReply(1);
  }

  // MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k...]
  Reply migrate(int n, const Command& cmd) {
    if (cmd.size() < 6) return wrongArgs("migrate");
    auto port = parseInt(cmd[2]);
    if (!port || !parseInt(cmd[4]) || !parseInt(cmd[5])) {
      return err("ERR value is not an integer or out of range");
    }
    bool copy = false;
    bool replace = false;
    std::vector<std::string> keys;
    for (size_t i = 6; i < cmd.size(); ++i) {
      const std::string word = upper(cmd[i]);
      if (word == "COPY") {
        copy = true;
      } else if (word == "REPLACE") {
        replace = true;
      } else if (word == "AUTH" && i + 1 < cmd.size()) {
        ++i;
      } else if (word == "AUTH2" && i + 2 < cmd.size()) {
        i += 2;
      } else if (word == "KEYS") {
        if (!cmd[3].empty()) {
          return err(
              "ERR When using MIGRATE KEYS option, the key argument must be set to the empty "
              "string");
        }
        keys.assign(cmd.begin() + static_cast<std::ptrdiff_t>(i + 1), cmd.end());
        break;
      } else {
        return err("ERR syntax error");
      }
    }
    if (!cmd[3].empty()) keys = {cmd[3]};
    if (keys.empty()) return Reply::status("NOKEY");
    const int slot = redis::keyHashSlot(keys.front());
    for (const auto& key : keys) {
      if (redis::keyHashSlot(key) != slot) {
        return err("CROSSSLOT Keys in request don't hash to the same slot");
      }
    }
    Node& me = node(n);
    std::vector<std::pair<std::string, std::string>> present;
    for (const auto& key : keys) {
      if (const std::string* value = findKey(me, key)) present.emplace_back(key, *value);
    }
    if (auto redirect = route(n, slot, false, present.size() < keys.size(), true)) {
      return *redirect;
    }
    if (present.empty()) return Reply::status("NOKEY");
    const int t = at(cmd[1] + ':' + cmd[2]);
    if (t == kNone || !node(t).reachable) {
      return err("IOERR error or timeout connecting to the client");
    }
    // The destination runs RESTORE-ASKING: it must serve the slot or be importing it, and a
    // destination that is MIGRATING the slot itself answers ASK for a key it does not have.
    const bool missing_on_target = std::any_of(present.begin(), present.end(), [&](const auto& kv) {
      return findKey(node(t), kv.first) == nullptr;
    });
    if (auto refused = route(t, slot, true, missing_on_target, false)) {
      return err("ERR Target instance replied with error: " + refused->str);
    }
    std::optional<std::string> target_error;
    for (const auto& [key, value] : present) {
      if (findKey(node(t), key) != nullptr && !replace) {
        if (!target_error) target_error = "BUSYKEY Target key name already exists.";
        continue;
      }
      store(t, slot, key, value);
      if (!copy) erase(n, slot, key);
    }
    if (target_error) return err("ERR Target instance replied with error: " + *target_error);
    return ok();
  }

  Reply cluster(int n, const Command& cmd) {
    if (cmd.size() < 2) return wrongArgs("cluster");
    const std::string& sub = cmd[1];
    Node& me = node(n);
    if (is(sub, "SETSLOT")) return setSlot(n, cmd);
    if (is(sub, "NODES")) return Reply::string(renderNodes(n));
    if (is(sub, "INFO")) return Reply::string(renderClusterInfo(n));
    if (is(sub, "MYID")) return Reply::string(me.id);
    if (is(sub, "MEET")) return meet(n, cmd);
    if (is(sub, "ADDSLOTS") || is(sub, "ADDSLOTSRANGE") || is(sub, "DELSLOTS") ||
        is(sub, "DELSLOTSRANGE")) {
      return changeSlots(n, cmd, is(sub, "ADDSLOTS") || is(sub, "ADDSLOTSRANGE"),
                         is(sub, "ADDSLOTSRANGE") || is(sub, "DELSLOTSRANGE"));
    }
    if (is(sub, "GETKEYSINSLOT")) {
      if (cmd.size() != 4) return wrongArgs("cluster|getkeysinslot");
      auto slot = parseSlot(cmd[2]);
      auto count = parseInt(cmd[3]);
      if (!slot) return err("ERR Invalid slot");
      if (!count || *count < 0) return err("ERR Invalid number of keys");
      std::vector<Reply> out;
      auto it = me.keys.find(*slot);
      if (it != me.keys.end()) {
        for (const auto& [key, value] : it->second) {
          if (static_cast<int64_t>(out.size()) >= *count) break;
          out.push_back(Reply::string(key));
        }
      }
      return array(std::move(out));
    }
    if (is(sub, "COUNTKEYSINSLOT")) {
      if (cmd.size() != 3) return wrongArgs("cluster|countkeysinslot");
      auto slot = parseSlot(cmd[2]);
      if (!slot) return err("ERR Invalid slot");
      return Reply::integerReply(countKeys(me, *slot));
    }
    if (is(sub, "KEYSLOT")) {
      if (cmd.size() != 3) return wrongArgs("cluster|keyslot");
      return Reply::integerReply(redis::keyHashSlot(cmd[2]));
    }
    if (is(sub, "REPLICATE")) return replicate(n, cmd);
    if (is(sub, "FORGET")) {
      if (cmd.size() != 3) return wrongArgs("cluster|forget");
      const int x = withId(cmd[2]);
      if (x == n) return err("ERR I tried hard but I can't forget myself...");
      if (x == kNone || me.peers.count(x) == 0) return err("ERR Unknown node " + cmd[2]);
      if (me.master == x) return err("ERR Can't forget my master!");
      forgetNode(me, x);
      return ok();
    }
    if (is(sub, "RESET")) {
      const std::string mode = cmd.size() > 2 ? upper(cmd[2]) : "SOFT";
      if (cmd.size() > 3 || (mode != "SOFT" && mode != "HARD")) return err("ERR syntax error");
      if (mode == "HARD") return err("ERR CLUSTER RESET HARD (FakeRedisCluster does not model it)");
      if (me.master == kNone && me.key_count > 0) {
        return err("ERR CLUSTER RESET can't be called with master nodes containing keys");
      }
      resetSoft(me);
      return ok();
    }
    if (is(sub, "BUMPEPOCH")) {
      const bool bumped = bumpEpoch(me);
      return Reply::status((bumped ? "BUMPED " : "STILL ") + std::to_string(me.config_epoch));
    }
    if (is(sub, "FAILOVER")) return failover(n, cmd);
    if (is(sub, "SAVECONFIG")) return ok();
    return err("ERR unknown subcommand '" + cmd[1] + "'. Try CLUSTER HELP. (CLUSTER " + upper(sub) +
               " is not modelled by FakeRedisCluster)");
  }

  Reply meet(int n, const Command& cmd) {
    if (cmd.size() != 4 && cmd.size() != 5) return wrongArgs("cluster|meet");
    auto port = parseInt(cmd[3]);
    if (!port || *port <= 0 || *port > 65535) {
      return err("ERR Invalid base port specified: " + cmd[3]);
    }
    if (cmd[2].empty()) return err("ERR Invalid node address specified: :" + cmd[3]);
    const std::string address = cmd[2] + ':' + std::to_string(*port);
    const int t = at(address);
    Node& me = node(n);
    if (t == n) return ok();
    if (t != kNone) {
      auto known = me.peers.find(t);
      if (known != me.peers.end() && known->second.address == address) return ok();
      if (options.meet_rounds == 0 && node(t).reachable) {
        link(n, t);
        return ok();
      }
    }
    const bool pending = std::any_of(me.handshakes.begin(), me.handshakes.end(),
                                     [&](const Handshake& h) { return h.address == address; });
    if (!pending) {
      ++handshake_serial;
      me.handshakes.push_back({address, options.meet_rounds,
                               hex(fnv1a("handshake/" + std::to_string(handshake_serial)), 16) +
                                   hex(handshake_serial, 24)});
    }
    touch();
    return ok();
  }

  Reply changeSlots(int n, const Command& cmd, bool add, bool range) {
    const std::string name =
        "cluster|" + std::string(add ? "addslots" : "delslots") + (range ? "range" : "");
    std::vector<int> slots;
    if (range) {
      if (cmd.size() < 4 || (cmd.size() - 2) % 2 != 0) return wrongArgs(name);
      for (size_t i = 2; i + 1 < cmd.size(); i += 2) {
        auto first = parseSlot(cmd[i]);
        auto last = parseSlot(cmd[i + 1]);
        if (!first || !last) return err("ERR Invalid or out of range slot");
        if (*first > *last) {
          return err("ERR start slot number " + std::to_string(*first) +
                     " is greater than end slot number " + std::to_string(*last));
        }
        for (int s = *first; s <= *last; ++s) slots.push_back(s);
      }
    } else {
      if (cmd.size() < 3) return wrongArgs(name);
      for (size_t i = 2; i < cmd.size(); ++i) {
        auto slot = parseSlot(cmd[i]);
        if (!slot) return err("ERR Invalid or out of range slot");
        slots.push_back(*slot);
      }
    }
    Node& me = node(n);
    std::vector<bool> seen(kSlotCount, false);
    for (int s : slots) {
      if (seen[static_cast<size_t>(s)]) {
        return err("ERR Slot " + std::to_string(s) + " specified multiple times");
      }
      seen[static_cast<size_t>(s)] = true;
      const bool assigned = me.owners[static_cast<size_t>(s)] != kNone;
      if (add && assigned) return err("ERR Slot " + std::to_string(s) + " is already busy");
      if (!add && !assigned) {
        return err("ERR Slot " + std::to_string(s) + " is already unassigned");
      }
    }
    for (int s : slots) {
      setOwner(me, s, add ? n : kNone);
      if (add) me.importing.erase(s);
    }
    ++me.version;
    touch();
    return ok();
  }

  Reply setSlot(int n, const Command& cmd) {
    if (cmd.size() < 4) return wrongArgs("cluster|setslot");
    Node& me = node(n);
    if (me.master != kNone) return err("ERR Please use SETSLOT only with masters.");
    auto slot_arg = parseSlot(cmd[2]);
    if (!slot_arg) return err("ERR Invalid or out of range slot");
    const int slot = *slot_arg;
    const std::string& action = cmd[3];
    const int owner = me.owners[static_cast<size_t>(slot)];
    auto target = [&](const char* unknown_prefix) -> std::pair<int, std::optional<Reply>> {
      const int t = knownWithId(me, cmd[4]);
      if (t == kNone) return {kNone, err(std::string(unknown_prefix) + cmd[4])};
      if (!masterInView(me, t)) return {kNone, err("ERR Target node is not a master")};
      return {t, std::nullopt};
    };
    if (is(action, "MIGRATING") && cmd.size() == 5) {
      if (owner != n) return err("ERR I'm not the owner of hash slot " + std::to_string(slot));
      auto [t, error] = target("ERR I don't know about node ");
      if (error) return *error;
      me.migrating[slot] = t;
    } else if (is(action, "IMPORTING") && cmd.size() == 5) {
      if (owner == n) {
        return err("ERR I'm already the owner of hash slot " + std::to_string(slot));
      }
      auto [t, error] = target("ERR I don't know about node ");
      if (error) return *error;
      me.importing[slot] = t;
    } else if (is(action, "STABLE") && cmd.size() == 4) {
      me.migrating.erase(slot);
      me.importing.erase(slot);
    } else if (is(action, "NODE") && cmd.size() == 5) {
      auto [t, error] = target("ERR Unknown node ");
      if (error) return *error;
      const int64_t keys = countKeys(me, slot);
      if (owner == n && t != n && keys > 0) {
        return err("ERR Can't assign hashslot " + std::to_string(slot) +
                   " to a different node while I still hold keys for this hash slot.");
      }
      if (t != n && keys == 0) me.migrating.erase(slot);
      if (t == n && me.importing.count(slot) > 0) {
        bumpEpoch(me);
        me.importing.erase(slot);
      }
      setOwner(me, slot, t);
      if (owner == n && t != n && me.own_slots == 0 && allowsReplicaMigration(me)) {
        becomeReplica(n, t);
      }
    } else {
      return err("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
    }
    ++me.version;
    touch();
    return ok();
  }

  Reply replicate(int n, const Command& cmd) {
    if (cmd.size() != 3) return wrongArgs("cluster|replicate");
    Node& me = node(n);
    const int m = knownWithId(me, cmd[2]);
    if (m == kNone) return err("ERR Unknown node " + cmd[2]);
    if (m == n) return err("ERR Can't replicate myself");
    if (!masterInView(me, m)) return err("ERR I can only replicate a master, not a replica.");
    if (me.master == kNone && (me.own_slots > 0 || me.key_count > 0)) {
      return err("ERR To set a master the node must be empty and without assigned slots.");
    }
    becomeReplica(n, m);
    return ok();
  }

  Reply failover(int n, const Command& cmd) {
    const std::string mode = cmd.size() > 2 ? upper(cmd[2]) : "";
    if (cmd.size() > 3 || (!mode.empty() && mode != "FORCE" && mode != "TAKEOVER")) {
      return err("ERR syntax error");
    }
    Node& me = node(n);
    if (me.master == kNone) return err("ERR You should send CLUSTER FAILOVER to a replica");
    const int m = me.master;
    auto peer = me.peers.find(m);
    const bool master_down = !node(m).reachable || peer == me.peers.end() || peer->second.failed;
    if (mode.empty() && master_down) {
      return err("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
    }
    // The replica takes its master's slots with a new epoch; gossip tells everyone else (and
    // turns the old master and its other replicas into replicas of this node).
    me.current_epoch = maxEpoch(me) + 1;
    me.config_epoch = me.current_epoch;
    for (int s = 0; s < kSlotCount; ++s) {
      if (me.owners[static_cast<size_t>(s)] == m) setOwner(me, s, n);
    }
    me.master = kNone;
    ++me.version;
    touch();
    return ok();
  }

  std::string newId(const std::string& address) const {
    const uint64_t serial = nodes.size();
    return hex(fnv1a(address), 16) + hex(fnv1a(address + '/' + std::to_string(serial)), 16) +
           hex(serial, 8);
  }
};

// A connection to one fake node. Like a Redis connection it is used by one thread at a time;
// the cluster it talks to is shared and guarded.
class FakeNodeClient final : public redis::NodeClient {
 public:
  FakeNodeClient(FakeRedisCluster* cluster, std::string address)
      : cluster_(cluster), address_(std::move(address)) {}
  const std::string& address() const override { return address_; }
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands) override {
    return cluster_->execute(address_, commands, &asking_);
  }

 private:
  FakeRedisCluster* cluster_;
  std::string address_;
  bool asking_ = false;  // set by ASKING, for the next command only
};

FakeRedisCluster::FakeRedisCluster() : FakeRedisCluster(Options{}) {}

FakeRedisCluster::FakeRedisCluster(Options options) : state_(std::make_unique<State>()) {
  state_->options = options;
}

FakeRedisCluster::~FakeRedisCluster() = default;

std::string FakeRedisCluster::addNode(const std::string& address, const std::string& id) {
  std::lock_guard lock(mu_);
  State& st = *state_;
  if (st.at(address) != kNone) throw std::invalid_argument("address in use: " + address);
  Node node;
  node.id = id.empty() ? st.newId(address) : id;
  if (st.withId(node.id) != kNone) throw std::invalid_argument("node id in use: " + node.id);
  node.address = address;
  st.by_address[address] = static_cast<int>(st.nodes.size());
  st.by_id[node.id] = static_cast<int>(st.nodes.size());
  st.nodes.push_back(std::move(node));
  st.touch();
  return st.nodes.back().id;
}

std::vector<std::string> FakeRedisCluster::addNodes(int count, const std::string& ip,
                                                    int first_port) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(ip + ':' + std::to_string(first_port + i));
    addNode(out.back());
  }
  return out;
}

void FakeRedisCluster::formCluster(const std::vector<std::string>& masters,
                                   const std::map<std::string, std::string>& replica_of) {
  std::vector<std::string> all = masters;
  for (const auto& [replica, master] : replica_of) all.push_back(replica);
  for (const auto& address : all) {
    bool missing = false;
    {
      std::lock_guard lock(mu_);
      missing = state_->at(address) == kNone;
    }
    if (missing) addNode(address);
  }
  std::lock_guard lock(mu_);
  State& st = *state_;
  const int count = static_cast<int>(masters.size());
  const int64_t top_epoch = count;
  std::vector<int> owners(kSlotCount, kNone);
  int slot = 0;
  for (int i = 0; i < count; ++i) {
    const int n = st.at(masters[static_cast<size_t>(i)]);
    const int share = kSlotCount / count + (i < kSlotCount % count ? 1 : 0);
    for (int k = 0; k < share; ++k) owners[static_cast<size_t>(slot++)] = n;
    st.node(n).config_epoch = i + 1;
  }
  for (const auto& [replica, master] : replica_of) {
    Node& r = st.node(st.at(replica));
    r.master = st.at(master);
    r.config_epoch = 0;
  }
  for (const auto& address : all) {
    Node& node = st.node(st.at(address));
    node.current_epoch = top_epoch;
    for (int s = 0; s < kSlotCount; ++s) st.setOwner(node, s, owners[static_cast<size_t>(s)]);
  }
  for (size_t a = 0; a < all.size(); ++a) {
    for (size_t b = a + 1; b < all.size(); ++b) st.link(st.at(all[a]), st.at(all[b]));
  }
  for (const auto& [replica, master] : replica_of) st.becomeReplica(st.at(replica), st.at(master));
  st.dirty = false;
}

void FakeRedisCluster::moveNode(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  State& st = *state_;
  const int n = st.at(from);
  if (n == kNone) throw std::invalid_argument("no node at " + from);
  if (st.at(to) != kNone) throw std::invalid_argument("address in use: " + to);
  st.by_address.erase(from);
  st.by_address[to] = n;
  st.node(n).address = to;
  ++st.node(n).version;
  st.touch();
}

Result<std::unique_ptr<redis::NodeClient>> FakeRedisCluster::connect(const std::string& address) {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  if (node == nullptr || !node->reachable) {
    return unavailable("connect to " + address + ": Connection refused");
  }
  return std::unique_ptr<redis::NodeClient>(std::make_unique<FakeNodeClient>(this, address));
}

Result<std::vector<Reply>> FakeRedisCluster::execute(const std::string& address,
                                                     const std::vector<Command>& commands,
                                                     bool* asking) {
  std::lock_guard lock(mu_);
  State& st = *state_;
  const int n = st.at(address);
  if (n == kNone || !st.node(n).reachable) {
    return unavailable(address + ": Connection reset by peer");
  }
  auto finish = [&] {
    if (st.options.auto_propagate && st.dirty) st.gossipToFixedPoint();
  };
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (const Command& cmd : commands) {
    if (auto fault = st.faultFor(address, cmd)) {
      ++st.faults_injected;
      if (fault->drop_connection) {
        *asking = false;
        finish();
        return unavailable(address + ": Connection reset by peer (injected at " +
                           joinWords(cmd, 3) + ")");
      }
      replies.push_back(fault->reply);
      continue;
    }
    st.record(address, cmd);
    replies.push_back(st.run(n, cmd, asking));
  }
  finish();
  return replies;
}

void FakeRedisCluster::propagate() {
  std::lock_guard lock(mu_);
  state_->advanceHandshakes();
  state_->gossipToFixedPoint();
}

bool FakeRedisCluster::gossipRound() {
  std::lock_guard lock(mu_);
  state_->advanceHandshakes();
  return state_->gossipOnce();
}

void FakeRedisCluster::setAutoPropagate(bool on) {
  std::lock_guard lock(mu_);
  state_->options.auto_propagate = on;
}

void FakeRedisCluster::setMeetRounds(int rounds) {
  std::lock_guard lock(mu_);
  state_->options.meet_rounds = std::max(0, rounds);
}

void FakeRedisCluster::setReachable(const std::string& address, bool reachable) {
  std::lock_guard lock(mu_);
  const int n = state_->at(address);
  if (n == kNone) throw std::invalid_argument("no node at " + address);
  state_->node(n).reachable = reachable;
  ++state_->node(n).version;
  state_->touch();
}

void FakeRedisCluster::setCommandHook(CommandHook hook) {
  std::lock_guard lock(mu_);
  state_->hook = std::move(hook);
}

void FakeRedisCluster::addFault(FaultSpec spec) {
  std::lock_guard lock(mu_);
  state_->faults.push_back({std::move(spec), 0});
}

void FakeRedisCluster::clearFaults() {
  std::lock_guard lock(mu_);
  state_->faults.clear();
  state_->hook = nullptr;
}

int FakeRedisCluster::faultsInjected() const {
  std::lock_guard lock(mu_);
  return state_->faults_injected;
}

void FakeRedisCluster::putKey(const std::string& address, const std::string& key,
                              const std::string& value) {
  std::lock_guard lock(mu_);
  const int n = state_->at(address);
  if (n == kNone) throw std::invalid_argument("no node at " + address);
  state_->store(n, redis::keyHashSlot(key), key, value);
}

Status FakeRedisCluster::writeKey(const std::string& key, const std::string& value) {
  const int slot = redis::keyHashSlot(key);
  const std::string owner = ownerOf(slot);
  std::lock_guard lock(mu_);
  const int n = state_->withId(owner);
  if (n == kNone) {
    return failedPrecondition("no master owns slot " + std::to_string(slot) + " of key " + key);
  }
  state_->store(n, slot, key, value);
  return Status::ok();
}

std::map<std::string, std::string> FakeRedisCluster::keysOf(const std::string& address) const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  if (const Node* node = state_->find(address)) {
    for (const auto& [slot, keys] : node->keys) out.insert(keys.begin(), keys.end());
  }
  return out;
}

int64_t FakeRedisCluster::keyCount(const std::string& address) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  return node == nullptr ? 0 : node->key_count;
}

std::map<std::string, std::vector<std::string>> FakeRedisCluster::keyHolders() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<std::string>> out;
  for (const Node& node : state_->nodes) {
    if (node.master != kNone) continue;
    for (const auto& [slot, keys] : node.keys) {
      for (const auto& [key, value] : keys) out[key].push_back(node.address);
    }
  }
  return out;
}

std::vector<std::string> FakeRedisCluster::placementProblems() const {
  std::vector<std::string> problems;
  size_t more = 0;
  auto add = [&](std::string line) {
    if (problems.size() < kMaxProblemLines) {
      problems.push_back(std::move(line));
    } else {
      ++more;
    }
  };
  std::lock_guard lock(mu_);
  const State& st = *state_;
  const std::vector<int> truth = st.truth();
  std::map<std::string, std::string> holder_of;
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    const Node& node = st.nodes[i];
    if (node.master != kNone) continue;
    for (const auto& [slot, keys] : node.keys) {
      const int own_view = node.owners[static_cast<size_t>(slot)];
      const std::string global = st.idOrEmpty(truth[static_cast<size_t>(slot)]);
      if (own_view != static_cast<int>(i) || global != node.id) {
        add(node.address + " holds " + std::to_string(keys.size()) + " key(s) of slot " +
            std::to_string(slot) + " (e.g. '" + keys.begin()->first +
            "') but the slot's owner is " + (global.empty() ? "nobody" : global.substr(0, 8)) +
            " (" + (own_view == kNone ? "nobody" : st.idOrEmpty(own_view).substr(0, 8)) +
            " in its own view)");
      }
      for (const auto& [key, value] : keys) {
        auto [it, fresh] = holder_of.emplace(key, node.address);
        if (!fresh) add("key '" + key + "' is on both " + it->second + " and " + node.address);
      }
    }
  }
  for (const Node& node : st.nodes) {
    if (node.master == kNone) continue;
    const Node& master = st.node(node.master);
    if (node.keys != master.keys) {
      add("replica " + node.address + " holds " + std::to_string(node.key_count) +
          " key(s), its master " + master.address + " " + std::to_string(master.key_count) +
          ", and they differ");
    }
  }
  if (more > 0) problems.push_back("... and " + std::to_string(more) + " more");
  return problems;
}

std::vector<std::string> FakeRedisCluster::addresses() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [address, n] : state_->by_address) out.push_back(address);
  return out;
}

std::string FakeRedisCluster::idOf(const std::string& address) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  return node == nullptr ? "" : node->id;
}

std::string FakeRedisCluster::addressOfId(const std::string& id) const {
  std::lock_guard lock(mu_);
  const int n = state_->withId(id);
  return n == kNone ? "" : state_->node(n).address;
}

bool FakeRedisCluster::isReachable(const std::string& address) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  return node != nullptr && node->reachable;
}

bool FakeRedisCluster::isReplica(const std::string& address) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  return node != nullptr && node->master != kNone;
}

std::string FakeRedisCluster::masterIdOf(const std::string& address) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  return node == nullptr ? "" : state_->idOrEmpty(node->master);
}

SlotSet FakeRedisCluster::slotsOf(const std::string& address) const {
  std::lock_guard lock(mu_);
  SlotSet out;
  const int n = state_->at(address);
  if (n == kNone) return out;
  const Node& node = state_->node(n);
  for (int s = 0; s < kSlotCount; ++s) {
    if (node.owners[static_cast<size_t>(s)] == n) out.add(s);
  }
  return out;
}

std::string FakeRedisCluster::ownerInViewOf(const std::string& viewer, int slot) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(viewer);
  if (node == nullptr || slot < 0 || slot >= kSlotCount) return "";
  return state_->idOrEmpty(node->owners[static_cast<size_t>(slot)]);
}

std::string FakeRedisCluster::ownerOf(int slot) const {
  std::lock_guard lock(mu_);
  const State& st = *state_;
  if (slot < 0 || slot >= kSlotCount) return "";
  int best = kNone;
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    const Node& node = st.nodes[i];
    if (node.master != kNone || node.owners[static_cast<size_t>(slot)] != static_cast<int>(i)) {
      continue;
    }
    if (best == kNone || State::beats(node, st.node(best))) best = static_cast<int>(i);
  }
  return st.idOrEmpty(best);
}

std::map<std::string, int> FakeRedisCluster::slotCounts() const {
  std::lock_guard lock(mu_);
  const State& st = *state_;
  std::map<std::string, int> out;
  for (int owner : st.truth()) {
    if (owner != kNone) ++out[st.node(owner).address];
  }
  return out;
}

bool FakeRedisCluster::viewsAgree(const std::vector<std::string>& among) const {
  std::lock_guard lock(mu_);
  const State& st = *state_;
  const std::vector<int> truth = st.truth();
  for (const Node& node : st.nodes) {
    if (!node.reachable) continue;
    if (!among.empty() && std::find(among.begin(), among.end(), node.address) == among.end()) {
      continue;
    }
    if (!node.migrating.empty() || !node.importing.empty()) return false;
    if (node.owners != truth) return false;
  }
  return true;
}

std::map<int, std::string> FakeRedisCluster::migratingSlots(const std::string& address) const {
  std::lock_guard lock(mu_);
  std::map<int, std::string> out;
  if (const Node* node = state_->find(address)) {
    for (const auto& [slot, dest] : node->migrating) out[slot] = state_->idOrEmpty(dest);
  }
  return out;
}

std::map<int, std::string> FakeRedisCluster::importingSlots(const std::string& address) const {
  std::lock_guard lock(mu_);
  std::map<int, std::string> out;
  if (const Node* node = state_->find(address)) {
    for (const auto& [slot, source] : node->importing) out[slot] = state_->idOrEmpty(source);
  }
  return out;
}

std::set<std::string> FakeRedisCluster::knownIds(const std::string& address) const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  if (const Node* node = state_->find(address)) {
    for (const auto& [x, peer] : node->peers) out.insert(state_->idOrEmpty(x));
  }
  return out;
}

int64_t FakeRedisCluster::configEpochOf(const std::string& address) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  return node == nullptr ? 0 : node->config_epoch;
}

std::string FakeRedisCluster::configValue(const std::string& address,
                                          const std::string& name) const {
  std::lock_guard lock(mu_);
  const Node* node = state_->find(address);
  if (node == nullptr) return "";
  auto it = node->config.find(name);
  return it == node->config.end() ? "" : it->second;
}

std::vector<std::string> FakeRedisCluster::commandLog() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(state_->log.size());
  for (const LogEntry& entry : state_->log) {
    std::string line = entry.address;
    for (std::string_view word : splitLogged(entry.words)) {
      line += ' ';
      line += word.empty() ? "\"\"" : std::string(word);
    }
    out.push_back(std::move(line));
  }
  return out;
}

int FakeRedisCluster::commandCount(const std::vector<std::string>& words,
                                   const std::string& address) const {
  std::lock_guard lock(mu_);
  int count = 0;
  std::vector<std::string> wanted;
  for (const auto& word : words) wanted.push_back(upper(word));
  for (const LogEntry& entry : state_->log) {
    if (!address.empty() && entry.address != address) continue;
    const auto logged = splitLogged(entry.words);
    if (logged.size() < wanted.size()) continue;
    bool match = true;
    for (size_t i = 0; i < wanted.size() && match; ++i) match = is(logged[i], wanted[i]);
    if (match) ++count;
  }
  return count;
}

}  // namespace slotkeeper::test
