#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes) and etcd
# (go.etcd.io/etcd/server/v3) from the Go module proxy into a cache outside the repo, keyed by version.
# A second run finds the binaries and does nothing. Prints the cache folder on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
cache_root="${KEDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kedge}"
# "-stamped": kube-* binaries carry their version (below); the folder before that had none.
out="$cache_root/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-stamped"
bins=(kube-apiserver kube-controller-manager kube-scheduler etcd)
# kubectl too, only where the machine has none: tests use the machine's kubectl as a user would.
command -v kubectl >/dev/null 2>&1 || bins+=(kubectl)

complete() { for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done; }
if complete; then echo "$out"; exit 0; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="$(bash "$here/ensure_go.sh")"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0

# One module per upstream: require the root module, replace each staging module its go.mod
# replaces locally with the published tag of the same release.
make_module() { # dir, root module, version, staging prefix, staging version
  local dir="$1" root="$2" version="$3" prefix="$4" staging_version="$5"
  mkdir -p "$dir"
  (
    cd "$dir"
    "$go" mod init kedge.local/"$(basename "$dir")" >/dev/null 2>&1
    local gomod
    gomod="$("$go" mod download -json "$root@$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
    [ -f "$gomod" ] || { echo "Cannot build the control plane: no go.mod for $root@$version" >&2; exit 1; }
    {
      echo "require $root $version"
      # lines like "k8s.io/api => ./staging/src/k8s.io/api" or "go.etcd.io/etcd/api/v3 => ../api"
      grep -E "^\s*${prefix}[^ ]* => \.\.?/" "$gomod" | grep -v FORBIDDEN | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
    } >>go.mod
  )
}

k8s_bins=()
for b in "${bins[@]}"; do [ "$b" = etcd ] || [ -x "$out/$b" ] || k8s_bins+=("$b"); done
if [ "${#k8s_bins[@]}" -gt 0 ]; then
  staging="v0.${K8S_VERSION#v1.}"
  # The version stamps Kubernetes' own build sets (hack/lib/version.sh): without them the binaries
  # report "v0.0.0-master+$Format:%H$", and /version, discovery and the suite's version checks see
  # no release. The module proxy gives no commit hash, so gitCommit keeps its default; the build
  # date is the tag's time from the proxy, so the build stays reproducible.
  minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  build_date="$("$go" list -m -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"Time": "\(.*\)",\?$/\1/p')"
  ldflags="-s"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  make_module "$work/k8s" k8s.io/kubernetes "$K8S_VERSION" "k8s.io/" "$staging"
  (
    cd "$work/k8s"
    { printf 'package tools\n\nimport (\n'; for b in "${k8s_bins[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done; printf ')\n'; } >tools.go
    "$go" mod tidy >/dev/null 2>&1 || "$go" mod tidy
    for b in "${k8s_bins[@]}"; do
      echo "building $b $K8S_VERSION (minutes on 2 cores)" >&2
      "$go" build -trimpath -ldflags="$ldflags" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b"
      mv "$out/$b.tmp" "$out/$b"
    done
  )
fi

if [ ! -x "$out/etcd" ]; then
  make_module "$work/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "go.etcd.io/etcd/" "$ETCD_VERSION"
  (
    cd "$work/etcd"
    printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' >tools.go
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >main.go
    rm tools.go
    "$go" mod tidy >/dev/null 2>&1 || "$go" mod tidy
    echo "building etcd $ETCD_VERSION" >&2
    "$go" build -trimpath -ldflags=-s -o "$out/etcd.tmp" .
    mv "$out/etcd.tmp" "$out/etcd"
  )
fi

complete || { echo "Cannot build the control plane: binaries missing in $out" >&2; exit 1; }
echo "$out"
