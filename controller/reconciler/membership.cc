#include "reconciler/membership.h"

#include <algorithm>
#include <charconv>

#include "kube/timefmt.h"
#include "resources/statefulset.h"

namespace slotkeeper::reconciler {
namespace {

Result<int> parseNonNegative(const std::string& text, const std::string& what) {
  int value = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) {
    return invalidArgument(what + " '" + text + "' is not a non-negative number");
  }
  return value;
}

// `object`'s member `key`, or an empty object when there is none. Unlike json::value, which
// returns a copy, this reads in place: pods are read on every pass.
const nlohmann::json& member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(key);
  return it == object.end() ? kEmpty : *it;
}

bool podIsReady(const nlohmann::json& pod) {
  const auto& status = member(pod, "status");
  if (status.value("phase", "") != "Running") return false;
  for (const auto& c : member(status, "conditions")) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// The first container that waits, with its reason: what keeps a pod from becoming ready.
void readWaitingState(const nlohmann::json& status, PodInfo* info) {
  for (const auto& c : member(status, "containerStatuses")) {
    const auto& waiting = member(member(c, "state"), "waiting");
    if (waiting.empty()) continue;
    info->waiting_reason = waiting.value("reason", "");
    info->waiting_message = waiting.value("message", "");
    if (!info->waiting_reason.empty()) return;
  }
}

// The TLS stage from the pod's annotation, else from its volumes (templates from before the
// annotation mounted a TLS Secret only when they served TLS only).
void readTlsStage(const nlohmann::json& pod, PodInfo* info) {
  const auto& annotations = member(member(pod, "metadata"), "annotations");
  for (const auto& v : member(member(pod, "spec"), "volumes")) {
    if (v.value("name", "") != resources::kTlsVolume) continue;
    info->tls_secret = member(v, "secret").value("secretName", "");
  }
  const auto stage =
      resources::parseTlsStage(annotations.value(std::string(resources::kAnnotationTlsStage), ""));
  if (stage.has_value()) {
    info->tls_stage = *stage;
  } else {
    info->tls_stage =
        info->tls_secret.empty() ? resources::TlsStage::kOff : resources::TlsStage::kOn;
  }
}

}  // namespace

Result<PodInfo> podInfoFrom(const nlohmann::json& pod) {
  PodInfo info;
  const auto& meta = member(pod, "metadata");
  info.name = meta.value("name", "");
  info.uid = meta.value("uid", "");
  const auto& labels = member(meta, "labels");
  info.revision = labels.value(std::string(resources::kLabelRevision), "");
  if (auto created = kube::parseTime(meta.value("creationTimestamp", "")); created.isOk()) {
    info.created = *created;
  }
  auto shard = resources::shardFromLabels(labels);
  if (!shard.has_value()) {
    return invalidArgument("pod " + info.name + " has no valid " +
                           std::string(resources::kLabelShard) + " label");
  }
  info.shard = *shard;
  auto dash = info.name.rfind('-');
  if (dash == std::string::npos) return invalidArgument("pod " + info.name + " has no ordinal");
  ASSIGN_OR_RETURN(info.ordinal,
                   parseNonNegative(info.name.substr(dash + 1), "ordinal of pod " + info.name));
  const auto& status = member(pod, "status");
  info.ip = status.value("podIP", "");
  info.node_name = member(pod, "spec").value("nodeName", "");
  info.failure_domain = info.node_name;
  info.terminating = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  info.ready = podIsReady(pod) && !info.ip.empty() && !info.terminating;
  readWaitingState(status, &info);
  readTlsStage(pod, &info);
  for (const auto& c : member(status, "conditions")) {
    if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False" &&
        c.value("reason", "") == "Unschedulable") {
      info.unschedulable_message = c.value("message", "unschedulable");
      if (auto since = kube::parseTime(c.value("lastTransitionTime", "")); since.isOk()) {
        info.unschedulable_since = *since;
      }
    }
  }
  return info;
}

ShapeChange planShapeChange(int masters, int replicas_per_master,
                            const std::map<int, int>& existing_shards,
                            const std::vector<PodInfo>& pods) {
  ShapeChange change;
  const int pods_per_shard = 1 + replicas_per_master;
  change.desired.masters = masters;
  change.desired.replicas_per_master = replicas_per_master;
  for (int shard = 0; shard < masters; ++shard) {
    auto it = existing_shards.find(shard);
    int current = it == existing_shards.end() ? 0 : it->second;
    // Growing happens now; shrinking waits until the engine has forgotten the extra pods.
    change.statefulset_replicas[shard] = std::max(current, pods_per_shard);
  }
  for (int shard = 0; shard < masters; ++shard) {
    for (int ordinal = 0; ordinal < pods_per_shard; ++ordinal) {
      auto pod = std::find_if(pods.begin(), pods.end(), [&](const PodInfo& p) {
        return p.shard == shard && p.ordinal == ordinal;
      });
      std::string name = "shard-" + std::to_string(shard) + "-" + std::to_string(ordinal);
      if (pod == pods.end() || !pod->ready) {
        change.waiting_for.push_back(pod == pods.end() ? name : pod->name);
        continue;
      }
      change.desired.nodes.push_back({pod->address(), pod->failure_domain, shard});
    }
  }
  return change;
}

Cleanup planCleanup(int masters, int replicas_per_master,
                    const std::map<int, int>& existing_shards) {
  Cleanup cleanup;
  const int pods_per_shard = 1 + replicas_per_master;
  for (const auto& [shard, replicas] : existing_shards) {
    if (shard >= masters) {
      cleanup.shards_to_delete.push_back(shard);
    } else if (replicas > pods_per_shard) {
      cleanup.statefulset_replicas[shard] = pods_per_shard;
    }
  }
  return cleanup;
}

}  // namespace slotkeeper::reconciler
