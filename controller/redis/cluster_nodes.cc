#include "redis/cluster_nodes.h"

#include <charconv>
#include <functional>
#include <optional>

namespace slotkeeper::redis {
namespace {

// Lines of a reply without their "\r", skipping empty ones; each keeps its 1-based number so
// errors can point at it.
struct NumberedLine {
  int number = 0;
  std::string_view text;
};

std::vector<NumberedLine> splitLines(std::string_view text) {
  std::vector<NumberedLine> lines;
  int number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back({number, line});
  }
  return lines;
}

// Splits on `separator`, keeping empty fields (so "a,,b" has three).
std::vector<std::string_view> splitOn(std::string_view text, char separator) {
  std::vector<std::string_view> fields;
  while (true) {
    size_t end = text.find(separator);
    fields.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return fields;
    text = text.substr(end + 1);
  }
}

// Splits on runs of spaces: Redis separates CLUSTER NODES fields with one space, but a
// hand-written or trailing-space line should not produce phantom empty fields.
std::vector<std::string_view> splitWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(start, end - start));
    pos = end;
  }
  return words;
}

// std::from_chars over the whole text: no exceptions, no trailing garbage, no "+" or spaces.
template <typename T>
std::optional<T> parseNumber(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Long lines (a node with thousands of slot ranges) are cut so errors stay readable.
std::string excerpt(std::string_view line) {
  constexpr size_t kMaxShown = 160;
  if (line.size() <= kMaxShown) return std::string(line);
  return std::string(line.substr(0, kMaxShown)) + "...";
}

// A reply Redis should never send is a bug or a protocol mismatch, hence kInternal (status.h).
Status malformed(std::string_view reply_name, const NumberedLine& line, const std::string& what) {
  return internalError(std::string(reply_name) + " line " + std::to_string(line.number) + ": " +
                       what + " in '" + excerpt(line.text) + "'");
}

// Node ids are 40 hex characters in Redis; fakes in tests use shorter names, so only the
// character set is checked. That is enough to catch a line whose id is missing and whose
// address slid into the id's place.
bool looksLikeNodeId(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<int> parseSlot(std::string_view text) {
  auto slot = parseNumber<int>(text);
  if (!slot || *slot < 0 || *slot >= kSlotCount) return std::nullopt;
  return slot;
}

// ---- CLUSTER NODES ----

constexpr std::string_view kClusterNodes = "CLUSTER NODES";
constexpr size_t kFixedNodeFields = 8;

// "ip:port@cport[,hostname[,aux=value...]]". The ip may be empty (":0@0", no address yet) or
// IPv6 ("::1:7000@17000"), so the port is after the LAST colon before '@'.
Status parseNodeAddress(std::string_view field, const NumberedLine& line, ClusterNodeEntry* node) {
  std::vector<std::string_view> parts = splitOn(field, ',');
  std::string_view endpoint = parts[0];
  // Redis 7.2 may append "aux=value" fields after the hostname; only the hostname is kept.
  if (parts.size() > 1 && parts[1].find('=') == std::string_view::npos) {
    node->hostname = std::string(parts[1]);
  }
  std::string_view cport_text;
  size_t at = endpoint.find('@');
  if (at != std::string_view::npos) {
    cport_text = endpoint.substr(at + 1);
    endpoint = endpoint.substr(0, at);
  }
  size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) {
    return malformed(kClusterNodes, line, "address '" + std::string(field) + "' has no port");
  }
  std::string_view ip = endpoint.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  auto port = parseNumber<int>(endpoint.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return malformed(kClusterNodes, line, "bad port in address '" + std::string(field) + "'");
  }
  // Redis before 4.0 had no "@cport"; its bus port was always port + 10000.
  std::optional<int> cport = at == std::string_view::npos
                                 ? std::optional<int>(*port == 0 ? 0 : *port + 10000)
                                 : parseNumber<int>(cport_text);
  if (!cport || *cport < 0 || *cport > 65535) {
    return malformed(kClusterNodes, line, "bad bus port in address '" + std::string(field) + "'");
  }
  node->ip = std::string(ip);
  node->port = *port;
  node->cport = *cport;
  return Status::ok();
}

// Unknown flags are ignored rather than rejected so a newer Redis does not blind the operator.
void parseNodeFlags(std::string_view field, ClusterNodeEntry* node) {
  for (std::string_view flag : splitOn(field, ',')) {
    if (flag == "myself") node->myself = true;
    if (flag == "master") node->master = true;
    if (flag == "slave") node->replica = true;
    if (flag == "fail?") node->pfail = true;
    if (flag == "fail") node->fail = true;
    if (flag == "handshake") node->handshake = true;
    if (flag == "noaddr") node->noaddr = true;
    if (flag == "nofailover") node->nofailover = true;
  }
}

// "[slot->-peer]" (migrating) or "[slot-<-peer]" (importing).
Status parseOpenSlot(std::string_view field, const NumberedLine& line, ClusterNodeEntry* node) {
  std::string_view body = field.substr(1, field.size() - 2);
  OpenSlot open;
  size_t marker = body.find("->-");
  open.kind = OpenSlot::Kind::kMigrating;
  if (marker == std::string_view::npos) {
    marker = body.find("-<-");
    open.kind = OpenSlot::Kind::kImporting;
  }
  if (field.back() != ']' || marker == std::string_view::npos) {
    return malformed(kClusterNodes, line, "bad open slot '" + std::string(field) + "'");
  }
  auto slot = parseSlot(body.substr(0, marker));
  std::string_view peer = body.substr(marker + 3);
  if (!slot) {
    return malformed(kClusterNodes, line, "bad slot in open slot '" + std::string(field) + "'");
  }
  if (!looksLikeNodeId(peer)) {
    return malformed(kClusterNodes, line, "bad peer id in open slot '" + std::string(field) + "'");
  }
  open.slot = *slot;
  open.peer_id = std::string(peer);
  node->open_slots.push_back(std::move(open));
  return Status::ok();
}

// "N" or "N-M", 0 <= N <= M <= 16383.
Status parseSlotField(std::string_view field, const NumberedLine& line, ClusterNodeEntry* node) {
  if (field.front() == '[') return parseOpenSlot(field, line, node);
  size_t dash = field.find('-');
  auto first = parseSlot(field.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : parseSlot(field.substr(dash + 1));
  if (!first || !last) {
    return malformed(kClusterNodes, line,
                     "bad slot '" + std::string(field) + "' (slots are 0-16383)");
  }
  if (*last < *first) {
    return malformed(kClusterNodes, line, "reversed slot range '" + std::string(field) + "'");
  }
  node->slots.push_back({*first, *last});
  return Status::ok();
}

Status parseTimestamp(std::string_view field, std::string_view name, const NumberedLine& line,
                      int64_t* out) {
  auto value = parseNumber<int64_t>(field);
  if (!value || *value < 0) {
    return malformed(kClusterNodes, line,
                     "bad " + std::string(name) + " '" + std::string(field) + "'");
  }
  *out = *value;
  return Status::ok();
}

Result<ClusterNodeEntry> parseClusterNodeLine(const NumberedLine& line) {
  std::vector<std::string_view> fields = splitWords(line.text);
  if (fields.size() < kFixedNodeFields) {
    return malformed(kClusterNodes, line,
                     "expected at least 8 fields, got " + std::to_string(fields.size()));
  }
  ClusterNodeEntry node;
  if (!looksLikeNodeId(fields[0])) {
    return malformed(kClusterNodes, line,
                     "missing or bad node id '" + std::string(fields[0]) + "'");
  }
  node.id = std::string(fields[0]);
  RETURN_IF_ERROR(parseNodeAddress(fields[1], line, &node));
  parseNodeFlags(fields[2], &node);
  if (fields[3] != "-") {
    if (!looksLikeNodeId(fields[3])) {
      return malformed(kClusterNodes, line, "bad master id '" + std::string(fields[3]) + "'");
    }
    node.master_id = std::string(fields[3]);
  }
  RETURN_IF_ERROR(parseTimestamp(fields[4], "ping-sent", line, &node.ping_sent));
  RETURN_IF_ERROR(parseTimestamp(fields[5], "pong-recv", line, &node.pong_recv));
  RETURN_IF_ERROR(parseTimestamp(fields[6], "config-epoch", line, &node.config_epoch));
  if (fields[7] != "connected" && fields[7] != "disconnected") {
    return malformed(kClusterNodes, line, "unknown link state '" + std::string(fields[7]) + "'");
  }
  node.connected = fields[7] == "connected";
  for (size_t i = kFixedNodeFields; i < fields.size(); ++i) {
    RETURN_IF_ERROR(parseSlotField(fields[i], line, &node));
  }
  return node;
}

// ---- "key:value" replies (CLUSTER INFO, INFO <section>) ----

using FieldHandler =
    std::function<Status(std::string_view key, std::string_view value, const NumberedLine& line)>;

Status forEachInfoField(std::string_view reply_name, std::string_view text,
                        const FieldHandler& handle) {
  for (const NumberedLine& line : splitLines(text)) {
    if (line.text.front() == '#') continue;  // "# Replication" section header
    size_t colon = line.text.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return malformed(reply_name, line, "expected 'key:value'");
    }
    RETURN_IF_ERROR(handle(line.text.substr(0, colon), line.text.substr(colon + 1), line));
  }
  return Status::ok();
}

template <typename T>
Status assignNumber(std::string_view reply_name, std::string_view key, std::string_view value,
                    const NumberedLine& line, T* out) {
  auto number = parseNumber<T>(value);
  if (!number) {
    return malformed(reply_name, line,
                     "non-numeric " + std::string(key) + " '" + std::string(value) + "'");
  }
  *out = *number;
  return Status::ok();
}

// ---- CLUSTER INFO ----

constexpr std::string_view kClusterInfo = "CLUSTER INFO";

Status applyClusterInfoField(std::string_view key, std::string_view value, const NumberedLine& line,
                             ClusterInfo* info) {
  auto number = [&](auto* out) { return assignNumber(kClusterInfo, key, value, line, out); };
  if (key == "cluster_state") {
    info->state = std::string(value);
    return Status::ok();
  }
  if (key == "cluster_slots_assigned") return number(&info->slots_assigned);
  if (key == "cluster_slots_ok") return number(&info->slots_ok);
  if (key == "cluster_slots_pfail") return number(&info->slots_pfail);
  if (key == "cluster_slots_fail") return number(&info->slots_fail);
  if (key == "cluster_known_nodes") return number(&info->known_nodes);
  if (key == "cluster_size") return number(&info->size);
  if (key == "cluster_current_epoch") return number(&info->current_epoch);
  if (key == "cluster_my_epoch") return number(&info->my_epoch);
  return Status::ok();  // message statistics the operator does not act on
}

// ---- INFO replication ----

constexpr std::string_view kInfoReplication = "INFO replication";

// "slave0", "slave12": but not "slave_repl_offset" or "slave_priority".
bool isReplicaEntryKey(std::string_view key) {
  constexpr std::string_view kPrefix = "slave";
  if (key.size() <= kPrefix.size() || key.substr(0, kPrefix.size()) != kPrefix) return false;
  return parseNumber<int>(key.substr(kPrefix.size())).has_value();
}

// "ip=127.0.0.1,port=7001,state=online,offset=1234,lag=0".
Result<ReplicaLink> parseReplicaEntry(std::string_view value, const NumberedLine& line) {
  ReplicaLink link;
  bool have_ip = false;
  bool have_port = false;
  for (std::string_view pair : splitOn(value, ',')) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return malformed(kInfoReplication, line,
                       "expected 'name=value', got '" + std::string(pair) + "'");
    }
    std::string_view name = pair.substr(0, eq);
    std::string_view field = pair.substr(eq + 1);
    if (name == "ip") {
      link.ip = std::string(field);
      have_ip = !field.empty();
    } else if (name == "port") {
      RETURN_IF_ERROR(assignNumber(kInfoReplication, "replica port", field, line, &link.port));
      have_port = true;
    } else if (name == "state") {
      link.state = std::string(field);
    } else if (name == "offset") {
      RETURN_IF_ERROR(assignNumber(kInfoReplication, "replica offset", field, line, &link.offset));
    } else if (name == "lag") {
      RETURN_IF_ERROR(
          assignNumber(kInfoReplication, "replica lag", field, line, &link.lag_seconds));
    }
  }
  if (!have_ip || !have_port) {
    return malformed(kInfoReplication, line, "replica entry without ip and port");
  }
  return link;
}

