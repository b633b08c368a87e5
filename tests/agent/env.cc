// Container environment resolution.
#include "env.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kube/base64.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

std::string stringAt(const json& object, std::initializer_list<const char*> path) {
  const json* node = &object;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return "";
    node = &(*node)[key];
  }
  return node->is_string() ? node->get<std::string>() : "";
}

// "metadata.labels['app']" -> ("labels", "app")
bool parseMapSubscript(const std::string& path, std::string* map, std::string* key) {
  for (const char* which : {"labels", "annotations"}) {
    const std::string prefix = std::string("metadata.") + which + "['";
    if (path.starts_with(prefix) && path.ends_with("']")) {
      *map = which;
      *key = path.substr(prefix.size(), path.size() - prefix.size() - 2);
      return true;
    }
  }
  return false;
}

// labels/annotations as a downward API file: key="value" lines, sorted.
std::string formatMap(const json& map) {
  std::string out;
  if (!map.is_object()) return out;
  for (const auto& [k, v] : map.items()) {
    out += k + "=" + json(v.is_string() ? v.get<std::string>() : v.dump()).dump() + "\n";
  }
  return out;
}

std::string formatNumber(double value) {
  const double rounded = std::ceil(value);
  return std::to_string(static_cast<long long>(rounded));
}

// Looks up one key of a ConfigMap or Secret. kFailedPrecondition unless optional.
Result<std::optional<std::string>> keyRefValue(const json& ref, bool secret, const std::string& ns,
                                               PodApi& api) {
  const std::string name = ref.value("name", "");
  const std::string key = ref.value("key", "");
  const bool optional = ref.value("optional", false);
  const char* kind = secret ? "secret" : "configmap";
  auto object = secret ? api.getSecret(ns, name) : api.getConfigMap(ns, name);
  if (!object.isOk()) {
    if (optional && object.status().code() == StatusCode::kNotFound)
      return std::optional<std::string>();
    return failedPrecondition(std::string(kind) + " \"" + name +
                              "\" not found: " + object.status().message());
  }
  for (const char* field : {"data", "binaryData"}) {
    const bool encoded = secret || std::string(field) == "binaryData";
    if (!object->contains(field) || !(*object)[field].contains(key)) continue;
    std::string value = (*object)[field][key].get<std::string>();
    if (!encoded) return std::optional<std::string>(value);
    std::string decoded;
    if (!kube::base64Decode(value, &decoded)) {
      return invalidArgument(std::string(kind) + " \"" + name + "\" key " + key + " is not base64");
    }
    return std::optional<std::string>(decoded);
  }
  if (optional) return std::optional<std::string>();
  return failedPrecondition("couldn't find key " + key + " in " + kind + " " + ns + "/" + name);
}

Status addEnvFrom(const json& source, const std::string& ns, PodApi& api, EnvList* env) {
  const std::string prefix = source.value("prefix", "");
  const bool secret = source.contains("secretRef");
  const json& ref = secret ? source["secretRef"] : source.value("configMapRef", json::object());
  const std::string name = ref.value("name", "");
  auto object = secret ? api.getSecret(ns, name) : api.getConfigMap(ns, name);
  if (!object.isOk()) {
    if (ref.value("optional", false) && object.status().code() == StatusCode::kNotFound) {
      return Status::ok();
    }
    return failedPrecondition(std::string(secret ? "secret" : "configmap") + " \"" + name +
                              "\" not found: " + object.status().message());
  }
  if (!object->contains("data") || !(*object)["data"].is_object()) return Status::ok();
  for (const auto& [key, value] : (*object)["data"].items()) {
    std::string text = value.get<std::string>();
    if (secret && !kube::base64Decode(value.get<std::string>(), &text)) continue;
    env->set(prefix + key, text);
  }
  return Status::ok();
}

Result<std::string> valueFrom(const json& pod, const json& container, const json& from,
                              const PodFacts& facts, PodApi& api, bool* skip) {
  const std::string ns = stringAt(pod, {"metadata", "namespace"});
  if (from.contains("fieldRef")) {
    return fieldRefValue(pod, from["fieldRef"].value("fieldPath", ""), facts);
  }
  if (from.contains("resourceFieldRef")) {
    return resourceFieldValue(container, from["resourceFieldRef"], facts);
  }
  const bool secret = from.contains("secretKeyRef");
  if (secret || from.contains("configMapKeyRef")) {
    ASSIGN_OR_RETURN(auto value, keyRefValue(from[secret ? "secretKeyRef" : "configMapKeyRef"],
                                             secret, ns, api));
    if (!value) *skip = true;
    return value.value_or("");
  }
  return invalidArgument("unsupported env valueFrom " + from.dump());
}

}  // namespace

