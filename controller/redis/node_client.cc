#include "redis/node_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace slotkeeper::redis {
namespace {

// Commands per round trip in the pipelined helpers: big enough that moving thousands of slots
// takes a handful of round trips, small enough that neither side buffers megabytes.
constexpr size_t kMaxPipelineBatch = 2000;

// The first word of an error reply, which Redis uses as its error code ("MOVED 42 ...").
std::string_view errorCode(std::string_view error) { return error.substr(0, error.find(' ')); }

// The code given to a Redis error decides how callers retry it (retryClassFor): redirects, a
// cluster that is not ready yet, and a node that is loading are transient (retried after a
// backoff); bad credentials, and anything else (the node is not in a state where the command
// can work), are retried only once something changes.
StatusCode codeForRedisError(std::string_view error) {
  std::string_view code = errorCode(error);
  if (code == "MOVED" || code == "ASK" || code == "CLUSTERDOWN" || code == "TRYAGAIN" ||
      code == "LOADING" || code == "MASTERDOWN" || code == "BUSY") {
    return StatusCode::kUnavailable;
  }
  if (code == "NOAUTH" || code == "WRONGPASS") return StatusCode::kUnauthenticated;
  if (code == "NOPERM") return StatusCode::kPermissionDenied;
  return StatusCode::kFailedPrecondition;
}

// Names a command for error messages without echoing secrets: AUTH, MIGRATE ... AUTH and
// CONFIG SET masterauth carry passwords, so only the leading words are shown.
std::string describeCommand(const Command& cmd) {
  if (cmd.empty()) return "(empty command)";
  size_t words = 1;
  std::string name = cmd[0];
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (name == "CLUSTER") words = 4;  // "CLUSTER SETSLOT 42 IMPORTING"
  if (name == "CONFIG") words = 3;   // "CONFIG SET maxmemory", never the value
  std::string out;
  for (size_t i = 0; i < std::min(words, cmd.size()); ++i) {
    if (i > 0) out += ' ';
    out += cmd[i];
  }
  return out;
}

Status statusForErrorReply(const std::string& address, const Command& cmd, const Reply& reply) {
  return Status(codeForRedisError(reply.str),
                address + ": " + describeCommand(cmd) + ": " + reply.str);
}

std::string_view typeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kError:
      return "error";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kString:
      return "bulk string";
    case Reply::Type::kArray:
      return "array";
  }
  return "unknown";
}

Status unexpectedReply(const std::string& address, const Command& cmd, const Reply& reply,
                       std::string_view expected) {
  std::string detail = reply.str.empty() ? "" : " '" + reply.str.substr(0, 80) + "'";
  return internalError(address + ": " + describeCommand(cmd) + ": expected " +
                       std::string(expected) + " reply, got " + std::string(typeName(reply.type)) +
                       detail);
}

Status validateRanges(const std::vector<SlotRange>& ranges) {
  for (const SlotRange& r : ranges) {
    if (r.first < 0 || r.last >= kSlotCount || r.last < r.first) {
      return invalidArgument("bad slot range " + std::to_string(r.first) + "-" +
                             std::to_string(r.last) + " (slots are 0-16383, first <= last)");
    }
  }
  return Status::ok();
}

Command slotsRangeCommand(const char* subcommand, const std::vector<SlotRange>& ranges) {
  Command cmd = {"CLUSTER", subcommand};
  cmd.reserve(2 + 2 * ranges.size());
  for (const SlotRange& r : ranges) {
    cmd.push_back(std::to_string(r.first));
    cmd.push_back(std::to_string(r.last));
  }
  return cmd;
}

// MIGRATE reports the destination's error wrapped in its own ("ERR Target instance replied
// with error: BUSYKEY ..."), so the destination's error code is looked for inside the text.
constexpr std::string_view kTargetErrorMarker = "Target instance replied with error: ";

Status statusForMigrateError(const std::string& address, const std::string& dest,
                             const Reply& reply) {
  std::string message = address + ": MIGRATE to " + dest + ": " + reply.str;
  std::string_view inner = reply.str;
  size_t marker = inner.find(kTargetErrorMarker);
  if (marker != std::string_view::npos) inner = inner.substr(marker + kTargetErrorMarker.size());
  if (errorCode(inner) == "BUSYKEY") return conflict(message);
  // IOERR: the source could not reach the destination, or it timed out.
  if (reply.isErrorWithPrefix("IOERR")) return unavailable(message);
  return Status(codeForRedisError(inner), message);
}

}  // namespace

