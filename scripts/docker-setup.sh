#!/usr/bin/env bash
# Makes a Docker engine and the sandbox tests' images available on this machine:
#   1. installs Debian's docker.io and starts dockerd when no engine answers (DOCKER_HOST honoured);
#   2. builds the test images locally — there is no registry to pull from here:
#        stigmer-test/busybox:1       a 2 MB image without bash or python (the plain-exec path),
#        stigmer-test/debian:bookworm a debootstrapped Debian base, tagged as debian:bookworm-slim,
#                                     the FROM image of Dockerfile.sandbox,
#        stigmer-test/sandbox-basic:ci Dockerfile.sandbox built for real on that base;
#   3. starts a local registry on 127.0.0.1:5000 (Debian's docker-registry) for pull tests.
# Idempotent: what exists is reused. Used by .ci/run, and by developers before `pnpm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- 1. engine -----------------------------------------------------------------------------
if ! timeout 10 docker info >/dev/null 2>&1; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    echo "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST" >&2
    exit 1
  fi
  apt_install docker.io
  log "starting dockerd"
  (dockerd --host unix:///var/run/docker.sock >/var/log/stigmer-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 0.5; done
  timeout 10 docker info >/dev/null 2>&1 || { tail -20 /var/log/stigmer-dockerd.log >&2; exit 1; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}')"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- 2. images -----------------------------------------------------------------------------
if ! have_image stigmer-test/busybox:1; then
  apt_install busybox-static
  log "building stigmer-test/busybox:1"
  root="$work/busybox"
  mkdir -p "$root/bin" "$root/tmp" "$root/workspace" "$root/etc" "$root/proc" "$root/dev" "$root/sys"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import -c 'LABEL dev.stigmer.test=true' -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - stigmer-test/busybox:1 >/dev/null
fi

if ! have_image stigmer-test/debian:bookworm; then
  apt_install debootstrap
  # The machine's own Debian mirror, read from its apt sources: no host name lives in this repository.
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
  log "bootstrapping a Debian base from the machine's mirror (about a minute)"
  debootstrap --variant=minbase --include=python3,git,curl,jq,ca-certificates bookworm "$work/debian" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/debian" -c . | docker import -c 'LABEL dev.stigmer.test=true' -c 'CMD ["/bin/bash"]' - stigmer-test/debian:bookworm >/dev/null
fi
# Dockerfile.sandbox starts FROM debian:bookworm-slim; offline, the local base stands in for it.
have_image debian:bookworm-slim || docker tag stigmer-test/debian:bookworm debian:bookworm-slim

if ! have_image stigmer-test/sandbox-basic:ci; then
  log "building Dockerfile.sandbox as stigmer-test/sandbox-basic:ci"
  docker build -q -f Dockerfile.sandbox --label dev.stigmer.test=true -t stigmer-test/sandbox-basic:ci . >/dev/null
fi
log "sandbox-basic size: $(docker image inspect stigmer-test/sandbox-basic:ci --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')"

# --- 3. registry ---------------------------------------------------------------------------
if ! curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null; then
  apt_install docker-registry
  mkdir -p /var/lib/stigmer-test-registry
  cat >/etc/stigmer-test-registry.yml <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/stigmer-test-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  log "starting a local registry on 127.0.0.1:5000"
  (docker-registry serve /etc/stigmer-test-registry.yml >/var/log/stigmer-test-registry.log 2>&1 &)
  for _ in $(seq 1 40); do curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null && break; sleep 0.25; done
  curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ || { tail -20 /var/log/stigmer-test-registry.log >&2; exit 1; }
fi
log "docker ready"
