// Everything an operator e2e test needs beyond the control plane: the CRD, the node agent
// (3 Nodes running pods as local processes), the operator binary, kubectl, and reads of the
// live redis cluster. Every process it starts is stopped by pid in the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/cluster_nodes.h"

namespace slotkeeper::e2e {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command (bounded by the caller's own timeouts where it matters).
CommandResult runShell(const std::string& command);

// Runs `command` up to three times, 2 s apart, until it exits 0, printing each refusal under
// `what`: tests running side by side share the API server, which may refuse a request now and
// then. Returns the last try's result.
CommandResult withRetries(const std::string& what, const std::function<CommandResult()>& command);

// The source tree's root directory.
std::string repoRoot();

class OperatorEnv {
 public:
  OperatorEnv();
  ~OperatorEnv();

  // Applies the CRD, creates the test namespace, starts the agent and the operator.
  Status start(int nodes = 3);
  // Like start(), but runs no operator process: the agent runs pods of image kChartImage as the
  // operator binary, so an operator Deployment (the Helm chart's) runs as a pod with its own
  // service-account token.
  Status startWithoutOperator(int nodes = 3);
  static constexpr const char* kChartImageRepository = "slotkeeper";
  static constexpr const char* kChartImageTag = "e2e";

  const std::string& kubeconfig() const { return kubeconfig_; }
  // Starts a helper process (a Prometheus, say) that is stopped by pid in the destructor.
  pid_t startBackground(const std::vector<std::string>& argv, const std::string& log_name);
  // The stdout and stderr the agent captured for a container of a pod in namespace `ns`.
  std::string podLog(const std::string& ns, const std::string& pod, const std::string& container);

  const std::string& ns() const { return namespace_; }
  const std::string& workDir() const { return work_dir_; }
  // kubectl with the test's kubeconfig and namespace.
  CommandResult kubectl(const std::string& args);
  // kubectl apply -f - of `yaml`.
  CommandResult apply(const std::string& yaml);
  Result<nlohmann::json> getJson(const std::string& what);

  // Flags added to every operator process this environment starts (call before start()).
  void setOperatorArgs(std::vector<std::string> args) { operator_args_ = std::move(args); }
  // Starts / SIGKILLs / restarts the operator process.
  Status startOperator();
  // Starts another operator process competing for the same Lease (a standby while the first
  // leads), on its own metrics address, logging to `log_name` in the work directory. It is
  // stopped by pid in the destructor.
  pid_t startSecondOperator(const std::string& log_name);
  // A file of the work directory (e.g. a second operator's log).
  std::string workFile(const std::string& name) const;
  void killOperator();
  pid_t operatorPid() const { return operator_pid_; }
  std::string operatorLog() const;
  // What to print when a cluster does not become Ready: its object, the StatefulSets and pods
  // of the namespace, and the operator's log.
  std::string diagnostics(const std::string& cluster);

  // Polls `condition` every 500 ms until it holds or `timeout` passes.
  bool waitFor(const std::function<bool()>& condition, std::chrono::seconds timeout);
  // Ready=True for the current generation.
  bool clusterReady(const std::string& name);

  // Pod name -> pod IP for the cluster's running pods.
  std::map<std::string, std::string> podIps(const std::string& cluster);
  // CLUSTER NODES as seen by the pod at `ip`.
  Result<std::vector<redis::ClusterNodeEntry>> clusterNodesAt(const std::string& ip);
  // The redis-server pid of a pod of this namespace, from the agent's pid file ("" if none).
  std::string redisPid(const std::string& pod) const;

 private:
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path);
  void stopProcess(pid_t& pid, std::chrono::seconds grace);

  std::string work_dir_;
  std::string kubeconfig_;
  std::string namespace_;
  std::string pod_cidr_;
  std::string http_address_;
  Status startAgentAndNodes(int nodes, const std::vector<std::string>& extra_agent_args);

  std::vector<std::string> operatorArgv(const std::string& http_address) const;
  std::vector<std::string> operator_args_;
  pid_t agent_pid_ = 0;
  pid_t operator_pid_ = 0;
  std::vector<pid_t> background_pids_;
};

// What went wrong for the load generator's clients, from its summary: failed commands, reads
// that returned another value, keys missing or wrong at the final check, or fewer than
// `min_writes` acknowledged writes. Empty when the load ran clean.
std::string loadProblems(const nlohmann::json& summary, int64_t min_writes);

// A running go-redis ClusterClient load generator (tests/loadgen), stopped via its stop file.
class LoadGenerator {
 public:
  ~LoadGenerator();
  // `extra_args` are added to its command line (e.g. --password-file).
  Status start(const std::vector<std::string>& seeds, const std::string& work_dir,
               const std::vector<std::string>& extra_args = {});
  // Acknowledged writes as of its latest progress line (it reports twice a second), or -1
  // before the first one.
  int64_t writesAcked() const;
  // Waits until at least `writes` writes were acknowledged: the load is really flowing.
  // Fails early if the generator exits; the error carries the end of its log.
  Status waitForWrites(int64_t writes, std::chrono::seconds timeout);
  // Asks it to stop, waits, and returns its JSON summary.
  Result<nlohmann::json> finish();

 private:
  pid_t pid_ = 0;
  std::string stop_file_;
  std::string out_file_;
  std::string log_file_;
};

}  // namespace slotkeeper::e2e
