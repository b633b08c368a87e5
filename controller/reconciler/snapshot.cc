#include "reconciler/snapshot.h"

#include <algorithm>
#include <random>

#include "api/codec.h"
#include "common/log.h"
#include "engine/observer.h"
#include "engine/read_once_connector.h"
#include "kube/base64.h"
#include "reconciler/decide.h"
#include "reconciler/password_rotation.h"
#include "redis/transport.h"
#include "resources/config_map.h"
#include "resources/metadata.h"
#include "resources/operator_user.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;

constexpr std::string_view kZoneLabel = "topology.kubernetes.io/zone";

Result<std::string> secretValue(const json& secret, const std::string& key);

SecretRead readPassword(KubePort& kube, const api::RedisCluster& cluster,
                        const SnapshotMemory& memory) {
  SecretRead out;
  if (!cluster.spec.password_secret.has_value()) return out;
  const auto& ref = *cluster.spec.password_secret;
  auto unavailable = [&](const std::string& problem) {
    out.kind = SecretRead::Kind::kUnavailable;
    out.password = memory.last_good_password;
    out.problem = "password Secret " + ref.name + ": " + problem;
    return out;
  };
  auto secret = kube.readSecret(cluster.ns, ref.name);
  if (!secret.isOk()) {
    if (secret.status().code() == StatusCode::kNotFound) return unavailable("not found");
    return unavailable(secret.status().message());
  }
  auto password = secretValue(*secret, ref.key);
  if (!password.isOk()) return unavailable(password.status().message());
  out.kind = SecretRead::Kind::kRead;
  out.password = std::move(password).value();
  return out;
}

// Reads one key of a Secret's data; the error names the key.
Result<std::string> secretValue(const json& secret, const std::string& key) {
  const auto& data = secret.value("data", json::object());
  if (!data.contains(key) || !data[key].is_string()) {
    return invalidArgument("has no key '" + key + "'");
  }
  std::string value;
  if (!kube::base64Decode(data[key].get<std::string>(), &value)) {
    return invalidArgument("key '" + key + "' is not base64");
  }
  return value;
}

// The TLS Secret's certificate (presented when a node asks for one), key and CA, and the hash
// of the certificate the nodes should serve.
TlsRead readTls(KubePort& kube, const api::RedisCluster& cluster, const std::string& name,
                const SnapshotMemory& memory) {
  TlsRead out;
  if (name.empty()) return out;
  auto unavailable = [&](const std::string& problem) {
    out.kind = TlsRead::Kind::kUnavailable;
    out.options = memory.last_good_tls;
    out.problem = "TLS Secret " + name + ": " + problem;
    return out;
  };
  auto secret = kube.readSecret(cluster.ns, name);
  if (!secret.isOk()) {
    if (secret.status().code() == StatusCode::kNotFound) return unavailable("not found");
    return unavailable(secret.status().message());
  }
  redis::TlsOptions tls;
  tls.enabled = true;
  std::string* fields[] = {&tls.cert_pem, &tls.key_pem, &tls.ca_pem};
  const std::string_view keys[] = {resources::kTlsCertKey, resources::kTlsKeyKey,
                                   resources::kTlsCaKey};
  for (size_t i = 0; i < 3; ++i) {
    auto value = secretValue(*secret, std::string(keys[i]));
    if (!value.isOk()) return unavailable(value.status().message());
    *fields[i] = std::move(value).value();
  }
  auto sha = redis::pemCertificateSha256(tls.cert_pem);
  if (!sha.isOk()) return unavailable(sha.status().message());
  out.kind = TlsRead::Kind::kRead;
  out.options = std::move(tls);
  out.certificate_sha256 = std::move(sha).value();
  return out;
}

// 32 random bytes as hex, from the kernel's generator.
std::string randomPassword() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    const unsigned int word = device();
    for (int shift = 0; shift < 16; shift += 4) out += kHex[(word >> shift) & 0xf];
  }
  return out;
}