bool isNoReply(const Status& status) {
  return status.code() == StatusCode::kUnavailable &&
         status.message().find(kNoReplyWithin) != std::string::npos;
}

Result<std::pair<std::string, int>> splitAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return invalidArgument("address '" + address + "' is not host:port");
  }
  std::string host = address.substr(0, colon);
  // "[::1]:7000" is the bracketed IPv6 form; Redis itself writes "::1:7000".
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port <= 0 || port > 65535) {
    return invalidArgument("address '" + address + "' has no valid port (1-65535)");
  }
  if (host.empty()) return invalidArgument("address '" + address + "' has no host");
  return std::make_pair(host, port);
}

Result<Reply> NodeClient::command(const Command& cmd) {
  ASSIGN_OR_RETURN(std::vector<Reply> replies, pipeline({cmd}));
  if (replies.size() != 1) {
    return internalError(address() + ": " + describeCommand(cmd) + ": expected 1 reply, got " +
                         std::to_string(replies.size()));
  }
  if (replies[0].isError()) return statusForErrorReply(address(), cmd, replies[0]);
  return std::move(replies[0]);
}

namespace {

// One command whose reply must be of `type`; anything else is a protocol surprise.
Result<Reply> commandExpecting(NodeClient& client, const Command& cmd, Reply::Type type,
                               std::string_view type_description) {
  ASSIGN_OR_RETURN(Reply reply, client.command(cmd));
  if (reply.type != type) return unexpectedReply(client.address(), cmd, reply, type_description);
  return reply;
}

// One command that must answer "+OK".
Status commandExpectingOk(NodeClient& client, const Command& cmd) {
  ASSIGN_OR_RETURN(Reply reply, client.command(cmd));
  if (reply.type != Reply::Type::kStatus || reply.str != "OK") {
    return unexpectedReply(client.address(), cmd, reply, "+OK");
  }
  return Status::ok();
}

// Sends `commands` in batches of kMaxPipelineBatch and returns the replies in order. Error
// replies stay in the result for the caller to judge; with `stop_after_error` no further batch
// is sent once one holds an error, so a half-applied change is not pushed further.
Result<std::vector<Reply>> pipelineInBatches(NodeClient& client,
                                             const std::vector<Command>& commands,
                                             bool stop_after_error) {
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t start = 0; start < commands.size(); start += kMaxPipelineBatch) {
    size_t end = std::min(commands.size(), start + kMaxPipelineBatch);
    std::vector<Command> batch(commands.begin() + static_cast<std::ptrdiff_t>(start),
                               commands.begin() + static_cast<std::ptrdiff_t>(end));
    ASSIGN_OR_RETURN(std::vector<Reply> batch_replies, client.pipeline(batch));
    if (batch_replies.size() != batch.size()) {
      return internalError(client.address() + ": pipeline of " + std::to_string(batch.size()) +
                           " commands returned " + std::to_string(batch_replies.size()) +
                           " replies");
    }
    bool had_error = false;
    for (Reply& reply : batch_replies) {
      had_error = had_error || reply.isError();
      replies.push_back(std::move(reply));
    }
    if (had_error && stop_after_error) break;
  }
  return replies;
}

// The first error reply among `replies` (answers to `commands`, in order) as a status naming
// its command, e.g. "CLUSTER SETSLOT 42 IMPORTING: ERR ...".
Status firstErrorReply(const std::string& address, const std::vector<Command>& commands,
                       const std::vector<Reply>& replies) {
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].isError()) return statusForErrorReply(address, commands[i], replies[i]);
  }
  return Status::ok();
}

