// Node registration, status heartbeats, taint removal and Leases.
#include "node_registration.h"

#include "common/log.h"
#include "kube/timefmt.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

constexpr const char* kNotReadyTaint = "node.kubernetes.io/not-ready";
constexpr const char* kUnreachableTaint = "node.kubernetes.io/unreachable";
constexpr const char* kNodeLeaseNamespace = "kube-node-lease";
constexpr const char* kKubeletVersion = "v1.33.13";

json condition(const char* type, bool value, const char* reason, const std::string& message,
               const std::string& heartbeat, const std::string& transition) {
  return {{"type", type},
          {"status", value ? "True" : "False"},
          {"reason", reason},
          {"message", message},
          {"lastHeartbeatTime", heartbeat},
          {"lastTransitionTime", transition}};
}

}  // namespace

std::vector<NodeSpec> makeNodeSpecs(int count, const std::string& prefix,
                                    const std::string& zone_prefix, const std::string& ip,
                                    const std::string& cpu, const std::string& memory,
                                    int max_pods) {
  std::vector<NodeSpec> out;
  for (int i = 0; i < count; ++i) {
    NodeSpec node;
    node.name = prefix + "-" + std::to_string(i);
    node.zone = zone_prefix + static_cast<char>('a' + i % 3);
    node.internal_ip = ip;
    node.cpu = cpu;
    node.memory = memory;
    node.max_pods = max_pods;
    out.push_back(node);
  }
  return out;
}

json buildNode(const NodeSpec& node) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", node.name},
            {"labels",
             {{"kubernetes.io/hostname", node.name},
              {"kubernetes.io/os", "linux"},
              {"kubernetes.io/arch", "amd64"},
              {"topology.kubernetes.io/zone", node.zone},
              {"topology.kubernetes.io/region", "local"},
              {"node.slotkeeper.io/agent", "sk-node-agent"}}},
            {"annotations", {{"node.alpha.kubernetes.io/ttl", "0"}}}}},
          {"spec", json::object()}};
}

json buildNodeStatus(const NodeSpec& node, bool ready, const std::string& reason,
                     const std::string& message, std::chrono::system_clock::time_point ready_since,
                     std::chrono::system_clock::time_point now) {
  const std::string heartbeat = kube::formatTime(now);
  const std::string since = kube::formatTime(ready_since);
  const json resources = {{"cpu", node.cpu},
                          {"memory", node.memory},
                          {"pods", std::to_string(node.max_pods)},
                          {"ephemeral-storage", "100Gi"}};
  return {{"capacity", resources},
          {"allocatable", resources},
          {"conditions",
           json::array({condition("Ready", ready, reason.c_str(), message, heartbeat, since),
                        condition("MemoryPressure", false, "KubeletHasSufficientMemory",
                                  "kubelet has sufficient memory available", heartbeat, since),
                        condition("DiskPressure", false, "KubeletHasNoDiskPressure",
                                  "kubelet has no disk pressure", heartbeat, since),
                        condition("PIDPressure", false, "KubeletHasSufficientPID",
                                  "kubelet has sufficient PID available", heartbeat, since)})},
          {"addresses", json::array({{{"type", "InternalIP"}, {"address", node.internal_ip}},
                                     {{"type", "Hostname"}, {"address", node.name}}})},
          {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 0}}}}},
          {"nodeInfo",
           {{"machineID", ""},
            {"systemUUID", ""},
            {"bootID", ""},
            {"kernelVersion", ""},
            {"osImage", "sk-node-agent"},
            {"containerRuntimeVersion", "slotkeeper://process"},
            {"kubeletVersion", kKubeletVersion},
            {"kubeProxyVersion", ""},
            {"operatingSystem", "linux"},
            {"architecture", "amd64"}}}};
}

json buildNodeLease(const NodeSpec& node, const std::string& node_uid,
                    std::chrono::seconds duration, std::chrono::system_clock::time_point now) {
  json meta = {{"name", node.name}, {"namespace", kNodeLeaseNamespace}};
  if (!node_uid.empty()) {
    // As the kubelet does: the Lease goes away with its Node.
    meta["ownerReferences"] = json::array(
        {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node.name}, {"uid", node_uid}}});
  }
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", meta},
          {"spec",
           {{"holderIdentity", node.name},
            {"leaseDurationSeconds", duration.count()},
            {"renewTime", kube::formatMicroTime(now)}}}};
}

std::optional<json> taintsWithoutNotReady(const json& node) {
  const json spec = node.value("spec", json::object());
  const json taints = spec.value("taints", json::array());
  json kept = json::array();
  for (const json& taint : taints) {
    const std::string key = taint.value("key", "");
    if (key != kNotReadyTaint && key != kUnreachableTaint) kept.push_back(taint);
  }
  if (kept.size() == taints.size()) return std::nullopt;
  return kept;
}

NodeRegistrar::NodeRegistrar(kube::KubeClient& client, std::vector<NodeSpec> nodes,
                             std::chrono::seconds heartbeat)
    : client_(client),
      nodes_(std::move(nodes)),
      uids_(nodes_.size()),
      ready_since_(nodes_.size(), std::chrono::system_clock::now()),
      heartbeat_(heartbeat) {}

