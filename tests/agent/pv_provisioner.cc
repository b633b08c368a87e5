// Local PV provisioning and deletion.
#include "pv_provisioner.h"

#include <filesystem>

#include "common/log.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

constexpr const char* kProvisionedBy = "pv.kubernetes.io/provisioned-by";

const json& field(const json& object, const char* key) {
  static const json kEmpty = json::object();
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

// Unset and "" both mean "no class" to the binder when no default StorageClass exists.
std::string claimClass(const json& pvc) {
  const json& spec = field(pvc, "spec");
  auto it = spec.find("storageClassName");
  return it != spec.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string volumeNameFor(const json& pvc) { return "pvc-" + kube::objectUid(pvc); }

json buildPersistentVolume(const json& pvc, const std::string& dir) {
  const json& spec = field(pvc, "spec");
  const std::string storage =
      field(field(spec, "resources"), "requests").value("storage", std::string("1Gi"));
  json access_modes = spec.value("accessModes", json::array({"ReadWriteOnce"}));
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata",
           {{"name", volumeNameFor(pvc)},
            {"annotations", {{kProvisionedBy, kProvisionerName}}},
            {"labels", {{"node.slotkeeper.io/agent", "sk-node-agent"}}}}},
          {"spec",
           {{"capacity", {{"storage", storage}}},
            {"accessModes", access_modes},
            {"persistentVolumeReclaimPolicy", "Delete"},
            {"storageClassName", claimClass(pvc)},
            {"volumeMode", spec.value("volumeMode", std::string("Filesystem"))},
            {"hostPath", {{"path", dir}, {"type", "DirectoryOrCreate"}}},
            {"claimRef",
             {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"namespace", kube::objectNamespace(pvc)},
              {"name", kube::objectName(pvc)},
              {"uid", kube::objectUid(pvc)}}}}}};
}

json buildStorageClass(const std::string& name) {
  return {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "StorageClass"},
          {"metadata", {{"name", name}}},      {"provisioner", kProvisionerName},
          {"reclaimPolicy", "Delete"},         {"volumeBindingMode", "Immediate"}};
}

PvProvisioner::PvProvisioner(kube::KubeClient& client, std::string state_dir,
                             std::string storage_class)
    : client_(client), state_dir_(std::move(state_dir)), storage_class_(std::move(storage_class)) {}

PvProvisioner::~PvProvisioner() { stop(); }

Status PvProvisioner::ensureStorageClass() {
  if (storage_class_.empty()) return Status::ok();
  auto created = client_.create(kube::kStorageClasses, buildStorageClass(storage_class_));
  if (created.isOk() || created.status().code() == StatusCode::kAlreadyExists) {
    return Status::ok();
  }
  return created.status().withContext("create StorageClass " + storage_class_);
}

void PvProvisioner::wake() {
  {
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

void PvProvisioner::start() {
  kube::ResourceEventHandlers handlers;
  handlers.on_add = [this](const json&) { wake(); };
  handlers.on_update = [this](const json&, const json&) { wake(); };
  handlers.on_delete = [this](const json&) { wake(); };
  claims_ = std::make_unique<kube::Reflector>(client_, kube::kPersistentVolumeClaims,
                                              kube::ReflectorOptions{}, handlers);
  volumes_ = std::make_unique<kube::Reflector>(client_, kube::kPersistentVolumes,
                                               kube::ReflectorOptions{}, handlers);
  claims_->start();
  volumes_->start();
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void PvProvisioner::stop() {
  thread_ = std::jthread();
  if (claims_) claims_->stop();
  if (volumes_) volumes_->stop();
}

void PvProvisioner::loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const bool synced = claims_->hasSynced() && volumes_->hasSynced();
    {
      std::unique_lock lock(mu_);
      // Events wake us; the periodic pass retries what failed and catches class changes. Until
      // both caches have synced, look again soon: a reflector reports synced only after its
      // initial list's handlers ran (and an empty list wakes nobody), so the wake-up for that
      // list may already have been consumed by a pass that had to skip.
      const auto period = synced ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(100);
      cv_.wait_for(lock, stop, period, [this] { return dirty_; });
      dirty_ = false;
    }
    if (stop.stop_requested()) break;
    if (!claims_->hasSynced() || !volumes_->hasSynced()) continue;
    provisionPending();
    deleteReleased();
  }
}

std::optional<bool> PvProvisioner::handlesClass(const json& pvc) {
  const std::string name = claimClass(pvc);
  if (name.empty()) return true;
  auto cached = class_provisioner_.find(name);
  if (cached == class_provisioner_.end()) {
    auto sc = client_.get(kube::kStorageClasses.named(name));
    if (!sc.isOk()) {
      if (sc.status().code() != StatusCode::kNotFound) return std::nullopt;
      return false;  // not cached: the class may be created later
    }
    cached = class_provisioner_.emplace(name, sc->value("provisioner", "")).first;
  }
  return cached->second == kProvisionerName;
}

void PvProvisioner::provisionPending() {
  for (const json& pvc : claims_->store().list()) {
    const json& spec = field(pvc, "spec");
    if (!spec.value("volumeName", "").empty()) continue;
    if (field(pvc, "status").value("phase", "") != "Pending") continue;
    if (field(pvc, "metadata").contains("deletionTimestamp")) continue;
    if (spec.contains("selector") || spec.contains("dataSource")) continue;  // not ours to fill
    auto ours = handlesClass(pvc);
    if (!ours || !*ours) continue;
    const std::string name = volumeNameFor(pvc);
    if (volumes_->store().get(name)) continue;  // created, waiting for the binder
    const std::string dir = state_dir_ + "/volumes/" + name;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      log::warn("cannot create volume dir", {{"dir", dir}, {"error", ec.message()}});
      continue;
    }
    auto created = client_.create(kube::kPersistentVolumes, buildPersistentVolume(pvc, dir));
    if (created.isOk() || created.status().code() == StatusCode::kAlreadyExists) {
      log::info("volume provisioned", {{"pvc", kube::objectKey(pvc)}, {"pv", name}, {"dir", dir}});
    } else {
      log::warn("volume provisioning failed",
                {{"pvc", kube::objectKey(pvc)}, {"error", created.status().toString()}});
    }
  }
}

void PvProvisioner::deleteReleased() {
  for (const json& pv : volumes_->store().list()) {
    if (field(field(pv, "metadata"), "annotations").value(kProvisionedBy, "") !=
        std::string(kProvisionerName)) {
      continue;
    }
    if (field(pv, "metadata").contains("deletionTimestamp")) continue;  // already going
    const json& spec = field(pv, "spec");
    if (spec.value("persistentVolumeReclaimPolicy", "") != "Delete") continue;
    const std::string phase = field(pv, "status").value("phase", "");
    if (phase != "Released" && phase != "Failed") continue;
    const std::string dir = field(spec, "hostPath").value("path", "");
    const std::string name = kube::objectName(pv);
    // Only directories this provisioner made: never rm -rf a path someone typed into a PV.
    if (dir != state_dir_ + "/volumes/" + name) continue;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    kube::DeleteOptions options;
    options.precondition_uid = kube::objectUid(pv);
    auto deleted = client_.remove(kube::kPersistentVolumes.named(name), options);
    log::info("volume deleted", {{"pv", name},
                                 {"dir", dir},
                                 {"ok", deleted.isOk()},
                                 {"error", deleted.isOk() ? "" : deleted.status().toString()}});
  }
}

}  // namespace slotkeeper::agent