Status applyReplicationField(std::string_view key, std::string_view value, const NumberedLine& line,
                             ReplicationInfo* info) {
  if (key == "role") {
    info->role = std::string(value);
  } else if (isReplicaEntryKey(key)) {
    ASSIGN_OR_RETURN(ReplicaLink link, parseReplicaEntry(value, line));
    info->replicas.push_back(std::move(link));
  } else if (key == "master_repl_offset") {
    return assignNumber(kInfoReplication, key, value, line, &info->master_repl_offset);
  } else if (key == "master_host") {
    info->master_host = std::string(value);
  } else if (key == "master_port") {
    return assignNumber(kInfoReplication, key, value, line, &info->master_port);
  } else if (key == "master_link_status") {
    info->master_link_status = std::string(value);
  } else if (key == "master_sync_in_progress") {
    int in_progress = 0;
    RETURN_IF_ERROR(assignNumber(kInfoReplication, key, value, line, &in_progress));
    info->master_sync_in_progress = in_progress != 0;
  } else if (key == "slave_repl_offset") {
    return assignNumber(kInfoReplication, key, value, line, &info->slave_repl_offset);
  } else if (key == "master_last_io_seconds_ago") {
    return assignNumber(kInfoReplication, key, value, line, &info->master_last_io_seconds_ago);
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<ClusterNodeEntry>> parseClusterNodes(std::string_view text) {
  std::vector<ClusterNodeEntry> nodes;
  for (const NumberedLine& line : splitLines(text)) {
    ASSIGN_OR_RETURN(ClusterNodeEntry node, parseClusterNodeLine(line));
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<ClusterInfo> parseClusterInfo(std::string_view text) {
  ClusterInfo info;
  RETURN_IF_ERROR(forEachInfoField(
      kClusterInfo, text,
      [&info](std::string_view key, std::string_view value, const NumberedLine& line) {
        return applyClusterInfoField(key, value, line, &info);
      }));
  if (info.state.empty()) return internalError("CLUSTER INFO has no cluster_state field");
  return info;
}

Result<MemoryInfo> parseMemoryInfo(std::string_view text) {
  constexpr std::string_view kInfoMemory = "INFO memory";
  MemoryInfo info;
  bool seen = false;
  RETURN_IF_ERROR(forEachInfoField(
      kInfoMemory, text,
      [&](std::string_view key, std::string_view value, const NumberedLine& line) -> Status {
        if (key == "used_memory") {
          seen = true;
          return assignNumber(kInfoMemory, key, value, line, &info.used_memory);
        }
        if (key == "maxmemory") return assignNumber(kInfoMemory, key, value, line, &info.maxmemory);
        return Status::ok();
      }));
  if (!seen) return internalError("INFO memory has no used_memory field");
  return info;
}

Result<LoadInfo> parseLoadInfo(std::string_view text) {
  constexpr std::string_view kInfoLoad = "INFO clients/stats";
  LoadInfo info;
  RETURN_IF_ERROR(forEachInfoField(
      kInfoLoad, text,
      [&](std::string_view key, std::string_view value, const NumberedLine& line) -> Status {
        int64_t* field = key == "connected_clients"           ? &info.connected_clients
                         : key == "instantaneous_ops_per_sec" ? &info.ops_per_sec
                         : key == "evicted_keys"              ? &info.evicted_keys
                         : key == "expired_keys"              ? &info.expired_keys
                                                              : nullptr;
        if (field == nullptr) return Status::ok();
        return assignNumber(kInfoLoad, key, value, line, field);
      }));
  return info;
}

Result<ReplicationInfo> parseReplicationInfo(std::string_view text) {
  ReplicationInfo info;
  RETURN_IF_ERROR(forEachInfoField(
      kInfoReplication, text,
      [&info](std::string_view key, std::string_view value, const NumberedLine& line) {
        return applyReplicationField(key, value, line, &info);
      }));
  if (info.role != "master" && info.role != "slave") {
    return internalError("INFO replication has no valid role (got '" + info.role + "')");
  }
  return info;
}

}  // namespace slotkeeper::redis