// CLUSTER SETSLOT <slot> <mode> <node-id> for many slots in as few round trips as possible.
Status setSlotsPipelined(NodeClient& client, const std::vector<int>& slots, const char* mode,
                         const std::string& node_id) {
  std::vector<Command> commands;
  commands.reserve(slots.size());
  for (int slot : slots) {
    Command cmd = {"CLUSTER", "SETSLOT", std::to_string(slot), mode};
    if (!node_id.empty()) cmd.push_back(node_id);  // STABLE takes no node id
    commands.push_back(std::move(cmd));
  }
  ASSIGN_OR_RETURN(std::vector<Reply> replies,
                   pipelineInBatches(client, commands, /*stop_after_error=*/true));
  return firstErrorReply(client.address(), commands, replies);
}

}  // namespace

Result<std::string> NodeClient::clusterNodesRaw() {
  ASSIGN_OR_RETURN(Reply reply, commandExpecting(*this, {"CLUSTER", "NODES"}, Reply::Type::kString,
                                                 "bulk string"));
  return std::move(reply.str);
}

Result<std::vector<ClusterNodeEntry>> NodeClient::clusterNodes() {
  ASSIGN_OR_RETURN(std::string raw, clusterNodesRaw());
  auto nodes = parseClusterNodes(raw);
  if (!nodes.isOk()) return nodes.status().withContext(address());
  return nodes;
}

Result<ClusterInfo> NodeClient::clusterInfo() {
  ASSIGN_OR_RETURN(Reply reply, commandExpecting(*this, {"CLUSTER", "INFO"}, Reply::Type::kString,
                                                 "bulk string"));
  auto info = parseClusterInfo(reply.str);
  if (!info.isOk()) return info.status().withContext(address());
  return info;
}

Result<std::string> NodeClient::clusterMyId() {
  ASSIGN_OR_RETURN(Reply reply, commandExpecting(*this, {"CLUSTER", "MYID"}, Reply::Type::kString,
                                                 "bulk string"));
  return std::move(reply.str);
}

Result<MemoryInfo> NodeClient::infoMemory() {
  ASSIGN_OR_RETURN(Reply reply, commandExpecting(*this, {"INFO", "memory"}, Reply::Type::kString,
                                                 "bulk string"));
  auto info = parseMemoryInfo(reply.str);
  if (!info.isOk()) return info.status().withContext(address());
  return info;
}

Result<LoadInfo> NodeClient::infoLoad() {
  ASSIGN_OR_RETURN(auto replies, pipeline({{"INFO", "clients"}, {"INFO", "stats"}}));
  std::string text;
  for (const auto& reply : replies) {
    if (reply.type != Reply::Type::kString) {
      return internalError(address() + ": INFO clients/stats: expected a bulk string");
    }
    text += reply.str;
    text += "\r\n";
  }
  auto info = parseLoadInfo(text);
  if (!info.isOk()) return info.status().withContext(address());
  return info;
}

Result<ReplicationInfo> NodeClient::infoReplication() {
  ASSIGN_OR_RETURN(Reply reply, commandExpecting(*this, {"INFO", "replication"},
                                                 Reply::Type::kString, "bulk string"));
  auto info = parseReplicationInfo(reply.str);
  if (!info.isOk()) return info.status().withContext(address());
  return info;
}

Result<int64_t> NodeClient::dbSize() {
  ASSIGN_OR_RETURN(Reply reply,
                   commandExpecting(*this, {"DBSIZE"}, Reply::Type::kInteger, "integer"));
  return reply.integer;
}

Status NodeClient::ping() {
  Command cmd = {"PING"};
  ASSIGN_OR_RETURN(Reply reply, command(cmd));
  if (reply.type != Reply::Type::kStatus || reply.str != "PONG") {
    return unexpectedReply(address(), cmd, reply, "+PONG");
  }
  return Status::ok();
}

Status NodeClient::clusterMeet(const std::string& ip, int port) {
  return commandExpectingOk(*this, {"CLUSTER", "MEET", ip, std::to_string(port)});
}

Status NodeClient::clusterAddSlotsRange(const std::vector<SlotRange>& ranges) {
  if (ranges.empty()) return Status::ok();
  RETURN_IF_ERROR(validateRanges(ranges));
  return commandExpectingOk(*this, slotsRangeCommand("ADDSLOTSRANGE", ranges));
}

Status NodeClient::clusterDelSlotsRange(const std::vector<SlotRange>& ranges) {
  if (ranges.empty()) return Status::ok();
  RETURN_IF_ERROR(validateRanges(ranges));
  return commandExpectingOk(*this, slotsRangeCommand("DELSLOTSRANGE", ranges));
}