OperatorUserRead readOperatorUser(KubePort& kube, const api::RedisCluster& cluster) {
  OperatorUserRead out;
  if (!cluster.spec.password_secret.has_value()) return out;
  const std::string name = resources::operatorUserSecretName(cluster);
  auto secret = kube.readSecret(cluster.ns, name);
  if (!secret.isOk() && secret.status().code() == StatusCode::kNotFound) {
    out.proposed_password = randomPassword();
    return out;
  }
  auto password = secret.isOk()
                      ? secretValue(*secret, std::string(resources::kOperatorUserPasswordKey))
                      : Result<std::string>(secret.status());
  if (password.isOk() && !password->empty()) {
    out.password = std::move(password).value();
  } else {
    out.problem = "operator user Secret " + name + ": " +
                  (password.isOk() ? std::string("empty password") : password.status().message());
  }
  return out;
}

std::vector<UserRead> readUsers(KubePort& kube, const api::RedisCluster& cluster) {
  std::vector<UserRead> out;
  for (const auto& user : cluster.spec.users) {
    UserRead read;
    read.name = user.name;
    read.rules = user.rules;
    read.grace = std::chrono::seconds(user.password_secret.rotation_grace_seconds);
    const auto& ref = user.password_secret;
    auto secret = kube.readSecret(cluster.ns, ref.name);
    auto password =
        secret.isOk() ? secretValue(*secret, ref.key) : Result<std::string>(secret.status());
    if (password.isOk()) {
      read.password = std::move(password).value();
      read.password_sha256 = sha256Hex(read.password);
      read.rules_hash = hashObject({{"rules", user.rules}});
    } else {
      read.problem =
          "user " + user.name + ": password Secret " + ref.name + ": " +
          (password.status().code() == StatusCode::kNotFound ? std::string("not found")
                                                             : password.status().message());
    }
    out.push_back(std::move(read));
  }
  return out;
}

std::vector<PodInfo> readPods(KubePort& kube, const api::RedisCluster& cluster) {
  std::vector<PodInfo> pods;
  for (const auto& pod : kube.readOwned(kube::kPods, cluster.ns, cluster.name)) {
    auto info = podInfoFrom(pod);
    if (!info.isOk()) {
      log::warn("ignoring pod", {{"error", info.status().toString()}});
      continue;
    }
    pods.push_back(std::move(info).value());
  }
  return pods;
}

// A pod this process deleted is gone, whatever a lagging cache says; uids the cache no longer
// lists are forgotten.
void forgetReplacedPods(SnapshotMemory& memory, std::vector<PodInfo>* pods) {
  std::set<std::string> listed;
  for (auto& p : *pods) {
    listed.insert(p.uid);
    if (memory.deleted_pod_uids.count(p.uid)) {
      p.terminating = true;
      p.ready = false;
    }
  }
  std::erase_if(memory.deleted_pod_uids,
                [&](const std::string& uid) { return !listed.count(uid); });
}

// Zone mode: each pod's failure domain is its Node's zone label. A Node's zone is read once per
// process (a Node does not move between zones); a Node that cannot be read, or has no zone,
// leaves the pod without a domain, which the planner treats as unknown.
void assignZones(KubePort& kube, SnapshotMemory& memory, std::vector<PodInfo>* pods) {
  for (auto& p : *pods) {
    p.failure_domain.clear();
    if (p.node_name.empty()) continue;
    auto known = memory.node_zones.find(p.node_name);
    if (known == memory.node_zones.end()) {
      auto node = kube.readNode(p.node_name);
      if (!node.isOk()) {
        log::warn("node zone unknown",
                  {{"node", p.node_name}, {"error", node.status().toString()}});
        continue;
      }
      const auto& labels = node->value("metadata", json::object()).value("labels", json::object());
      known = memory.node_zones
                  .emplace(p.node_name, labels.value(std::string(kZoneLabel), std::string()))
                  .first;
    }
    p.failure_domain = known->second;
  }
}

std::optional<int> shardOf(const json& sts) {
  const auto& meta = sts.value("metadata", json::object());
  return resources::shardFromLabels(meta.value("labels", json::object()));
}

std::string pathOf(const json& sts) {
  const auto& meta = sts.value("metadata", json::object());
  return kube::kStatefulSets.in(meta.value("namespace", "")).named(meta.value("name", "")).path();
}

