#!/usr/bin/env bash
# Builds KubeEdge's edgecore, cloudcore and keadm from KubeEdge's source into a cache outside the repo, keyed
# by version, for the tests that run kedge against the real peer. The source is a git snapshot of
# github.com/kubeedge/kubeedge (the Go module proxy refuses github.com/kubeedge modules); its release tags
# vendor every dependency, so the build needs no network. A second run finds the binaries and does nothing.
# Prints the cache folder on its last line. Without the snapshot it says so in one line and exits 3, and the
# tests that need KubeEdge skip with that line as the reason.
set -euo pipefail

KUBEEDGE_VERSION="${KUBEEDGE_VERSION:-v1.23.1}"
git_dir="${KUBEEDGE_GIT_DIR:-/work/.mirror/kubeedge+kubeedge/repo}"
cache_root="${KEDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kedge}"
out="$cache_root/kubeedge/$KUBEEDGE_VERSION"
bins=(cloudcore keadm edgecore)

complete() { for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done; }
if complete; then echo "$out"; exit 0; fi

if ! git --git-dir="$git_dir" rev-parse -q --verify "refs/tags/$KUBEEDGE_VERSION^{commit}" >/dev/null 2>&1; then
  echo "Cannot build KubeEdge $KUBEEDGE_VERSION: no git snapshot of kubeedge/kubeedge with that tag at $git_dir (set KUBEEDGE_GIT_DIR)" >&2
  exit 3
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="$(bash "$here/../cluster/ensure_go.sh")"
mkdir -p "$out"
src="$out/src"
if [ ! -f "$src/go.mod" ]; then
  rm -rf "$src.tmp" && mkdir -p "$src.tmp"
  # Large files a snapshot lacks are left out here and fetched below.
  git --git-dir="$git_dir" archive "$KUBEEDGE_VERSION" -- . ":(exclude)vendor/github.com/mattn/go-sqlite3/sqlite3-binding.c" |
    tar -x -C "$src.tmp"
  mv "$src.tmp" "$src"
fi
# A snapshot may lack go-sqlite3's amalgamation; the same file (byte for byte) comes with go-sqlite3 v1.14.22.
binding="$src/vendor/github.com/mattn/go-sqlite3/sqlite3-binding.c"
if [ ! -s "$binding" ]; then
  dir="$(GOFLAGS=-mod=mod "$go" mod download -json github.com/mattn/go-sqlite3@v1.14.22 | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')"
  cp "$dir/sqlite3-binding.c" "$binding"
fi

export GOWORK=off GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=1
ldflags="-s -X github.com/kubeedge/kubeedge/pkg/version.gitVersion=$KUBEEDGE_VERSION"
for b in "${bins[@]}"; do
  [ -x "$out/$b" ] && continue
  case "$b" in
    cloudcore) pkg=./cloud/cmd/cloudcore ;;
    edgecore) pkg=./edge/cmd/edgecore ;;
    keadm) pkg=./keadm/cmd/keadm ;;
  esac
  echo "building KubeEdge $b $KUBEEDGE_VERSION (edgecore takes about 8 minutes on 2 cores)" >&2
  (cd "$src" && "$go" build -trimpath -ldflags="$ldflags" -o "$out/$b.tmp" "$pkg")
  mv "$out/$b.tmp" "$out/$b"
done
echo "$out"
