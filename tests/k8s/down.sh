#!/usr/bin/env bash
# down.sh — stop the control plane that tests/k8s/up.sh started in a run dir.
#
# Usage: tests/k8s/down.sh <run-dir> [--purge]
#
# Stops exactly the processes recorded in <run-dir>/pids (only if they are
# still the processes up.sh started: alive and launched with run-dir paths),
# in reverse start order: SIGTERM, up to 15 s grace, then SIGKILL. Logs,
# certificates and etcd data stay, so a later up.sh resumes the same cluster;
# --purge removes the whole run dir afterwards. Exits non-zero if a process
# could not be stopped. Stopping an already stopped run dir is a no-op.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
K8S_LOG_TAG=down
# shellcheck source=lib.sh
source "${SCRIPT_DIR}/lib.sh"

main() {
  local run_dir purge=0
  [[ $# -ge 1 && $# -le 2 && -n "$1" ]] || k8s_die "usage: down.sh <run-dir> [--purge]"
  if [[ $# -eq 2 ]]; then
    [[ "$2" == --purge ]] || k8s_die "unknown argument: $2"
    purge=1
  fi
  if [[ ! -d "$1" ]]; then
    k8s_log "${1} does not exist; nothing to stop"
    return 0
  fi
  run_dir="$(k8s_abs_dir "$1")"
  k8s_stop_all "${run_dir}" || k8s_die "some components of ${run_dir} are still running"
  if ((purge)); then
    # Only ever delete something that looks like an up.sh run dir.
    if [[ -f "${run_dir}/ports.env" && -d "${run_dir}/pids" ]]; then
      rm -rf -- "${run_dir}"
      k8s_log "removed ${run_dir}"
    else
      k8s_log "not purging ${run_dir}: it does not look like an up.sh run dir"
    fi
  fi
  k8s_log "stopped"
}

main "$@"
