// RedisCluster JSON codec. Decoding checks every value's JSON type before reading it and names
// the field on failure; the outer try/catch turns anything nlohmann::json still throws into an
// error value, so no exception leaves this file.
#include "api/codec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "api/defaults.h"

namespace slotkeeper::api {
namespace {

using nlohmann::json;

// A short rendering of a bad value for error messages (a whole object would drown the point).
std::string describeValue(const json& value) {
  std::string text = value.dump();
  constexpr size_t kMaxShown = 60;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return std::string(value.type_name()) + " " + text;
}

Status typeError(const std::string& path, std::string_view expected, const json& got) {
  return invalidArgument(path + ": expected " + std::string(expected) + ", got " +
                         describeValue(got));
}

// Reads the fields of one JSON object, addressing errors by the object's path ("spec.storage").
// Absent and null fields leave the output untouched: the caller's initial value is the default.
class FieldReader {
 public:
  FieldReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // The value at `key`, or nullptr when absent or null.
  const json* find(std::string_view key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status required(std::string_view key) const {
    if (find(key) == nullptr) return invalidArgument(pathOf(key) + ": required field is missing");
    return Status::ok();
  }

  Status readString(std::string_view key, std::string* out) const {
    const json* v = find(key);
    if (v == nullptr) return Status::ok();
    if (!v->is_string()) return typeError(pathOf(key), "a string", *v);
    *out = v->get<std::string>();
    return Status::ok();
  }

  Status readBool(std::string_view key, bool* out) const {
    const json* v = find(key);
    if (v == nullptr) return Status::ok();
    if (!v->is_boolean()) return typeError(pathOf(key), "a boolean", *v);
    *out = v->get<bool>();
    return Status::ok();
  }

  Status readInt64(std::string_view key, int64_t* out) const {
    const json* v = find(key);
    if (v == nullptr) return Status::ok();
    if (v->is_number_unsigned()) {
      if (v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return invalidArgument(pathOf(key) + ": " + v->dump() + " does not fit in 64 bits");
      }
      *out = static_cast<int64_t>(v->get<uint64_t>());
      return Status::ok();
    }
    if (!v->is_number_integer()) return typeError(pathOf(key), "an integer", *v);
    *out = v->get<int64_t>();
    return Status::ok();
  }

  Status readInt32(std::string_view key, int32_t* out) const {
    int64_t wide = *out;
    RETURN_IF_ERROR(readInt64(key, &wide));
    if (wide < std::numeric_limits<int32_t>::min() || wide > std::numeric_limits<int32_t>::max()) {
      return invalidArgument(pathOf(key) + ": " + std::to_string(wide) +
                             " does not fit in a 32-bit integer");
    }
    *out = static_cast<int32_t>(wide);
    return Status::ok();
  }

  // An object field; `*out` is null when the field is absent.
  Status readObject(std::string_view key, const json** out) const {
    *out = find(key);
    if (*out != nullptr && !(*out)->is_object()) return typeError(pathOf(key), "an object", **out);
    return Status::ok();
  }

  Status readArray(std::string_view key, const json** out) const {
    *out = find(key);
    if (*out != nullptr && !(*out)->is_array()) return typeError(pathOf(key), "an array", **out);
    return Status::ok();
  }

  Status readStringMap(std::string_view key, std::map<std::string, std::string>* out) const {
    const json* map = nullptr;
    RETURN_IF_ERROR(readObject(key, &map));
    if (map == nullptr) return Status::ok();
    out->clear();
    for (const auto& [k, v] : map->items()) {
      if (!v.is_string()) return typeError(pathOf(key) + "." + k, "a string", v);
      (*out)[k] = v.get<std::string>();
    }
    return Status::ok();
  }

  // A resource.Quantity: the schema allows an integer or a string.
  Status readQuantity(std::string_view key, std::string* out) const {
    const json* v = find(key);
    if (v == nullptr) return Status::ok();
    return quantityText(pathOf(key), *v, out);
  }

  Status readQuantityMap(std::string_view key, std::map<std::string, std::string>* out) const {
    const json* map = nullptr;
    RETURN_IF_ERROR(readObject(key, &map));
    if (map == nullptr) return Status::ok();
    out->clear();
    for (const auto& [k, v] : map->items()) {
      RETURN_IF_ERROR(quantityText(pathOf(key) + "." + k, v, &(*out)[k]));
    }
    return Status::ok();
  }

 private:
  static Status quantityText(const std::string& path, const json& v, std::string* out) {
    if (v.is_string()) {
      *out = v.get<std::string>();
    } else if (v.is_number_integer()) {
      *out = v.dump();
    } else {
      return typeError(path, "a quantity (a string such as \"1Gi\" or an integer)", v);
    }
    return Status::ok();
  }

  const json& object_;
  std::string path_;
};

Status decodeResources(const json& object, const std::string& path, ResourceRequirements* out) {
  FieldReader r(object, path);
  RETURN_IF_ERROR(r.readQuantityMap("limits", &out->limits));
  RETURN_IF_ERROR(r.readQuantityMap("requests", &out->requests));
  return Status::ok();
}

Status decodeStorage(const json& object, const std::string& path, StorageSpec* out) {
  FieldReader r(object, path);
  RETURN_IF_ERROR(r.required("size"));
  RETURN_IF_ERROR(r.readQuantity("size", &out->size));
  RETURN_IF_ERROR(r.readString("storageClassName", &out->storage_class_name));
  return Status::ok();
}

Status decodePasswordSecret(const json& object, const std::string& path, PasswordSecretRef* out) {
  FieldReader r(object, path);
  RETURN_IF_ERROR(r.required("name"));
  RETURN_IF_ERROR(r.readString("name", &out->name));
  RETURN_IF_ERROR(r.readString("key", &out->key));
  RETURN_IF_ERROR(r.readInt32("rotationGraceSeconds", &out->rotation_grace_seconds));
  return Status::ok();
}

Status decodeTls(const json& object, const std::string& path, TlsSpec* out) {
  FieldReader r(object, path);
  RETURN_IF_ERROR(r.required("secretName"));
  RETURN_IF_ERROR(r.readString("secretName", &out->secret_name));
  RETURN_IF_ERROR(r.readBool("requireClientCertificates", &out->require_client_certificates));
  return Status::ok();
}

Status decodeUsers(const json& list, const std::string& path, std::vector<UserSpec>* out) {
  if (!list.is_array()) return typeError(path, "a list", list);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = path + "[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return typeError(item, "an object", list[i]);
    FieldReader r(list[i], item);
    UserSpec user;
    RETURN_IF_ERROR(r.required("name"));
    RETURN_IF_ERROR(r.readString("name", &user.name));
    RETURN_IF_ERROR(r.required("passwordSecret"));
    const json* secret = nullptr;
    RETURN_IF_ERROR(r.readObject("passwordSecret", &secret));
    if (secret != nullptr) {
      RETURN_IF_ERROR(
          decodePasswordSecret(*secret, r.pathOf("passwordSecret"), &user.password_secret));
    }
    RETURN_IF_ERROR(r.required("rules"));
    RETURN_IF_ERROR(r.readString("rules", &user.rules));
    out->push_back(std::move(user));
  }
  return Status::ok();
}

Status decodeAntiAffinity(const FieldReader& r, PodAntiAffinity* out) {
  std::string text(podAntiAffinityName(*out));
  RETURN_IF_ERROR(r.readString("podAntiAffinity", &text));
  if (text == "required") {
    *out = PodAntiAffinity::kRequired;
  } else if (text == "preferred") {
    *out = PodAntiAffinity::kPreferred;
  } else {
    return invalidArgument(r.pathOf("podAntiAffinity") +
                           ": must be \"required\" or \"preferred\", got \"" + text + "\"");
  }
  return Status::ok();
}

Status decodeFailureDomain(const FieldReader& r, FailureDomain* out) {
  std::string text(failureDomainName(*out));
  RETURN_IF_ERROR(r.readString("failureDomain", &text));
  if (text == "node") {
    *out = FailureDomain::kNode;
  } else if (text == "zone") {
    *out = FailureDomain::kZone;
  } else {
    return invalidArgument(r.pathOf("failureDomain") + ": must be \"node\" or \"zone\", got \"" +
                           text + "\"");
  }
  return Status::ok();
}

// The pod placement fields sit directly in spec, as they do in a Pod's spec.
Status decodePlacement(const FieldReader& r, PlacementSpec* out) {
  RETURN_IF_ERROR(r.readStringMap("nodeSelector", &out->node_selector));
  const json* value = nullptr;
  RETURN_IF_ERROR(r.readArray("tolerations", &value));
  if (value != nullptr) out->tolerations = *value;
  RETURN_IF_ERROR(r.readObject("affinity", &value));
  if (value != nullptr) out->affinity = *value;
  RETURN_IF_ERROR(r.readArray("topologySpreadConstraints", &value));
  if (value != nullptr) out->topology_spread_constraints = *value;
  RETURN_IF_ERROR(r.readString("priorityClassName", &out->priority_class_name));
  RETURN_IF_ERROR(r.readStringMap("podLabels", &out->pod_labels));
  return r.readStringMap("podAnnotations", &out->pod_annotations);
}

Status decodeSpecFields(const json& spec, const std::string& path, RedisClusterSpec* out) {
  if (!spec.is_object()) return typeError(path, "an object", spec);
  FieldReader r(spec, path);
  RETURN_IF_ERROR(r.readInt32("masters", &out->masters));
  RETURN_IF_ERROR(r.readInt32("replicasPerMaster", &out->replicas_per_master));
  RETURN_IF_ERROR(r.readString("image", &out->image));
  const json* sub = nullptr;
  RETURN_IF_ERROR(r.readObject("resources", &sub));
  if (sub != nullptr)
    RETURN_IF_ERROR(decodeResources(*sub, r.pathOf("resources"), &out->resources));
  RETURN_IF_ERROR(r.readObject("storage", &sub));
  if (sub != nullptr) {
    out->storage.emplace();
    RETURN_IF_ERROR(decodeStorage(*sub, r.pathOf("storage"), &*out->storage));
  }
  RETURN_IF_ERROR(r.readObject("passwordSecret", &sub));
  if (sub != nullptr) {
    out->password_secret.emplace();
    RETURN_IF_ERROR(decodePasswordSecret(*sub, r.pathOf("passwordSecret"), &*out->password_secret));
  }
  if (const json* users = r.find("users"); users != nullptr && !users->is_null()) {
    RETURN_IF_ERROR(decodeUsers(*users, r.pathOf("users"), &out->users));
  }
  RETURN_IF_ERROR(r.readObject("tls", &sub));
  if (sub != nullptr) {
    out->tls.emplace();
    RETURN_IF_ERROR(decodeTls(*sub, r.pathOf("tls"), &*out->tls));
  }
  RETURN_IF_ERROR(r.readStringMap("redisConfig", &out->redis_config));
  RETURN_IF_ERROR(r.readObject("migration", &sub));
  if (sub != nullptr) {
    FieldReader m(*sub, r.pathOf("migration"));
    RETURN_IF_ERROR(m.readInt32("batchKeys", &out->migration.batch_keys));
    RETURN_IF_ERROR(m.readInt32("timeoutSeconds", &out->migration.timeout_seconds));
    RETURN_IF_ERROR(m.readInt32("slotsPerRoundTrip", &out->migration.slots_per_round_trip));
    RETURN_IF_ERROR(m.readInt32("parallelMoves", &out->migration.parallel_moves));
  }
  RETURN_IF_ERROR(r.readObject("updateStrategy", &sub));
  if (sub != nullptr) {
    FieldReader u(*sub, r.pathOf("updateStrategy"));
    RETURN_IF_ERROR(u.readBool("paused", &out->update_strategy.paused));
    RETURN_IF_ERROR(
        u.readInt32("maxUnavailableShards", &out->update_strategy.max_unavailable_shards));
  }
  RETURN_IF_ERROR(decodePlacement(r, &out->placement));
  RETURN_IF_ERROR(decodeFailureDomain(r, &out->failure_domain));
  return decodeAntiAffinity(r, &out->pod_anti_affinity);
}

Status decodeCondition(const json& object, const std::string& path, Condition* out) {
  if (!object.is_object()) return typeError(path, "an object", object);
  FieldReader r(object, path);
  RETURN_IF_ERROR(r.required("type"));
  RETURN_IF_ERROR(r.readString("type", &out->type));
  std::string status(conditionStatusName(out->status));
  RETURN_IF_ERROR(r.readString("status", &status));
  if (status == "True") {
    out->status = ConditionStatus::kTrue;
  } else if (status == "False") {
    out->status = ConditionStatus::kFalse;
  } else if (status == "Unknown") {
    out->status = ConditionStatus::kUnknown;
  } else {
    return invalidArgument(r.pathOf("status") + ": must be True, False or Unknown, got \"" +
                           status + "\"");
  }
  RETURN_IF_ERROR(r.readString("reason", &out->reason));
  RETURN_IF_ERROR(r.readString("message", &out->message));
  RETURN_IF_ERROR(r.readString("lastTransitionTime", &out->last_transition_time));
  RETURN_IF_ERROR(r.readInt64("observedGeneration", &out->observed_generation));
  return Status::ok();
}

Status decodeNode(const json& object, const std::string& path, NodeStatus* out) {
  if (!object.is_object()) return typeError(path, "an object", object);
  FieldReader r(object, path);
  RETURN_IF_ERROR(r.readString("pod", &out->pod));
  RETURN_IF_ERROR(r.readString("ip", &out->ip));
  RETURN_IF_ERROR(r.readString("nodeId", &out->node_id));
  RETURN_IF_ERROR(r.readString("role", &out->role));
  RETURN_IF_ERROR(r.readString("masterId", &out->master_id));
  RETURN_IF_ERROR(r.readString("slots", &out->slots));
  RETURN_IF_ERROR(r.readInt32("shard", &out->shard));
  RETURN_IF_ERROR(r.readString("linkStatus", &out->link_status));
  RETURN_IF_ERROR(r.readInt64("lagSeconds", &out->lag_seconds));
  RETURN_IF_ERROR(r.readInt64("lagBytes", &out->lag_bytes));
  RETURN_IF_ERROR(r.readBool("syncInProgress", &out->sync_in_progress));
  RETURN_IF_ERROR(r.readBool("outdated", &out->outdated));
  return Status::ok();
}

Status decodeStatusFields(const json& status, const std::string& path, RedisClusterStatus* out) {
  if (!status.is_object()) return typeError(path, "an object", status);
  FieldReader r(status, path);
  RETURN_IF_ERROR(r.readInt64("observedGeneration", &out->observed_generation));
  const json* list = nullptr;
  RETURN_IF_ERROR(r.readArray("conditions", &list));
  if (list != nullptr) {
    for (size_t i = 0; i < list->size(); ++i) {
      RETURN_IF_ERROR(decodeCondition((*list)[i],
                                      r.pathOf("conditions") + "[" + std::to_string(i) + "]",
                                      &out->conditions.emplace_back()));
    }
  }
  RETURN_IF_ERROR(r.readInt32("masters", &out->masters));
  RETURN_IF_ERROR(r.readInt32("readyMasters", &out->ready_masters));
  RETURN_IF_ERROR(r.readInt32("replicas", &out->replicas));
  RETURN_IF_ERROR(r.readInt32("readyReplicas", &out->ready_replicas));
  RETURN_IF_ERROR(r.readInt32("unprotectedMasters", &out->unprotected_masters));
  RETURN_IF_ERROR(r.readInt32("updatedPods", &out->updated_pods));
  RETURN_IF_ERROR(r.readInt32("outdatedPods", &out->outdated_pods));
  RETURN_IF_ERROR(r.readInt32("slotsAssigned", &out->slots_assigned));
  RETURN_IF_ERROR(r.readInt32("slotsOk", &out->slots_ok));
  RETURN_IF_ERROR(r.readString("clusterState", &out->cluster_state));
  RETURN_IF_ERROR(r.readArray("nodes", &list));
  if (list != nullptr) {
    for (size_t i = 0; i < list->size(); ++i) {
      RETURN_IF_ERROR(decodeNode((*list)[i], r.pathOf("nodes") + "[" + std::to_string(i) + "]",
                                 &out->nodes.emplace_back()));
    }
  }
  if (const json* op = r.find("operation")) {
    if (!op->is_object()) return typeError(r.pathOf("operation"), "an object", *op);
    out->operation = *op;
  }
  RETURN_IF_ERROR(r.readString("selector", &out->selector));
  if (const json* rotation = r.find("passwordRotation")) {
    if (!rotation->is_object())
      return typeError(r.pathOf("passwordRotation"), "an object", *rotation);
    out->password_rotation = *rotation;
  }
  return Status::ok();
}

Status decodeMetadata(const json& object, RedisCluster* out) {
  const json* meta = nullptr;
  FieldReader top(object, "");
  RETURN_IF_ERROR(top.required("metadata"));
  RETURN_IF_ERROR(top.readObject("metadata", &meta));
  FieldReader r(*meta, "metadata");
  RETURN_IF_ERROR(r.required("name"));
  RETURN_IF_ERROR(r.readString("name", &out->name));
  if (out->name.empty()) return invalidArgument("metadata.name: must not be empty");
  RETURN_IF_ERROR(r.readString("namespace", &out->ns));
  RETURN_IF_ERROR(r.readString("uid", &out->uid));
  RETURN_IF_ERROR(r.readInt64("generation", &out->generation));
  RETURN_IF_ERROR(r.readString("resourceVersion", &out->resource_version));
  RETURN_IF_ERROR(r.readString("deletionTimestamp", &out->deletion_timestamp));
  RETURN_IF_ERROR(r.readStringMap("annotations", &out->annotations));
  return r.readStringMap("labels", &out->labels);
}

// Runs a decoder, turning anything nlohmann::json throws into an error value.
template <typename Fn>
Status guarded(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return invalidArgument(std::string(what) + ": malformed JSON: " + e.what());
  }
}

// Nodes leave out empty strings, and replication fields unless the node is a replica, to keep
// `kubectl get -o yaml` readable; the nodes list is always replaced as a whole, so an absent
// field cannot keep a stale value.
json encodeNode(const NodeStatus& n) {
  json out = {{"pod", n.pod}, {"shard", n.shard}};
  auto putIfSet = [&out](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  putIfSet("ip", n.ip);
  putIfSet("nodeId", n.node_id);
  putIfSet("role", n.role);
  putIfSet("masterId", n.master_id);
  putIfSet("slots", n.slots);
  putIfSet("linkStatus", n.link_status);
  if (n.role == "replica") {
    out["lagSeconds"] = n.lag_seconds;
    out["lagBytes"] = n.lag_bytes;
    out["syncInProgress"] = n.sync_in_progress;
  }
  if (n.outdated) out["outdated"] = true;
  return out;
}

}  // namespace

Result<RedisClusterSpec> decodeSpec(const nlohmann::json& spec) {
  RedisClusterSpec out;
  RETURN_IF_ERROR(guarded("spec", [&] {
    json defaulted = spec;
    applySpecDefaults(defaulted);
    return decodeSpecFields(defaulted, "spec", &out);
  }));
  return out;
}

Result<RedisClusterStatus> decodeStatus(const nlohmann::json& status) {
  RedisClusterStatus out;
  RETURN_IF_ERROR(guarded("status", [&] { return decodeStatusFields(status, "status", &out); }));
  return out;
}

Result<RedisCluster> decodeRedisCluster(const nlohmann::json& object) {
  RedisCluster out;
  RETURN_IF_ERROR(guarded("RedisCluster", [&]() -> Status {
    if (!object.is_object()) return typeError("RedisCluster", "an object", object);
    FieldReader top(object, "");
    std::string kind;
    RETURN_IF_ERROR(top.readString("kind", &kind));
    if (!kind.empty() && kind != kKind) {
      return invalidArgument("kind: expected " + std::string(kKind) + ", got \"" + kind + "\"");
    }
    RETURN_IF_ERROR(decodeMetadata(object, &out));
    json defaulted = object;
    applyDefaults(defaulted);
    RETURN_IF_ERROR(decodeSpecFields(defaulted["spec"], "spec", &out.spec));
    if (const json* status = top.find("status")) {
      RETURN_IF_ERROR(decodeStatusFields(*status, "status", &out.status));
    }
    return Status::ok();
  }));
  return out;
}

nlohmann::json encodeSpec(const RedisClusterSpec& spec) {
  json out = {
      {"masters", spec.masters},
      {"replicasPerMaster", spec.replicas_per_master},
      {"image", spec.image},
      {"migration",
       {{"batchKeys", spec.migration.batch_keys},
        {"timeoutSeconds", spec.migration.timeout_seconds},
        {"slotsPerRoundTrip", spec.migration.slots_per_round_trip},
        {"parallelMoves", spec.migration.parallel_moves}}},
      {"podAntiAffinity", podAntiAffinityName(spec.pod_anti_affinity)},
      {"updateStrategy",
       {{"paused", spec.update_strategy.paused},
        {"maxUnavailableShards", spec.update_strategy.max_unavailable_shards}}},
  };
  if (!spec.resources.empty()) {
    json resources = json::object();
    if (!spec.resources.limits.empty()) resources["limits"] = spec.resources.limits;
    if (!spec.resources.requests.empty()) resources["requests"] = spec.resources.requests;
    out["resources"] = std::move(resources);
  }
  if (spec.storage) {
    json storage = {{"size", spec.storage->size}};
    if (!spec.storage->storage_class_name.empty()) {
      storage["storageClassName"] = spec.storage->storage_class_name;
    }
    out["storage"] = std::move(storage);
  }
  if (spec.password_secret) {
    out["passwordSecret"] = {
        {"name", spec.password_secret->name},
        {"key", spec.password_secret->key},
        {"rotationGraceSeconds", spec.password_secret->rotation_grace_seconds}};
  }
  if (!spec.users.empty()) {
    json users = json::array();
    for (const auto& u : spec.users) {
      users.push_back(
          {{"name", u.name},
           {"passwordSecret", {{"name", u.password_secret.name}, {"key", u.password_secret.key}}},
           {"rules", u.rules}});
    }
    out["users"] = std::move(users);
  }
  if (spec.tls) {
    out["tls"] = {{"secretName", spec.tls->secret_name},
                  {"requireClientCertificates", spec.tls->require_client_certificates}};
  }
  if (!spec.redis_config.empty()) out["redisConfig"] = spec.redis_config;
  out["failureDomain"] = failureDomainName(spec.failure_domain);
  const PlacementSpec& p = spec.placement;
  if (!p.node_selector.empty()) out["nodeSelector"] = p.node_selector;
  if (!p.tolerations.is_null()) out["tolerations"] = p.tolerations;
  if (!p.affinity.is_null()) out["affinity"] = p.affinity;
  if (!p.topology_spread_constraints.is_null()) {
    out["topologySpreadConstraints"] = p.topology_spread_constraints;
  }
  if (!p.priority_class_name.empty()) out["priorityClassName"] = p.priority_class_name;
  if (!p.pod_labels.empty()) out["podLabels"] = p.pod_labels;
  if (!p.pod_annotations.empty()) out["podAnnotations"] = p.pod_annotations;
  return out;
}

nlohmann::json encodeStatus(const RedisClusterStatus& status) {
  json conditions = json::array();
  for (const Condition& c : status.conditions) {
    conditions.push_back({{"type", c.type},
                          {"status", conditionStatusName(c.status)},
                          {"reason", c.reason},
                          {"message", c.message},
                          {"lastTransitionTime", c.last_transition_time},
                          {"observedGeneration", c.observed_generation}});
  }
  json nodes = json::array();
  for (const NodeStatus& n : status.nodes) nodes.push_back(encodeNode(n));
  return {
      {"observedGeneration", status.observed_generation},
      {"conditions", std::move(conditions)},
      {"masters", status.masters},
      {"readyMasters", status.ready_masters},
      {"replicas", status.replicas},
      {"readyReplicas", status.ready_replicas},
      {"unprotectedMasters", status.unprotected_masters},
      {"updatedPods", status.updated_pods},
      {"outdatedPods", status.outdated_pods},
      {"passwordRotation",
       status.password_rotation.is_object() ? status.password_rotation : json(nullptr)},
      {"slotsAssigned", status.slots_assigned},
      {"slotsOk", status.slots_ok},
      {"clusterState", status.cluster_state},
      {"nodes", std::move(nodes)},
      {"operation", status.operation.is_object() ? status.operation : json(nullptr)},
      {"selector", status.selector},
  };
}

nlohmann::json encodeRedisCluster(const RedisCluster& cluster) {
  json meta = {{"name", cluster.name}};
  auto putIfSet = [&meta](const char* key, const std::string& value) {
    if (!value.empty()) meta[key] = value;
  };
  putIfSet("namespace", cluster.ns);
  putIfSet("uid", cluster.uid);
  putIfSet("resourceVersion", cluster.resource_version);
  putIfSet("deletionTimestamp", cluster.deletion_timestamp);
  if (cluster.generation != 0) meta["generation"] = cluster.generation;
  if (!cluster.labels.empty()) meta["labels"] = cluster.labels;
  if (!cluster.annotations.empty()) meta["annotations"] = cluster.annotations;
  return {{"apiVersion", kApiVersion},
          {"kind", kKind},
          {"metadata", std::move(meta)},
          {"spec", encodeSpec(cluster.spec)},
          {"status", encodeStatus(cluster.status)}};
}

}  // namespace slotkeeper::api