std::string appliedHashOf(const json& object) {
  const auto& annotations =
      object.value("metadata", json::object()).value("annotations", json::object());
  return annotations.value(std::string(resources::kAnnotationAppliedHash), "");
}

// INFO replication of every reachable node, and CLUSTER INFO of one master serving slots. The
// views come from the observation's own reads (the connector answers them again from memory).
void readNodeInfo(redis::NodeConnector& connector, bool passwords,
                  const std::vector<std::string>& users, bool list_users, LiveObservation* live) {
  for (const auto& n : live->cluster.nodes) {
    if (!n.reachable) continue;
    auto client = connector.connect(n.address);
    if (!client.isOk()) continue;
    // One round trip for every read; the typed reads below are answered from memory.
    std::vector<redis::Command> reads = {
        {"INFO", "replication"}, {"INFO", "memory"}, {"INFO", "clients"}, {"INFO", "stats"}};
    if (passwords) {
      reads.push_back({"ACL", "GETUSER", "default"});
      reads.push_back({"CONFIG", "GET", "masterauth"});
    }
    if (list_users) reads.push_back({"ACL", "USERS"});
    for (const auto& user : users) reads.push_back({"ACL", "GETUSER", user});
    (void)(*client)->pipeline(reads);
    if (auto memory = (*client)->infoMemory(); memory.isOk()) live->memory[n.address] = *memory;
    if (auto load = (*client)->infoLoad(); load.isOk()) live->load[n.address] = *load;
    if (list_users) {
      auto listed = (*client)->command({"ACL", "USERS"});
      if (listed.isOk()) {
        auto& names = live->acl_users[n.address];
        for (const auto& e : listed->elements) names.insert(e.str);
      }
    }
    for (const auto& user : users) {
      auto hashes = (*client)->aclPasswordHashes(user);
      if (hashes.isOk()) live->user_passwords[n.address][user] = std::move(hashes).value();
    }
    if (std::string served = (*client)->servedCertificateSha256(); !served.empty()) {
      live->served_certificates[n.address] = std::move(served);
    }
    if (passwords) {
      auto hashes = (*client)->aclPasswordHashes("default");
      auto masterauth = (*client)->configGet("masterauth");
      if (hashes.isOk() && masterauth.isOk()) {
        live->passwords[n.address] = {std::move(hashes).value(), std::move(masterauth).value()};
      }
    }
    if (auto view = (*client)->clusterNodes(); view.isOk()) {
      live->views[n.address] = std::move(view).value();
    }
    if (auto repl = (*client)->infoReplication(); repl.isOk()) {
      live->replication[n.address] = std::move(repl).value();
    }
    if (!live->info.has_value() && n.is_master && !n.slots.empty()) {
      if (auto info = (*client)->clusterInfo(); info.isOk()) live->info = std::move(info).value();
    }
  }
}

// The live tls-cluster of the dual pods (by pod name), read over their plaintext port, which
// serves whatever their bus runs. A pod that cannot be read is left out.
std::map<std::string, bool> readDualPodBus(RedisPort& redis, redis::ConnectOptions connect,
                                           const std::vector<PodInfo>& pods) {
  std::map<std::string, bool> live;
  const auto probes = dualPodProbes(pods);
  if (probes.empty()) return live;
  connect.tls = {};
  auto connector = redis.connector(connect);
  for (const auto& [pod, address] : probes) {
    auto client = connector->connect(address);
    auto value =
        client.isOk() ? (*client)->configGet("tls-cluster") : Result<std::string>(client.status());
    if (!value.isOk()) {
      log::debug("TLS bus of a dual pod unknown",
                 {{"pod", pod}, {"error", value.status().toString()}});
      continue;
    }
    live[pod] = *value == "yes";
  }
  return live;
}

}  // namespace