Status NodeClient::clusterSetSlotImporting(int slot, const std::string& source_id) {
  return commandExpectingOk(*this,
                            {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", source_id});
}

Status NodeClient::clusterSetSlotMigrating(int slot, const std::string& destination_id) {
  return commandExpectingOk(
      *this, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", destination_id});
}

Status NodeClient::clusterSetSlotNode(int slot, const std::string& node_id) {
  return commandExpectingOk(*this, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", node_id});
}

Status NodeClient::clusterSetSlotStable(int slot) {
  return commandExpectingOk(*this, {"CLUSTER", "SETSLOT", std::to_string(slot), "STABLE"});
}

Status NodeClient::clusterSetSlotsImporting(const std::vector<int>& slots,
                                            const std::string& source_id) {
  return setSlotsPipelined(*this, slots, "IMPORTING", source_id);
}

Status NodeClient::clusterSetSlotsMigrating(const std::vector<int>& slots,
                                            const std::string& dest_id) {
  return setSlotsPipelined(*this, slots, "MIGRATING", dest_id);
}

Status NodeClient::clusterSetSlotsNode(const std::vector<int>& slots, const std::string& node_id) {
  return setSlotsPipelined(*this, slots, "NODE", node_id);
}

Status NodeClient::clusterSetSlotsStable(const std::vector<int>& slots) {
  return setSlotsPipelined(*this, slots, "STABLE", "");
}

Result<std::vector<std::string>> NodeClient::clusterGetKeysInSlot(int slot, int count) {
  Command cmd = {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(count)};
  ASSIGN_OR_RETURN(Reply reply, commandExpecting(*this, cmd, Reply::Type::kArray, "array"));
  std::vector<std::string> keys;
  keys.reserve(reply.elements.size());
  for (Reply& element : reply.elements) {
    if (element.type != Reply::Type::kString) {
      return unexpectedReply(address(), cmd, element, "bulk string key");
    }
    keys.push_back(std::move(element.str));
  }
  return keys;
}

Result<int64_t> NodeClient::clusterCountKeysInSlot(int slot) {
  ASSIGN_OR_RETURN(Reply reply,
                   commandExpecting(*this, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)},
                                    Reply::Type::kInteger, "integer"));
  return reply.integer;
}

Result<std::vector<int64_t>> NodeClient::clusterCountKeysInSlots(const std::vector<int>& slots) {
  std::vector<Command> commands;
  commands.reserve(slots.size());
  for (int slot : slots) commands.push_back({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
  ASSIGN_OR_RETURN(std::vector<Reply> replies,
                   pipelineInBatches(*this, commands, /*stop_after_error=*/false));
  std::vector<int64_t> counts;
  counts.reserve(replies.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].isError()) return statusForErrorReply(address(), commands[i], replies[i]);
    if (replies[i].type != Reply::Type::kInteger) {
      return unexpectedReply(address(), commands[i], replies[i], "integer");
    }
    counts.push_back(replies[i].integer);
  }
  return counts;
}

Status NodeClient::clusterReplicate(const std::string& master_id) {
  return commandExpectingOk(*this, {"CLUSTER", "REPLICATE", master_id});
}

Status NodeClient::clusterForget(const std::string& node_id) {
  return commandExpectingOk(*this, {"CLUSTER", "FORGET", node_id});
}

Status NodeClient::clusterFailover(FailoverMode mode) {
  Command cmd = {"CLUSTER", "FAILOVER"};
  if (mode == FailoverMode::kForce) cmd.push_back("FORCE");
  if (mode == FailoverMode::kTakeover) cmd.push_back("TAKEOVER");
  return commandExpectingOk(*this, cmd);
}

Status NodeClient::clusterResetSoft() {
  return commandExpectingOk(*this, {"CLUSTER", "RESET", "SOFT"});
}

Status NodeClient::configSet(const std::string& key, const std::string& value) {
  return commandExpectingOk(*this, {"CONFIG", "SET", key, value});
}

Result<std::string> NodeClient::configGet(const std::string& key) {
  ASSIGN_OR_RETURN(Reply reply, command({"CONFIG", "GET", key}));
  if (reply.type != Reply::Type::kArray || reply.elements.size() < 2) return std::string();
  return reply.elements[1].str;
}

Result<std::vector<std::string>> NodeClient::aclPasswordHashes(const std::string& user) {
  ASSIGN_OR_RETURN(Reply reply, command({"ACL", "GETUSER", user}));
  if (reply.type != Reply::Type::kArray) {
    return internalError(address() + ": ACL GETUSER " + user + ": no such user");
  }
  // A flat map: field name, value, field name, value, ...
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str != "passwords") continue;
    std::vector<std::string> hashes;
    for (const auto& h : reply.elements[i + 1].elements) hashes.push_back(h.str);
    return hashes;
  }
  return internalError(address() + ": ACL GETUSER " + user + " lists no passwords field");
}

