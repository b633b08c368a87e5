# shellcheck shell=bash
# checks.sh — the PASS/FAIL harness shared by the shell test scripts. Source it; it defines
# functions and the counters PASSED, FAILED, FAILED_NAMES and LAST_OUTPUT, and changes no shell
# options. Callers set WAIT_TIMEOUT (seconds) before using wait_for.
#
# Checks run inside `if`, where set -e does not apply, so every step is written
# `must ... || return 1`.

PASSED=0
FAILED=0
FAILED_NAMES=()
LAST_OUTPUT=""

# fail_check <message>: explain why the current check failed (returns 1).
fail_check() { printf '    %s\n' "$*" >&2; return 1; }

# must <command...>: run a command, keeping its output in LAST_OUTPUT; on failure report it and
# return 1.
must() {
  if ! LAST_OUTPUT="$("$@" 2>&1)"; then
    fail_check "failed: $* -> ${LAST_OUTPUT}"
    return 1
  fi
}

# wait_for <description> <command...>: retry until success or WAIT_TIMEOUT seconds pass.
wait_for() {
  local what="$1" deadline=$((SECONDS + WAIT_TIMEOUT))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail_check "timed out after ${WAIT_TIMEOUT}s waiting for ${what}" || return 1
    sleep 0.5
  done
}

# run_check <name> <function>: run one check, record and print the result.
run_check() {
  local name="$1" fn="$2" start=${SECONDS}
  if "${fn}"; then
    PASSED=$((PASSED + 1))
    printf 'PASS %-52s (%ds)\n' "${name}" "$((SECONDS - start))"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("${name}")
    printf 'FAIL %-52s (%ds)\n' "${name}" "$((SECONDS - start))"
  fi
}
