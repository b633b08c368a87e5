#include "e2e/support/control_plane.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace slotkeeper::e2e {
namespace {

std::string envOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Single-quotes `text` for /bin/sh.
std::string shellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string tailOf(const std::string& path, size_t max_bytes) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  return text.size() <= max_bytes ? text : text.substr(text.size() - max_bytes);
}

// Registered at load time so every e2e binary gets the control plane without boilerplate.
const bool kEnvironmentRegistered = [] {
  ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment());
  return true;
}();

}  // namespace

std::string k8sScriptsDir() {
  std::string dir = envOrEmpty("SK_K8S_DIR");
  if (!dir.empty()) return dir;
  // This file lives in tests/e2e/support/; the scripts in tests/k8s/.
  return (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "k8s")
      .lexically_normal()
      .string();
}

int runLogged(const std::string& command, const std::string& log_path) {
  const std::string full = command + " >>" + shellQuote(log_path) + " 2>&1 </dev/null";
  const int raw = std::system(full.c_str());
  if (raw == -1) return -1;
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128;
}

ControlPlane& ControlPlane::instance() {
  static ControlPlane* plane = new ControlPlane();  // never destroyed: used from atexit paths
  return *plane;
}

Status ControlPlane::start() {
  if (started_) return available_ ? Status::ok() : unavailable(reason_);
  started_ = true;
  (void)kEnvironmentRegistered;

  const std::string reuse = envOrEmpty("SK_KUBECONFIG");
  if (!reuse.empty()) {
    kubeconfig_path_ = reuse;
    available_ = std::filesystem::exists(reuse);
    if (!available_) reason_ = "SK_KUBECONFIG=" + reuse + " does not exist";
    return available_ ? Status::ok() : unavailable(reason_);
  }

  k8s_dir_ = k8sScriptsDir();
  if (!std::filesystem::exists(k8s_dir_ + "/up.sh")) {
    skip_only_ = true;
    reason_ = "no control plane: " + k8s_dir_ + "/up.sh does not exist and SK_KUBECONFIG is unset";
    return unavailable(reason_);
  }
  // Ports are picked free just before use, so a parallel test (or an outgoing connection)
  // can take one first; a fresh run dir with fresh ports is tried again.
  constexpr int kAttempts = 3;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    std::string pattern = (std::filesystem::temp_directory_path() / "sk-e2e-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      reason_ = "mkdtemp failed";
      return unavailable(reason_);
    }
    run_dir_ = pattern;
    kubeconfig_path_ = run_dir_ + "/kubeconfig";
    owned_ = true;
    const std::string log = run_dir_ + "/up-down.log";
    const int rc =
        runLogged("bash " + shellQuote(k8s_dir_ + "/up.sh") + " " + shellQuote(run_dir_), log);
    if (rc == 0) break;
    reason_ = "tests/k8s/up.sh exited " + std::to_string(rc) + " (attempt " +
              std::to_string(attempt) + "); log " + log + ":\n" + tailOf(log, 3000);
    std::fprintf(stderr, "[control plane] %s\n", reason_.c_str());
    if (attempt == kAttempts) return unavailable(reason_);
  }
  available_ = true;
  return Status::ok();
}

Status ControlPlane::restart() {
  if (!owned_) return failedPrecondition("control plane was not started by this process");
  const std::string log = run_dir_ + "/up-down.log";
  const std::string run = shellQuote(run_dir_);
  if (runLogged("bash " + shellQuote(k8s_dir_ + "/down.sh") + " " + run, log) != 0) {
    return unavailable("down.sh failed; see " + log);
  }
  if (runLogged("bash " + shellQuote(k8s_dir_ + "/up.sh") + " " + run, log) != 0) {
    available_ = false;
    reason_ = "up.sh failed on restart; see " + log;
    return unavailable(reason_);
  }
  return Status::ok();
}

void ControlPlane::stop() {
  if (!owned_) return;
  owned_ = false;
  available_ = false;
  const std::string log = run_dir_ + "/up-down.log";
  // Keep the run dir (logs, etcd data) for post-mortems when asked to.
  const bool keep = !envOrEmpty("SK_E2E_KEEP_RUN_DIR").empty();
  const int rc = runLogged("bash " + shellQuote(k8s_dir_ + "/down.sh") + " " +
                               shellQuote(run_dir_) + (keep ? "" : " --purge"),
                           log);
  if (rc != 0) {
    std::fprintf(stderr, "[control plane] down.sh %s exited %d; processes may be left running\n",
                 run_dir_.c_str(), rc);
  }
}

Result<kube::KubeConfig> ControlPlane::config() const {
  if (!available_) return unavailable(reason_);
  return kube::loadKubeConfigFile(kubeconfig_path_);
}

Result<std::unique_ptr<kube::KubeClient>> ControlPlane::newClient() const {
  ASSIGN_OR_RETURN(kube::KubeConfig config, this->config());
  return kube::KubeClient::create(std::move(config));
}

Result<std::unique_ptr<kube::KubeClient>> ControlPlane::newClient(
    kube::KubeClient::Options options) const {
  ASSIGN_OR_RETURN(kube::KubeConfig config, this->config());
  return kube::KubeClient::create(std::move(config), std::move(options));
}

void ControlPlaneEnvironment::SetUp() {
  Status started = ControlPlane::instance().start();
  if (!started.isOk()) {
    // Tests report it themselves (SK_REQUIRE_CONTROL_PLANE); say why once, up front.
    std::fprintf(stderr, "[control plane] %s\n", started.toString().c_str());
  }
}

void ControlPlaneEnvironment::TearDown() { ControlPlane::instance().stop(); }

}  // namespace slotkeeper::e2e