Result<std::string> fieldRefValue(const json& pod, const std::string& path, const PodFacts& facts) {
  if (path == "metadata.name") return stringAt(pod, {"metadata", "name"});
  if (path == "metadata.namespace") return stringAt(pod, {"metadata", "namespace"});
  if (path == "metadata.uid") return stringAt(pod, {"metadata", "uid"});
  if (path == "spec.nodeName") return stringAt(pod, {"spec", "nodeName"});
  if (path == "spec.serviceAccountName") return stringAt(pod, {"spec", "serviceAccountName"});
  if (path == "status.podIP" || path == "status.podIPs") return facts.pod_ip;
  if (path == "status.hostIP" || path == "status.hostIPs") return facts.host_ip;
  if (path == "metadata.labels" || path == "metadata.annotations") {
    const json& meta = pod.value("metadata", json::object());
    return formatMap(meta.value(path.substr(9), json::object()));
  }
  std::string map, key;
  if (parseMapSubscript(path, &map, &key)) {
    const json& meta = pod.value("metadata", json::object());
    const json& values = meta.value(map, json::object());
    return values.contains(key) && values[key].is_string() ? values[key].get<std::string>() : "";
  }
  return invalidArgument("unsupported fieldRef " + path);
}

std::optional<double> parseQuantity(const std::string& text) {
  static const std::pair<const char*, double> kSuffixes[] = {{"Ki", 1024.0},
                                                             {"Mi", 1048576.0},
                                                             {"Gi", 1073741824.0},
                                                             {"Ti", 1099511627776.0},
                                                             {"Pi", 1125899906842624.0},
                                                             {"Ei", 1152921504606846976.0},
                                                             {"m", 1e-3},
                                                             {"k", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12},
                                                             {"P", 1e15},
                                                             {"E", 1e18}};
  std::string number = text;
  double scale = 1;
  for (const auto& [suffix, factor] : kSuffixes) {
    if (text.size() > std::strlen(suffix) && text.ends_with(suffix)) {
      number = text.substr(0, text.size() - std::strlen(suffix));
      scale = factor;
      break;
    }
  }
  if (number.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return std::nullopt;
  return value * scale;
}

Result<std::string> resourceFieldValue(const json& container, const json& ref,
                                       const PodFacts& facts) {
  const std::string resource = ref.value("resource", "");
  const size_t dot = resource.find('.');
  if (dot == std::string::npos) return invalidArgument("bad resourceFieldRef " + resource);
  const std::string kind = resource.substr(0, dot);   // limits / requests
  const std::string name = resource.substr(dot + 1);  // cpu / memory / ephemeral-storage
  std::string quantity = stringAt(container, {"resources", kind.c_str(), name.c_str()});
  if (quantity.empty() && kind == "requests") {
    quantity = stringAt(container, {"resources", "limits", name.c_str()});
  }
  if (quantity.empty()) {
    // As the kubelet does: no limit means the node's allocatable.
    quantity = name == "cpu" ? facts.node_cpu : name == "memory" ? facts.node_memory : "0";
  }
  auto value = parseQuantity(quantity);
  std::string divisor_text = ref.contains("divisor") && ref["divisor"].is_string()
                                 ? ref["divisor"].get<std::string>()
                                 : "1";
  auto divisor = parseQuantity(divisor_text);
  if (!value || !divisor || *divisor <= 0) {
    return invalidArgument("bad quantity in resourceFieldRef " + resource);
  }
  return formatNumber(*value / *divisor);
}

void EnvList::set(const std::string& name, std::string value) {
  if (values_.count(name) == 0) order_.push_back(name);
  values_[name] = std::move(value);
}

std::vector<std::string> EnvList::asStrings() const {
  std::vector<std::string> out;
  out.reserve(order_.size());
  for (const std::string& name : order_) out.push_back(name + "=" + values_.at(name));
  return out;
}

Result<EnvList> resolveContainerEnv(const json& pod, const json& container, const PodFacts& facts,
                                    const EnvList& base, const PathRewriter& paths, PodApi& api) {
  EnvList env = base;
  const std::string ns = stringAt(pod, {"metadata", "namespace"});
  if (container.contains("envFrom") && container["envFrom"].is_array()) {
    for (const json& source : container["envFrom"]) {
      RETURN_IF_ERROR(addEnvFrom(source, ns, api, &env));
    }
  }
  if (container.contains("env") && container["env"].is_array()) {
    for (const json& var : container["env"]) {
      const std::string name = var.value("name", "");
      if (name.empty()) continue;
      std::string value;
      // Literal values and ConfigMap values may name mount paths; secrets and downward-API
      // values are data and stay untouched.
      bool rewrite = true;
      if (var.contains("valueFrom")) {
        bool skip = false;
        auto resolved = valueFrom(pod, container, var["valueFrom"], facts, api, &skip);
        if (!resolved.isOk()) return resolved.status().withContext("env " + name);
        if (skip) continue;
        value = *resolved;
        rewrite = var["valueFrom"].contains("configMapKeyRef");
      } else {
        value = expandVars(var.value("value", ""), env.asMap());
      }
      env.set(name, rewrite ? paths.rewrite(value) : value);
    }
  }
  return env;
}

}  // namespace slotkeeper::agent
