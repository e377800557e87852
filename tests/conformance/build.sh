#!/usr/bin/env bash
# Builds Kubernetes' e2e suite (e2e.test, from the Go module k8s.io/kubernetes at the control plane's version),
# the agnhost binary its tests run in their pods, sample-apiserver (k8s.io/sample-apiserver of the same release:
# the wardle API server the Aggregator spec registers, for its image) and the ginkgo CLI (runs e2e.test in
# parallel processes), at the versions k8s.io/kubernetes requires, from the Go module proxy into a cache outside the repo,
# beside the control plane (tests/cluster/build.sh builds that the same way). A second run finds the binaries
# and does nothing. Prints the cache folder on its last line; exit 3 when k8s.io/kubernetes cannot be had.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
cache_root="${KEDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kedge}"
out="$cache_root/conformance/k8s-$K8S_VERSION"

complete() { [ -x "$out/e2e.test" ] && [ -x "$out/agnhost" ] && [ -x "$out/sample-apiserver" ] && [ -x "$out/ginkgo" ]; }
if complete; then echo "$out"; exit 0; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="$(bash "$here/../cluster/ensure_go.sh")"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0

# One module requiring k8s.io/kubernetes; each staging module its go.mod replaces locally is replaced with
# the published tag of the same release (v0.34.x for v1.34.x).
staging="v0.${K8S_VERSION#v1.}"
mkdir -p "$work/k8s"
cd "$work/k8s"
"$go" mod init kedge.local/conformance >/dev/null 2>&1
# Exit 3 (the tests that need the suite skip, saying this line): the module is neither in Go's module cache
# nor to be had from the module proxy.
json="$("$go" mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>/dev/null)" || {
  echo "Cannot build the e2e suite: the Go module k8s.io/kubernetes@$K8S_VERSION is not in the module cache and the module proxy does not serve it" >&2
  exit 3
}
gomod="$(sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p' <<<"$json")"
[ -f "$gomod" ] || { echo "Cannot build the e2e suite: no go.mod for k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
{
  echo "require k8s.io/kubernetes $K8S_VERSION"
  grep -E '^\s*k8s.io/[^ ]* => \./' "$gomod" | grep -v FORBIDDEN | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
} >>go.mod
# The test package, agnhost's, sample-apiserver's and ginkgo's mains, so that tidy keeps every dependency they
# need (k8s.io/sample-apiserver is one of the staging modules replaced above).
printf 'package tools\n\nimport (\n\t_ "github.com/onsi/ginkgo/v2/ginkgo"\n\t_ "k8s.io/kubernetes/test/e2e"\n\t_ "k8s.io/kubernetes/test/images/agnhost"\n\t_ "k8s.io/sample-apiserver"\n)\n' >tools.go
"$go" mod tidy >/dev/null 2>&1 || "$go" mod tidy

if [ ! -x "$out/agnhost" ]; then
  echo "building agnhost $K8S_VERSION" >&2
  "$go" build -trimpath -ldflags=-s -o "$out/agnhost.tmp" k8s.io/kubernetes/test/images/agnhost
  mv "$out/agnhost.tmp" "$out/agnhost"
fi
if [ ! -x "$out/sample-apiserver" ]; then
  echo "building sample-apiserver $staging" >&2
  "$go" build -trimpath -ldflags=-s -o "$out/sample-apiserver.tmp" k8s.io/sample-apiserver
  mv "$out/sample-apiserver.tmp" "$out/sample-apiserver"
fi
if [ ! -x "$out/ginkgo" ]; then
  echo "building ginkgo" >&2
  "$go" build -trimpath -ldflags=-s -o "$out/ginkgo.tmp" github.com/onsi/ginkgo/v2/ginkgo
  mv "$out/ginkgo.tmp" "$out/ginkgo"
fi
if [ ! -x "$out/e2e.test" ]; then
  echo "building e2e.test $K8S_VERSION (long on 2 cores)" >&2
  "$go" test -c -vet=off -trimpath -ldflags=-s -o "$out/e2e.test.tmp" k8s.io/kubernetes/test/e2e
  mv "$out/e2e.test.tmp" "$out/e2e.test"
fi

complete || { echo "Cannot build the e2e suite: binaries missing in $out" >&2; exit 1; }
echo "$out"
