// A small local-volume provisioner. For each Pending PVC without a volumeName whose class
// is "" / unset or a StorageClass with provisioner slotkeeper.io/local, it creates a
// PersistentVolume pre-bound to the claim (claimRef), backed by the directory
// <state dir>/volumes/<pv name> (spec.hostPath), sized and moded after the request; the
// PV binder then binds the two. Reclaim policy is Delete: when the claim is deleted the PV
// turns Released, and this provisioner (acting as the external deleter the PV controller
// waits for) removes the directory and the PV. Deleting a pod never touches its PVC, so its
// data survives restarts and re-creation like a real disk. PVs have no node affinity: all
// Nodes are this machine, so a pod may move between Nodes and keep its data.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "common/status.h"
#include "kube/client.h"
#include "kube/reflector.h"

namespace slotkeeper::agent {

inline constexpr const char* kProvisionerName = "slotkeeper.io/local";

// The PV for a claim (pure). `dir` is the backing directory.
nlohmann::json buildPersistentVolume(const nlohmann::json& pvc, const std::string& dir);
// "pvc-<claim uid>", as dynamic provisioners name them.
std::string volumeNameFor(const nlohmann::json& pvc);
nlohmann::json buildStorageClass(const std::string& name);

class PvProvisioner {
 public:
  PvProvisioner(kube::KubeClient& client, std::string state_dir, std::string storage_class);
  ~PvProvisioner();

  // Creates the StorageClass (non-default, Immediate binding) unless it exists or the
  // name is empty.
  Status ensureStorageClass();
  void start();
  void stop();

 private:
  void loop(std::stop_token stop);
  void provisionPending();
  void deleteReleased();
  // Whether a claim of this class is ours; nullopt while the class cannot be read.
  std::optional<bool> handlesClass(const nlohmann::json& pvc);
  void wake();

  kube::KubeClient& client_;
  std::string state_dir_;
  std::string storage_class_;
  std::unique_ptr<kube::Reflector> claims_;
  std::unique_ptr<kube::Reflector> volumes_;
  std::map<std::string, std::string> class_provisioner_;  // loop thread only
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool dirty_ = true;
  std::jthread thread_;
};

}  // namespace slotkeeper::agent
