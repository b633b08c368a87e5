// The local Kubernetes control plane for e2e tests: a GoogleTest Environment that starts it
// with tests/k8s/up.sh into a temporary run directory (or reuses the one named by
// $SK_KUBECONFIG) and stops it with tests/k8s/down.sh at the end of the test binary.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "kube/client.h"
#include "kube/config.h"

namespace slotkeeper::e2e {

class ControlPlane {
 public:
  // The process-wide instance (created on first use; started by ControlPlaneEnvironment).
  static ControlPlane& instance();

  // Starts the control plane unless $SK_KUBECONFIG points at a running one. Idempotent.
  Status start();
  // Runs down.sh if we started it. Idempotent.
  void stop();
  // down.sh + up.sh on the same run dir (certificates, ports and etcd data survive). Only for
  // a control plane this process started; kFailedPrecondition for a reused one.
  Status restart();

  bool available() const { return available_; }
  // Why it is not available (shown in GTEST_SKIP / failures).
  const std::string& unavailableReason() const { return reason_; }
  // True when up.sh is missing: the test is skipped rather than failed.
  bool skipOnly() const { return skip_only_; }

  const std::string& kubeconfigPath() const { return kubeconfig_path_; }
  const std::string& runDir() const { return run_dir_; }
  Result<kube::KubeConfig> config() const;
  Result<std::unique_ptr<kube::KubeClient>> newClient() const;
  Result<std::unique_ptr<kube::KubeClient>> newClient(kube::KubeClient::Options options) const;

 private:
  bool started_ = false;
  bool owned_ = false;  // we ran up.sh and must run down.sh
  bool available_ = false;
  bool skip_only_ = false;
  std::string reason_;
  std::string run_dir_;
  std::string kubeconfig_path_;
  std::string k8s_dir_;
};

// Register once per test binary (control_plane.cc does it via a static initializer).
class ControlPlaneEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// Path of the repository's tests/k8s directory ($SK_K8S_DIR overrides).
std::string k8sScriptsDir();
// Runs a shell command, returning its exit code, with stdout+stderr appended to `log_path`.
int runLogged(const std::string& command, const std::string& log_path);

}  // namespace slotkeeper::e2e

// At the top of every e2e test: skips when there is no control plane script, fails when it
// exists but did not come up.
#define SK_REQUIRE_CONTROL_PLANE()                                           \
  do {                                                                       \
    auto& sk_cp_ = ::slotkeeper::e2e::ControlPlane::instance();              \
    if (!sk_cp_.available()) {                                               \
      if (sk_cp_.skipOnly()) GTEST_SKIP() << sk_cp_.unavailableReason();     \
      FAIL() << "control plane unavailable: " << sk_cp_.unavailableReason(); \
    }                                                                        \
  } while (0)
