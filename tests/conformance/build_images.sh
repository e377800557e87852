#!/usr/bin/env bash
# Builds the OCI image layout the e2e suite's pods pull (run.ts pushes it to the loopback registry under the
# names test/utils/image/manifest.go gives them), from tests/containerd's layout and the agnhost binary
# build.sh made:
#   agnhost     busybox's files plus what upstream's Dockerfile adds: /agnhost (entrypoint, cmd pause), the
#               /agnhost-2 link, /uploads, porter's localhost.crt/key, user 1000 and group 50000; and
#               /bin/curl, a shell script on busybox wget (images/curl), for the suite's curl commands, and
#               /bin/bash, busybox sh under that name (images/bash), for its `/bin/bash -c` scripts
#   busybox     tests/containerd's busybox (Debian's busybox-static)
#   pause       tests/containerd's static pause
#   nonroot     busybox run as user 1234 (upstream's nonroot image: USER 1234)
#   nonewprivs  busybox plus /usr/local/bin/nnp, setuid root, built from upstream's nnp.go (cmd nnp)
# Usage: build_images.sh <folder of build.sh>. Prints the layout folder on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bins="$1"
base="$(bash "$here/../containerd/build_images.sh" | tail -1)"
go="$(bash "$here/../cluster/ensure_go.sh")"
k8s_src="$(GOFLAGS=-mod=mod "$go" mod download -json "k8s.io/kubernetes@${K8S_VERSION:-v1.34.4}" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')"
images_src="$k8s_src/test/images"
[ -f "$images_src/nonewprivs/nnp.go" ] || { echo "Cannot build e2e images: no $images_src/nonewprivs/nnp.go" >&2; exit 1; }
key="$( { sha256sum "$0" "$here/images/curl" "$here/images/bash" "$bins/agnhost" "$base/index.json" "$images_src/nonewprivs/nnp.go" | awk '{print $1}'; } | sha256sum | cut -c1-16)"
out="$bins/images-$key"
if [ -f "$out/done" ]; then echo "$out/layout"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$bins"/images-* && mkdir -p "$out"
layout="$work/layout"
cp -r "$base" "$layout"

umoci unpack --image "$layout:busybox" "$work/agnhost" >/dev/null
root="$work/agnhost/rootfs"
install -m 0755 "$bins/agnhost" "$root/agnhost"
ln -s agnhost "$root/agnhost-2"
install -m 0755 "$here/images/curl" "$root/bin/curl"
install -m 0755 "$here/images/bash" "$root/bin/bash"
mkdir -p "$root/uploads"
install -m 0644 "$images_src/agnhost/porter/localhost.crt" "$images_src/agnhost/porter/localhost.key" "$root/"
printf 'user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n' >>"$root/etc/passwd"
printf 'user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n' >>"$root/etc/group"
umoci repack --image "$layout:agnhost" "$work/agnhost"
umoci config --image "$layout:agnhost" --config.entrypoint /agnhost --config.cmd pause \
  --config.env PATH=/bin:/ --config.workingdir / --config.user 0

umoci unpack --image "$layout:busybox" "$work/nonroot" >/dev/null
printf 'nonroot:x:1234:1234:nonroot:/:/bin/sh\n' >>"$work/nonroot/rootfs/etc/passwd"
umoci repack --image "$layout:nonroot" "$work/nonroot"
umoci config --image "$layout:nonroot" --config.cmd sh --config.env PATH=/bin --config.workingdir / \
  --config.user 1234

mkdir -p "$work/nnp-src" && cp "$images_src/nonewprivs/nnp.go" "$work/nnp-src/"
(cd "$work/nnp-src" && "$go" mod init kedge.local/nnp >/dev/null 2>&1 && CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath -ldflags=-s -o "$work/nnp" .)
umoci unpack --image "$layout:busybox" "$work/nonewprivs" >/dev/null
install -D -m 4755 "$work/nnp" "$work/nonewprivs/rootfs/usr/local/bin/nnp"
umoci repack --image "$layout:nonewprivs" "$work/nonewprivs"
umoci config --image "$layout:nonewprivs" --config.cmd nnp --config.env PATH=/usr/local/bin:/bin \
  --config.workingdir / --config.user 0

umoci gc --layout "$layout"
mv "$layout" "$out/layout"
touch "$out/done"
echo "$out/layout"
