#!/usr/bin/env bash
# Builds the Debian bookworm base image the Dockerfile starts from, locally, with debootstrap and
# `docker import`: the image needs nothing from a registry, so it builds where none is reachable.
#
# Usage: tests/docker/build-base-image.sh [--force]
#   Prints the image tag on stdout (progress goes to stderr). Does nothing when the image exists,
#   unless --force. Environment: SK_BASE_IMAGE (tag, default slotkeeper/debian-base:bookworm),
#   SK_DEBIAN_MIRROR, SK_DEBIAN_SECURITY_MIRROR, TMPDIR (where the root filesystem is assembled).
set -euo pipefail

tag=${SK_BASE_IMAGE:-slotkeeper/debian-base:bookworm}
suite=bookworm
mirror=${SK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${SK_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

force=false
case "${1:-}" in
  "") ;;
  --force) force=true ;;
  *)
    echo "usage: $0 [--force]" >&2
    exit 2
    ;;
esac

log() { echo "build-base-image: $*" >&2; }

if [[ $force == false ]] && docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag already exists"
  echo "$tag"
  exit 0
fi

# debootstrap creates device nodes and root-owned files; the tarball must keep those owners.
SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin:/sbin
if ! command -v debootstrap >/dev/null; then
  log "debootstrap is not installed (scripts/setup.sh installs it)"
  exit 1
fi

# Assembled outside the source tree, so a build context or `git status` never sees it.
work=$(mktemp -d "${TMPDIR:-/tmp}/sk-debian-base.XXXXXX")
rootfs=$work/rootfs
cleanup() {
  # A debootstrap that failed half-way can leave /proc or /sys mounted inside the root: unmount
  # first, and never let rm cross into another filesystem.
  local mounts
  mounts=$(awk -v root="$rootfs/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r)
  local m
  for m in $mounts; do "${SUDO[@]}" umount -l "$m" || true; done
  "${SUDO[@]}" rm -rf --one-file-system "$work"
}
trap cleanup EXIT

log "debootstrap --variant=minbase $suite from $mirror"
start=$SECONDS
"${SUDO[@]}" debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  log "debootstrap failed"
  exit 1
}
log "debootstrap took $((SECONDS - start)) s"

# The image's own configuration, written as root into the new root filesystem.
put() { "${SUDO[@]}" tee "$rootfs/$1" >/dev/null; }

# apt inside the image: the release, its point updates and security updates, in deb822 form.
"${SUDO[@]}" rm -f "$rootfs/etc/apt/sources.list"
put etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Layers built on this image stay small: no recommends, no translated package descriptions, no
# .deb files or package caches kept after an install, and no documentation, manual pages or
# translations unpacked (copyright files stay, for the licences).
put etc/apt/apt.conf.d/90slotkeeper-image <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
put etc/dpkg/dpkg.cfg.d/90slotkeeper-image <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF

# Package scripts run during `docker build` must not try to start services.
put usr/sbin/policy-rc.d <<'EOF'
#!/bin/sh
exit 101
EOF
"${SUDO[@]}" chmod 0755 "$rootfs/usr/sbin/policy-rc.d"

# What debootstrap left behind that an image should not carry: the host's name and resolver
# (Docker provides both at run time), package lists and caches, logs, and the files the dpkg
# excludes above would not have unpacked.
"${SUDO[@]}" chroot "$rootfs" apt-get clean
# shellcheck disable=SC2016  # $1 is expanded by the inner shell, which runs as root.
"${SUDO[@]}" sh -c '
  set -e
  cd "$1"
  : > etc/resolv.conf
  : > etc/hostname
  [ ! -e etc/machine-id ] || : > etc/machine-id
  find var/lib/apt/lists var/cache/apt -type f -delete
  rm -f var/cache/debconf/*-old var/lib/dpkg/*-old
  rm -rf var/log/* tmp/* var/tmp/* root/.bash_history
  rm -rf usr/share/man/* usr/share/info/* usr/share/groff/* usr/share/lintian/* usr/share/locale/*
  find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
  find usr/share/doc -mindepth 1 -type d -empty -delete
' sh "$rootfs"

log "importing as $tag"
previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
# /dev, /proc and /sys are provided by the container runtime; their contents are not image data.
"${SUDO[@]}" tar -C "$rootfs" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
  --exclude='./sys/*' -cf - . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    --change "LABEL org.opencontainers.image.title=\"Debian $suite minbase\"" \
    --change "LABEL org.opencontainers.image.description=\"debootstrap --variant=minbase $suite $mirror\"" \
    --message "debootstrap --variant=minbase $suite" \
    - "$tag" >/dev/null

# A --force rebuild leaves the old image untagged; it goes unless images built on it still exist.
if [[ -n $previous && $previous != "$(docker image inspect -f '{{.Id}}' "$tag")" ]]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi

size=$(docker image inspect -f '{{.Size}}' "$tag")
log "$tag: $((size / 1000000)) MB, built in $((SECONDS - start)) s"
echo "$tag"
