#!/usr/bin/env bash
# Prints the path of a Go toolchain new enough to build Kubernetes 1.34 (go 1.24+). Uses `go` on PATH when
# it is new enough; otherwise takes Debian's golang-go (1.19 on bookworm) only as a downloader of the
# official toolchain, which the Go module proxy serves as the module golang.org/toolchain.
set -euo pipefail
TOOLCHAIN="${GO_TOOLCHAIN_VERSION:-go1.24.13}"

new_enough() { # go binary
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1
  v="${v#go}"
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%.*}"
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "${minor%%[!0-9]*}" -ge 24 ]; }
}

if command -v go >/dev/null 2>&1 && new_enough "$(command -v go)"; then command -v go; exit 0; fi

bootstrap="$(command -v go || true)"
if [ -z "$bootstrap" ]; then
  for candidate in /usr/lib/go-*/bin/go; do [ -x "$candidate" ] && bootstrap="$candidate"; done
fi
if [ -z "$bootstrap" ]; then
  echo "installing golang-go from Debian to download $TOOLCHAIN" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >&2
  bootstrap="$(command -v go)"
fi

case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
module="golang.org/toolchain@v0.0.1-$TOOLCHAIN.linux-$arch"
dir="$(cd /tmp && GOFLAGS=-mod=mod GO111MODULE=on "$bootstrap" mod download -json "$module" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')"
go="$dir/bin/go"
[ -x "$go" ] || chmod +x "$dir/bin/"* "$dir/pkg/tool/"*/* 2>/dev/null || true
[ -x "$go" ] && new_enough "$go" || { echo "Cannot find a Go toolchain >= 1.24: $module gave no usable $go" >&2; exit 1; }
echo "$go"
