#!/usr/bin/env bash
# Builds the local base image for compose mode, kubemu-base:bookworm, when the engine lacks it.
# No image registry is reachable from these machines, so the root filesystem is made with
# debootstrap from the Debian mirror apt already uses, the host's Node.js binary is copied in,
# and the tree is `docker import`ed. Idempotent: an existing image is kept (KUBEMU_BASE_REBUILD=1
# forces a rebuild) and the debootstrapped tree is cached under $KUBEMU_BASE_CACHE.
set -euo pipefail

image="${KUBEMU_BASE_IMAGE:-kubemu-base:bookworm}"
suite=bookworm
cache="${KUBEMU_BASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemu/base-$suite}"
rootfs="$cache/rootfs"
# What the kubelet's sandboxes (bwrap), the image catalog's programs and debugging need.
packages=(bubblewrap busybox dnsutils curl ca-certificates util-linux procps iproute2)

log() { printf 'compose-base-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

if [[ "${KUBEMU_BASE_REBUILD:-0}" != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
  log "$image exists"
  exit 0
fi
[[ $(id -u) == 0 ]] || die "must run as root (debootstrap and chroot need it)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
started=$(date +%s)

# The mirror apt already uses: deb822 sources (URIs:) or one-line sources (deb URL suite).
mirror_from_apt() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | grep '/debian/\?$' | head -n1 || true)
  if [[ -z "$uri" ]]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep '/debian/\?$' | head -n1 || true)
  fi
  printf '%s' "${uri:-http://deb.debian.org/debian}"
}
mirror="${KUBEMU_DEBIAN_MIRROR:-$(mirror_from_apt)}"

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2
fi

if [[ ! -f "$rootfs/.kubemu-packages-done" ]]; then
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  log "debootstrap --variant=minbase $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >&2
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  log "apt-get install ${packages[*]}"
  chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${packages[@]}" >&2
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/*
  : >"$rootfs/etc/resolv.conf"   # Docker mounts its own
  touch "$rootfs/.kubemu-packages-done"
fi

# The host's Node.js (the version the repo is built and tested with), checked inside the tree.
node_bin=$(readlink -f "$(command -v node)")
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
chroot "$rootfs" /usr/local/bin/node -e 'process.stdout.write(process.version)' >/dev/null \
  || die "the host's node ($node_bin) does not run inside the $suite tree"
log "node $(chroot "$rootfs" /usr/local/bin/node --version) runs in the tree"

log "docker import -> $image"
tar --exclude=./.kubemu-packages-done -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
log "$image built in $(( $(date +%s) - started )) s"
