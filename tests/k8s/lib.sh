# shellcheck shell=bash
# lib.sh — shell functions shared by tests/k8s/{up,down,smoke-test}.sh.
# Source it; it defines functions only and changes no shell options.
#
# Process bookkeeping contract: every daemon up.sh starts has a file
# <run-dir>/pids/<name>.pid holding its pid. A pid counts as "ours" only if
# the process is alive AND its command line mentions the run directory (every
# daemon gets run-dir paths as arguments), so a recycled pid is never
# signalled.

# The components in start order; down.sh stops them in reverse.
readonly K8S_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

k8s_log() { printf '%s: %s\n' "${K8S_LOG_TAG:-k8s}" "$*" >&2; }
k8s_die() { k8s_log "error: $*"; exit 1; }

# k8s_abs_dir <dir>: absolute, canonical path of an existing directory.
k8s_abs_dir() { (cd "$1" && pwd -P); }

# k8s_pid_of <run-dir> <name>: prints the recorded pid, if any.
k8s_pid_of() {
  local file="$1/pids/$2.pid" pid
  [[ -f "${file}" ]] || return 1
  pid="$(tr -dc '0-9' <"${file}")"
  [[ -n "${pid}" ]] || return 1
  printf '%s\n' "${pid}"
}

# k8s_pid_is_ours <run-dir> <pid>: true if pid is alive and was started for
# this run dir (its argv mentions the run dir).
k8s_pid_is_ours() {
  local run_dir="$1" pid="$2" cmdline
  [[ -r "/proc/${pid}/cmdline" ]] || return 1
  # A zombie has an empty cmdline; it is not running anything.
  cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline")" || return 1
  [[ "${cmdline}" == *"${run_dir}/"* ]]
}

# k8s_live_components <run-dir>: prints "name pid" for each live component.
k8s_live_components() {
  local run_dir="$1" name pid
  for name in "${K8S_COMPONENTS[@]}"; do
    pid="$(k8s_pid_of "${run_dir}" "${name}")" || continue
    if k8s_pid_is_ours "${run_dir}" "${pid}"; then
      printf '%s %s\n' "${name}" "${pid}"
    fi
  done
}

# k8s_stop_component <run-dir> <name> [grace seconds]: SIGTERM, wait, then
# SIGKILL; removes the pid file. Returns 0 when the process is gone.
k8s_stop_component() {
  local run_dir="$1" name="$2" grace="${3:-15}" pid deadline
  pid="$(k8s_pid_of "${run_dir}" "${name}")" || return 0
  if k8s_pid_is_ours "${run_dir}" "${pid}"; then
    k8s_log "stopping ${name} (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + grace))
    while k8s_pid_is_ours "${run_dir}" "${pid}" && ((SECONDS < deadline)); do
      sleep 0.1
    done
    if k8s_pid_is_ours "${run_dir}" "${pid}"; then
      k8s_log "${name} (pid ${pid}) ignored SIGTERM for ${grace}s; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while k8s_pid_is_ours "${run_dir}" "${pid}" && ((SECONDS < deadline)); do
        sleep 0.1
      done
    fi
    if k8s_pid_is_ours "${run_dir}" "${pid}"; then
      k8s_log "${name} (pid ${pid}) survived SIGKILL"
      return 1
    fi
  fi
  rm -f "${run_dir}/pids/${name}.pid"
}

# k8s_stop_all <run-dir>: stop every component, in reverse start order.
k8s_stop_all() {
  local run_dir="$1" i rc=0
  for ((i = ${#K8S_COMPONENTS[@]} - 1; i >= 0; i--)); do
    k8s_stop_component "${run_dir}" "${K8S_COMPONENTS[i]}" || rc=1
  done
  return "${rc}"
}
