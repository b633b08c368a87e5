# shellcheck shell=bash
# go.sh — locating the Go toolchain for the scripts that build pinned Go tools. Source it; the
# caller defines die <message>.

# find_go prints the go command to use: $GO, else go on PATH, else /usr/local/go/bin/go.
find_go() {
  if [[ -n "${GO:-}" ]]; then
    printf '%s\n' "${GO}"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  else
    die "no go toolchain found (set GO=/path/to/go)"
  fi
}
