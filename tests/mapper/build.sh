#!/usr/bin/env bash
# Builds a real DMI mapper for the tests from KubeEdge's mapper-framework: its `_template` mapper as KubeEdge
# ships it (cmd, device, data, grpc client and server from the framework), with the driver replaced by a small
# virtual device (tests/mapper/virtual/: properties held in memory, read, written, optionally counting). The
# kubeedge/* modules come from the KubeEdge source snapshot's staging folders (go.mod `replace`), the other
# dependencies from the Go module proxy. Cached by KubeEdge version and driver hash under
# ~/.cache/kedge/mapper/<version>-<hash>/; prints the binary's path on its last line. Without the snapshot it
# says so in one line and exits 3, and the tests that need the mapper skip with that line as the reason.
set -euo pipefail

KUBEEDGE_VERSION="${KUBEEDGE_VERSION:-v1.23.1}"
git_dir="${KUBEEDGE_GIT_DIR:-/work/.mirror/kubeedge+kubeedge/repo}"
cache_root="${KEDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kedge}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hash="$(cat "$here"/virtual/*.go "$here/build.sh" | sha256sum | cut -c1-12)"
out="$cache_root/mapper/$KUBEEDGE_VERSION-$hash"
bin="$out/virtual-mapper"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

if ! git --git-dir="$git_dir" rev-parse -q --verify "refs/tags/$KUBEEDGE_VERSION^{commit}" >/dev/null 2>&1; then
  echo "Cannot build the DMI mapper: no git snapshot of kubeedge/kubeedge with tag $KUBEEDGE_VERSION at $git_dir (set KUBEEDGE_GIT_DIR)" >&2
  exit 3
fi
go="$(bash "$here/../cluster/ensure_go.sh")"

staging=staging/src/github.com/kubeedge
src="$out/src"
rm -rf "$src" && mkdir -p "$src"
git --git-dir="$git_dir" archive "$KUBEEDGE_VERSION" -- "$staging/api" "$staging/mapper-framework" | tar -x -C "$src"
mv "$src/$staging/api" "$src/api"
mv "$src/$staging/mapper-framework" "$src/mapper-framework"
rm -rf "$src/staging"
m="$src/mapper-framework/_template/mapper"
# The driver is the part a mapper author writes; the rest of the template is used as it is.
cp "$here"/virtual/driver.go "$here"/virtual/devicetype.go "$m/driver/"
# The stream handlers need ffmpeg (cgo); KubeEdge's `make generate` without the stream flag drops them too.
rm -f "$m/data/stream/handler.go" "$m/data/stream/img.go" "$m/data/stream/video.go"

cd "$m"
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
"$go" mod edit -replace "github.com/kubeedge/api=$src/api" -replace "github.com/kubeedge/mapper-framework=$src/mapper-framework"
echo "building the DMI mapper from KubeEdge $KUBEEDGE_VERSION's mapper-framework _template (first run downloads its modules)" >&2
"$go" mod tidy >&2
"$go" build -trimpath -ldflags "-s -w" -o "$bin.tmp" ./cmd
mv "$bin.tmp" "$bin"
echo "$bin"