Status NodeClient::aclSetUser(const std::string& user, const std::vector<std::string>& rules) {
  Command cmd = {"ACL", "SETUSER", user};
  cmd.insert(cmd.end(), rules.begin(), rules.end());
  return commandExpectingOk(*this, cmd);
}

Status NodeClient::configSetAll(const std::vector<std::pair<std::string, std::string>>& settings) {
  if (settings.empty()) return Status::ok();
  Command cmd = {"CONFIG", "SET"};
  for (const auto& [key, value] : settings) {
    cmd.push_back(key);
    cmd.push_back(value);
  }
  return commandExpectingOk(*this, cmd);
}

// Each DUMP is preceded by ASKING so the importing side of an open slot answers too: comparing
// both payloads after a BUSYKEY is what this is for. On the migrating side a key that is not
// there any more is answered with ASK, which means exactly "missing here".
Result<std::vector<std::optional<std::string>>> NodeClient::dumpKeys(
    const std::vector<std::string>& keys) {
  std::vector<Command> commands;
  commands.reserve(2 * keys.size());
  for (const std::string& key : keys) {
    commands.push_back({"ASKING"});
    commands.push_back({"DUMP", key});
  }
  ASSIGN_OR_RETURN(std::vector<Reply> replies,
                   pipelineInBatches(*this, commands, /*stop_after_error=*/false));
  std::vector<std::optional<std::string>> payloads;
  payloads.reserve(keys.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    Reply& reply = replies[i];
    if (reply.isError() && !reply.isErrorWithPrefix("ASK")) {
      return statusForErrorReply(address(), commands[i], reply);
    }
    if (i % 2 == 0) continue;  // the ASKING
    if (reply.type == Reply::Type::kNil || reply.isErrorWithPrefix("ASK")) {
      payloads.push_back(std::nullopt);
    } else if (reply.type == Reply::Type::kString) {
      payloads.push_back(std::move(reply.str));
    } else {
      return unexpectedReply(address(), commands[i], reply, "bulk string or nil");
    }
  }
  return payloads;
}

Status NodeClient::migrateKeys(const std::string& dest_ip, int dest_port,
                               const std::vector<std::string>& keys,
                               const MigrateOptions& options) {
  if (keys.empty()) return Status::ok();
  Command cmd = {"MIGRATE", dest_ip, std::to_string(dest_port),
                 "",        "0",     std::to_string(options.timeout.count())};
  if (options.replace) cmd.push_back("REPLACE");
  if (!options.password.empty()) {
    cmd.push_back("AUTH");
    cmd.push_back(options.password);
  }
  cmd.push_back("KEYS");
  cmd.insert(cmd.end(), keys.begin(), keys.end());

  ASSIGN_OR_RETURN(std::vector<Reply> replies, pipeline({cmd}));
  std::string dest = dest_ip + ":" + std::to_string(dest_port);
  if (replies.size() != 1) {
    return internalError(address() + ": MIGRATE to " + dest + ": expected 1 reply, got " +
                         std::to_string(replies.size()));
  }
  const Reply& reply = replies[0];
  if (reply.isError()) return statusForMigrateError(address(), dest, reply);
  // "NOKEY": none of the keys exist any more, e.g. a retried batch that already moved.
  if (reply.type == Reply::Type::kStatus && (reply.str == "OK" || reply.str == "NOKEY")) {
    return Status::ok();
  }
  return unexpectedReply(address(), {"MIGRATE"}, reply, "+OK or +NOKEY");
}

}  // namespace slotkeeper::redis