std::map<int, json> mergeStatefulSets(const std::vector<json>& cached, SnapshotMemory& memory) {
  std::map<int, json> out;
  std::set<std::string> seen;
  for (const auto& sts : cached) {
    const std::string path = pathOf(sts);
    seen.insert(path);
    if (memory.deleted_statefulsets.count(path)) continue;  // deleted; the cache lags
    auto shard = shardOf(sts);
    if (!shard.has_value()) continue;
    auto written = memory.applied_statefulsets.find(path);
    if (written != memory.applied_statefulsets.end()) {
      if (appliedHashOf(sts) != appliedHashOf(written->second)) {
        out[*shard] = written->second;  // our last write is not in the cache yet
        continue;
      }
      memory.applied_statefulsets.erase(written);  // caught up
    }
    out[*shard] = sts;
  }
  for (auto it = memory.applied_statefulsets.begin(); it != memory.applied_statefulsets.end();) {
    auto shard = shardOf(it->second);
    if (!seen.count(it->first) && shard.has_value()) {
      out[*shard] = it->second;  // created, not in the cache yet
      ++it;
    } else if (!shard.has_value()) {
      it = memory.applied_statefulsets.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(memory.deleted_statefulsets, [&](const std::string& p) { return !seen.count(p); });
  return out;
}

redis::ConnectOptions connectOptionsFor(const Snapshot& snapshot, const SnapshotOptions& options) {
  redis::TlsOptions tls = snapshot.tls.options;
  tls.enabled = tls.enabled && snapshot.tls_change.bus_tls;
  for (const auto& pod : snapshot.pods) {
    if (tls.enabled && !pod.ip.empty())
      tls.dns_names[pod.ip] = podDnsNames(snapshot.cluster, pod.name);
  }
  redis::ConnectOptions connect =
      connectOptionsFor(snapshot.cluster, options, snapshot.secret.password, tls);
  connect.fallback_password = snapshot.fallback_password;
  if (!snapshot.operator_user.password.empty()) {
    connect.username = std::string(resources::kOperatorUser);
    connect.user_password = snapshot.operator_user.password;
  }
  return connect;
}

redis::ConnectOptions connectOptionsFor(const api::RedisCluster& cluster,
                                        const SnapshotOptions& options, const std::string& password,
                                        const redis::TlsOptions& tls) {
  redis::ConnectOptions connect = options.connect;
  connect.password = password;
  connect.tls = tls;
  // A MIGRATE batch may legitimately take up to the migration timeout.
  connect.command_timeout = std::chrono::seconds(cluster.spec.migration.timeout_seconds + 30);
  return connect;
}

std::vector<std::string> podDnsNames(const api::RedisCluster& cluster, const std::string& pod) {
  const std::string name =
      pod + "." + resources::headlessServiceName(cluster) + "." + cluster.ns + ".svc";
  return {name, name + ".cluster.local"};
}

Result<std::optional<Snapshot>> takeSnapshot(KubePort& kube, RedisPort& redis,
                                             const std::string& ns, const std::string& name,
                                             SnapshotMemory& memory, const SnapshotOptions& options,
                                             Clock& clock) {
  ASSIGN_OR_RETURN(auto object, kube.readCluster(ns, name));
  if (!object.has_value()) return std::optional<Snapshot>();
  Snapshot snap;
  ASSIGN_OR_RETURN(snap.cluster, api::decodeRedisCluster(*object));
  if (!snap.cluster.deletion_timestamp.empty()) return std::optional<Snapshot>();
  if (memory.written_status.has_value()) {
    if (snap.cluster.resource_version == memory.status_base_version) {
      snap.cluster.status = *memory.written_status;  // our write is not in the cache yet
    } else {
      memory.written_status.reset();  // caught up, or changed since: the cache is newer
    }
  }
  snap.object = std::move(*object);
  snap.now = clock.wallNow();
  snap.applied_hashes = memory.applied_hashes;
  snap.statefulsets = mergeStatefulSets(kube.readOwned(kube::kStatefulSets, ns, name), memory);
  snap.pods = readPods(kube, snap.cluster);
  forgetReplacedPods(memory, &snap.pods);
  if (snap.cluster.spec.failure_domain == api::FailureDomain::kZone) {
    assignZones(kube, memory, &snap.pods);
  }
  snap.secret = readPassword(kube, snap.cluster, memory);
  snap.tls = readTls(kube, snap.cluster, tlsSecretName(snap.cluster, snap.pods), memory);
  snap.users = readUsers(kube, snap.cluster);
  snap.operator_user = readOperatorUser(kube, snap.cluster);
  if (!snap.operator_user.password.empty()) {
    const std::string& password = snap.operator_user.password;
    UserRead user;
    user.name = std::string(resources::kOperatorUser);
    user.rules = std::string(resources::kOperatorUserRules);
    user.password = password;
    user.password_sha256 = sha256Hex(password);
    user.rules_hash = hashObject({{"rules", resources::kOperatorUserRules}});
    snap.users.push_back(std::move(user));
  }

  if (memory.last_good_password != snap.secret.password) {
    snap.fallback_password = memory.last_good_password;
  }
  snap.tls_change = planTlsChange(
      snap.cluster, snap.pods, readDualPodBus(redis, connectOptionsFor(snap, options), snap.pods));
  assignPorts(snap.tls_change.bus_tls, &snap.pods);

  std::vector<std::string> addresses;
  std::map<std::string, std::string> domains;
  for (const auto& p : snap.pods) {
    if (p.ip.empty() || p.terminating) continue;
    addresses.push_back(p.address());
    domains[p.address()] = p.failure_domain;
  }
  std::erase_if(memory.live_settings_applied, [&](const auto& entry) {
    return std::find(addresses.begin(), addresses.end(), entry.first) == addresses.end();
  });
  snap.live_settings_applied = memory.live_settings_applied;
  std::erase_if(memory.users_applied, [&](const auto& entry) {
    const std::string address = entry.first.substr(0, entry.first.find('/'));
    return std::find(addresses.begin(), addresses.end(), address) == addresses.end();
  });
  snap.users_applied = memory.users_applied;
  snap.user_errors = memory.user_errors;
  snap.user_rotations = memory.user_rotations;
  if (addresses.empty()) return std::optional<Snapshot>(std::move(snap));
  // TLS nodes and no certificate material yet: nothing could be read without it.
  if (snap.tls_change.bus_tls && !snap.tls.options.enabled) {
    return std::optional<Snapshot>(std::move(snap));
  }
  auto real = redis.connector(connectOptionsFor(snap, options));
  engine::ReadOnceConnector once(*real);
  LiveObservation live;
  const auto aliases = otherPortAliases(snap.pods);
  ASSIGN_OR_RETURN(live.cluster, engine::observeCluster(once, addresses, domains, aliases));
  std::vector<std::string> user_names;
  for (const auto& user : snap.users) user_names.push_back(user.name);
  const bool list_users = !snap.users.empty() || !memory.users_applied.empty();
  readNodeInfo(once, snap.cluster.spec.password_secret.has_value(), user_names, list_users, &live);
  snap.live = std::move(live);

  // The planner starts from the desired nodes only, as the engine always has; the reads are
  // shared with the observation above.
  std::map<int, int> sizes;
  for (const auto& [shard, sts] : snap.statefulsets) {
    sizes[shard] = sts.value("spec", json::object()).value("replicas", 1);
  }
  ShapeChange shape = planShapeChange(snap.cluster.spec.masters,
                                      snap.cluster.spec.replicas_per_master, sizes, snap.pods);
  if (shape.waiting_for.empty() && snap.secret.kind != SecretRead::Kind::kUnavailable &&
      snap.tls.kind != TlsRead::Kind::kUnavailable) {
    std::vector<std::string> seeds;
    std::map<std::string, std::string> desired_domains;
    for (const auto& n : shape.desired.nodes) {
      seeds.push_back(n.address);
      if (!n.failure_domain.empty()) desired_domains[n.address] = n.failure_domain;
    }
    ASSIGN_OR_RETURN(auto view, engine::observeCluster(once, seeds, desired_domains, aliases));
    snap.planner_view = std::move(view);
  }
  snap.redis_connections = once.connectionsOpened();
  return std::optional<Snapshot>(std::move(snap));
}

}  // namespace slotkeeper::reconciler
