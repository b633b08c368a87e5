#include "reconciler/cached_fields.h"

#include <initializer_list>

#include "kube/reflector.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;

// `from`'s members named in `keys` (those present), moved out of it.
json takeMembers(json& from, std::initializer_list<const char*> keys) {
  json kept = json::object();
  if (!from.is_object()) return kept;
  for (const char* key : keys) {
    auto it = from.find(key);
    if (it != from.end()) kept[key] = std::move(*it);
  }
  return kept;
}

// A pod's volumes that mount a Secret, as {name, secret: {secretName}}: the TLS stage of pods
// from templates without the stage annotation is read from them.
json secretVolumes(const json& spec) {
  json kept = json::array();
  auto volumes = spec.find("volumes");
  if (volumes == spec.end() || !volumes->is_array()) return kept;
  for (const auto& v : *volumes) {
    auto secret = v.find("secret");
    if (secret == v.end() || !secret->is_object()) continue;
    kept.push_back({{"name", v.value("name", "")},
                    {"secret", {{"secretName", secret->value("secretName", "")}}}});
  }
  return kept;
}

}  // namespace

void keepPodFieldsTheReconcilerReads(json& pod) {
  if (!pod.is_object()) return;
  kube::dropManagedFields(pod);
  if (auto spec = pod.find("spec"); spec != pod.end() && spec->is_object()) {
    json kept = takeMembers(*spec, {"nodeName"});
    if (json volumes = secretVolumes(*spec); !volumes.empty()) kept["volumes"] = std::move(volumes);
    *spec = std::move(kept);
  }
  if (auto status = pod.find("status"); status != pod.end()) {
    *status = takeMembers(*status, {"phase", "podIP", "conditions", "containerStatuses"});
  }
}

void keepStatefulSetFieldsTheReconcilerReads(json& statefulset) {
  if (!statefulset.is_object()) return;
  kube::dropManagedFields(statefulset);
  auto spec = statefulset.find("spec");
  if (spec == statefulset.end() || !spec->is_object()) return;
  json kept = takeMembers(*spec, {"replicas"});
  if (auto tpl = spec->find("template"); tpl != spec->end()) {
    kept["template"] = takeMembers(*tpl, {"metadata"});
  }
  *spec = std::move(kept);
}

}  // namespace slotkeeper::reconciler
