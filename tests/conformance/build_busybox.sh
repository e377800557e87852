#!/usr/bin/env bash
# Builds upstream BusyBox, the release Kubernetes' e2e busybox image has (test/images/busybox/BASEIMAGE:
# busybox:1.37.0), as one static binary for the conformance images (build_images.sh), into a cache outside
# the repo keyed by this script. The source is upstream's release tarball as Debian's mirror keeps it (the
# package's .orig.tar.bz2, upstream's file unchanged), pinned by sha256.
#
# Why not the machine's busybox-static: Debian's package reverts upstream's commit 9c143ce5
# (debian/patches/revert-9c143ce52da11ec3d21a3491c3749841d3dc10f0.patch, in bookworm's 1.35 and trixie's
# 1.37 alike), so its ash leaves variables whose names are not shell names (data-1) out of the environment
# it passes on: `env 'data-1=x' busybox sh -c env` shows no data-1, which fails the suite's envFrom specs
# (`sh -c env`). Upstream's keeps them. Upstream's defconfig also has `nc -u` (UDP), which Debian's lacks.
#
# Prints the binary's path on its last line; exit 3 when the tarball cannot be had (the tests that need the
# conformance images then skip, saying this line).
set -euo pipefail
VERSION=1.37.0
SHA256=3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4
URL="http://deb.debian.org/debian/pool/main/b/busybox/busybox_$VERSION.orig.tar.bz2"

cache_root="${KEDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kedge}"
key="$(sha256sum "$0" | cut -c1-16)"
out="$cache_root/busybox/$VERSION-$key"
if [ -x "$out/busybox" ]; then echo "$out/busybox"; exit 0; fi

for tool in gcc make bzip2; do
  command -v "$tool" >/dev/null || { echo "Cannot build busybox $VERSION: $tool is not installed (apt-get install gcc make libc6-dev bzip2)" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 2 -o "$work/src.tar.bz2" "$URL" || {
  echo "Cannot build busybox $VERSION: $URL cannot be fetched" >&2
  exit 3
}
echo "$SHA256  $work/src.tar.bz2" | sha256sum -c --quiet - >/dev/null 2>&1 || {
  echo "Cannot build busybox $VERSION: $URL does not have sha256 $SHA256" >&2
  exit 1
}
tar -xjf "$work/src.tar.bz2" -C "$work"
(
  cd "$work/busybox-$VERSION"
  make defconfig >/dev/null
  # static; without tc, which does not build against this kernel's headers (CBQ is gone from them)
  sed -i 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/; s/^CONFIG_TC=y/# CONFIG_TC is not set/' .config
  echo "building busybox $VERSION (a minute on 2 cores)" >&2
  KCONFIG_NOTIMESTAMP=1 make -j"$(nproc)" busybox >"$work/build.log" 2>&1 || {
    tail -20 "$work/build.log" >&2
    echo "Cannot build busybox $VERSION: make failed" >&2
    exit 1
  }
)
rm -rf "$cache_root/busybox/$VERSION"-* && mkdir -p "$out"
install -m 0755 "$work/busybox-$VERSION/busybox" "$out/busybox.tmp"
mv "$out/busybox.tmp" "$out/busybox"
echo "$out/busybox"
