#!/usr/bin/env bash
# Builds the OCI image layouts the containerd tests use, into a cache outside the repo keyed by the inputs:
#   busybox  Debian's busybox-static with one symlink per applet (tags: 1, 2)
#   pause    a static Go pause binary (pause/main.go), the sandbox image
# A second run finds the layout and does nothing. Prints the layout folder on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${KEDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kedge}"
key="$( { sha256sum "$here/pause/main.go" "$0" /usr/bin/busybox | awk '{print $1}'; } | sha256sum | cut -c1-16)"
out="$cache_root/images/$key"
if [ -f "$out/done" ]; then echo "$out/layout"; exit 0; fi

command -v umoci >/dev/null || { echo "Cannot build test images: umoci is not installed (apt-get install umoci)" >&2; exit 1; }
[ -x /usr/bin/busybox ] || { echo "Cannot build test images: /usr/bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$out" && mkdir -p "$out"
layout="$work/layout"
umoci init --layout "$layout"

# pause
go="$(bash "$here/../cluster/ensure_go.sh")"
mkdir -p "$work/pause-src" && cp "$here/pause/main.go" "$work/pause-src/"
(cd "$work/pause-src" && "$go" mod init kedge.local/pause >/dev/null 2>&1 && CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath -ldflags=-s -o "$work/pause-bin" .)
umoci new --image "$layout:pause"
umoci unpack --image "$layout:pause" "$work/pause-bundle" >/dev/null
install -m 0755 "$work/pause-bin" "$work/pause-bundle/rootfs/pause"
umoci repack --image "$layout:pause" "$work/pause-bundle"
umoci config --image "$layout:pause" --config.entrypoint /pause --config.user 0

# busybox
umoci new --image "$layout:busybox"
umoci unpack --image "$layout:busybox" "$work/bb" >/dev/null
root="$work/bb/rootfs"
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/root"
install -m 0755 /usr/bin/busybox "$root/bin/busybox"
for applet in $(/usr/bin/busybox --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
umoci repack --image "$layout:busybox" "$work/bb"
umoci config --image "$layout:busybox" --config.cmd sh --config.env PATH=/bin --config.workingdir / --config.user 0
# tag 2: the same files with one more, a different digest for "pull Always" tests
umoci unpack --image "$layout:busybox" "$work/bb2" >/dev/null
echo 2 >"$work/bb2/rootfs/etc/image-version"
umoci repack --image "$layout:busybox2" "$work/bb2"
umoci gc --layout "$layout"
mv "$layout" "$out/layout"
touch "$out/done"
echo "$out/layout"