NodeRegistrar::~NodeRegistrar() { stop(); }

Status NodeRegistrar::registerAll() {
  for (size_t i = 0; i < nodes_.size(); ++i) RETURN_IF_ERROR(registerNode(i));
  return Status::ok();
}

Status NodeRegistrar::registerNode(size_t index) {
  const NodeSpec& spec = nodes_[index];
  const json desired = buildNode(spec);
  auto created = client_.create(kube::kNodes, desired);
  if (created.isOk()) {
    uids_[index] = kube::objectUid(*created);
    log::info("node registered", {{"node", spec.name}, {"zone", spec.zone}});
  } else if (created.status().code() == StatusCode::kAlreadyExists) {
    // A previous agent's Node: adopt it, refreshing our labels.
    json labels_patch = {{"metadata", {{"labels", desired["metadata"]["labels"]}}}};
    ASSIGN_OR_RETURN(json node, client_.patch(kube::kNodes.named(spec.name),
                                              kube::PatchType::kMerge, labels_patch));
    uids_[index] = kube::objectUid(node);
    log::info("node adopted", {{"node", spec.name}, {"zone", spec.zone}});
  } else {
    return created.status().withContext("register node " + spec.name);
  }
  ready_since_[index] = std::chrono::system_clock::now();
  RETURN_IF_ERROR(
      reportStatus(index, true, "KubeletReady", "sk-node-agent is posting ready status"));
  return renewLease(index);
}

Status NodeRegistrar::reportStatus(size_t index, bool ready, const std::string& reason,
                                   const std::string& message) {
  const NodeSpec& spec = nodes_[index];
  const json patch = {{"status", buildNodeStatus(spec, ready, reason, message, ready_since_[index],
                                                 std::chrono::system_clock::now())}};
  auto node =
      client_.patch(kube::kNodes.named(spec.name).sub("status"), kube::PatchType::kMerge, patch);
  if (!node.isOk()) return node.status().withContext("node status " + spec.name);
  if (!ready) return Status::ok();
  return removeNotReadyTaint(spec.name, *node);
}

Status NodeRegistrar::removeNotReadyTaint(const std::string& name, json node) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::optional<json> kept = taintsWithoutNotReady(node);
    if (!kept) return Status::ok();
    // resourceVersion in a merge patch makes it conditional: a concurrent change to the
    // taints (someone cordoning the node) is not overwritten.
    const json patch = {{"metadata", {{"resourceVersion", kube::objectResourceVersion(node)}}},
                        {"spec", {{"taints", kept->empty() ? json(nullptr) : *kept}}}};
    auto patched = client_.patch(kube::kNodes.named(name), kube::PatchType::kMerge, patch);
    if (patched.isOk()) {
      log::info("node taint removed", {{"node", name}, {"taint", kNotReadyTaint}});
      return Status::ok();
    }
    if (patched.status().code() != StatusCode::kConflict) return patched.status();
    ASSIGN_OR_RETURN(node, client_.get(kube::kNodes.named(name)));
  }
  return conflict("node " + name + ": taints kept changing");
}

Status NodeRegistrar::renewLease(size_t index) {
  const NodeSpec& spec = nodes_[index];
  const auto now = std::chrono::system_clock::now();
  const auto ref = kube::kLeases.in(kNodeLeaseNamespace).named(spec.name);
  const json patch = {
      {"spec", {{"renewTime", kube::formatMicroTime(now)}, {"holderIdentity", spec.name}}}};
  auto renewed = client_.patch(ref, kube::PatchType::kMerge, patch);
  if (renewed.isOk()) return Status::ok();
  if (renewed.status().code() != StatusCode::kNotFound) return renewed.status();
  const json lease = buildNodeLease(spec, uids_[index], heartbeat_ * 4, now);
  auto created = client_.create(kube::kLeases.in(kNodeLeaseNamespace), lease);
  return created.isOk() || created.status().code() == StatusCode::kAlreadyExists ? Status::ok()
                                                                                 : created.status();
}

void NodeRegistrar::start() {
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void NodeRegistrar::stop() { thread_ = std::jthread(); }

void NodeRegistrar::loop(std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  for (uint64_t beat = 1; !stop.stop_requested(); ++beat) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, heartbeat_, [] { return false; });
    }
    if (stop.stop_requested()) break;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Status leased = renewLease(i);
      if (!leased.isOk()) {
        log::warn("lease renewal failed", {{"node", nodes_[i].name}, {"error", leased.toString()}});
      }
      if (beat % 3 != 0) continue;
      Status reported =
          reportStatus(i, true, "KubeletReady", "sk-node-agent is posting ready status");
      if (!reported.isOk()) {
        log::warn("node status failed", {{"node", nodes_[i].name}, {"error", reported.toString()}});
      }
    }
  }
}

void NodeRegistrar::markNotReady(const std::string& message) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    ready_since_[i] = std::chrono::system_clock::now();
    Status reported = reportStatus(i, false, "KubeletNotReady", message);
    if (!reported.isOk()) {
      log::warn("node status failed", {{"node", nodes_[i].name}, {"error", reported.toString()}});
    }
  }
}

}  // namespace slotkeeper::agent
