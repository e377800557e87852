#!/usr/bin/env bash
# Builds the OCI image layout the e2e suite's pods pull (run.ts pushes it to the loopback registry under the
# names test/utils/image/manifest.go gives them), from tests/containerd's layout, the agnhost binary
# build.sh made and upstream's busybox (build_busybox.sh):
#   busybox     tests/containerd's busybox image with upstream's busybox 1.37.0 (what the suite's busybox
#               image has) in place of Debian's: Debian's ash drops variables whose names are not shell
#               names (build_busybox.sh says why); every image below is built on this one
#   agnhost     busybox's files plus what upstream's Dockerfile adds: /agnhost (entrypoint, cmd pause), the
#               /agnhost-2 link, /uploads, porter's localhost.crt/key, user 1000 and group 50000; and
#               /bin/curl, a shell script on busybox wget (images/curl), for the suite's curl commands, and
#               /bin/bash, busybox sh under that name (images/bash), for its `/bin/bash -c` scripts, and
#               /bin/getent, the hosts database from /etc/hosts (images/getent), as Alpine's has getent
#   pause       tests/containerd's static pause
#   nonroot     busybox run as user 1234 (upstream's nonroot image: USER 1234)
#   nonewprivs  busybox plus /usr/local/bin/nnp, setuid root, built from upstream's nnp.go (cmd nnp)
#   nautilus, kitten  upstream's images exactly: agnhost plus the image's /data.json and jpg, cmd
#               test-webserver (serves / on port 80), for kubectl's Update Demo
#   jessie-dnsutils  a stand-in for jessie-dnsutils:1.7 (upstream: Debian jessie with dnsutils and coredns):
#               busybox with /bin/getent (images/getent) for the /etc/hosts checks of the DNS specs; no dig,
#               no coredns, no DNS at all (the specs that need cluster DNS are on the skip list)
#   httpd, httpdnew  stand-ins for httpd:2.4.38-4 and 2.4.39-4 (upstream: the httpd:2.4.3x-alpine images):
#               busybox's httpd serving /usr/local/apache2/htdocs (index.html "It works!") on port 80 in the
#               foreground, cmd httpd-foreground (a script, args ignored), workdir /usr/local/apache2, so the
#               suite's readiness probes (GET /index.html) and its `mv` of index.html out of htdocs and back
#               behave; not Apache: no httpd.conf, modules, CGI nor graceful stop (SIGTERM ends it). The two
#               differ by one file (/etc/image-version), hence by digest, for the rollouts from one to the other
#   nginx, nginxnew  stand-ins for nginx:1.14-4 and 1.15-4 (upstream: nginx:1.1x-alpine): busybox's httpd
#               serving /usr/share/nginx/html (index.html "Welcome to nginx!") on port 80, started by
#               /usr/sbin/nginx, a script that ignores its args (cmd `nginx -g "daemon off;"` as upstream's);
#               not nginx: no nginx.conf, no reload, no proxying; differ by /etc/image-version like httpd's
#   sample-apiserver  upstream's image (e2e-test-images/sample-apiserver: alpine plus /sample-apiserver,
#               its entrypoint) with busybox for alpine and the binary build.sh made from k8s.io/sample-apiserver
#               of the suite's release (the tag's 1.29.2 is upstream's build; the Aggregator spec only needs the
#               wardle API); run as root, as upstream's, for its port 443
#   etcd        a stand-in for registry.k8s.io/etcd:3.6.4-0: busybox plus the control plane's etcd
#               (tests/cluster/build.sh, v3.6.x) at /usr/local/bin/etcd, the command the suite gives it; no
#               etcdctl, etcdutl nor upstream's migration scripts
# Usage: build_images.sh <folder of build.sh>. Prints the layout folder on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bins="$1"
base="$(bash "$here/../containerd/build_images.sh" | tail -1)"
go="$(bash "$here/../cluster/ensure_go.sh")"
k8s_src="$(GOFLAGS=-mod=mod "$go" mod download -json "k8s.io/kubernetes@${K8S_VERSION:-v1.34.4}" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')"
images_src="$k8s_src/test/images"
[ -f "$images_src/nonewprivs/nnp.go" ] || { echo "Cannot build e2e images: no $images_src/nonewprivs/nnp.go" >&2; exit 1; }
busybox="$(bash "$here/build_busybox.sh" | tail -1)"
etcd="${KEDGE_CONTROL_PLANE_DIR:-$(bash "$here/../cluster/build.sh" | tail -1)}/etcd"
[ -x "$etcd" ] || { echo "Cannot build e2e images: no etcd at $etcd" >&2; exit 1; }
[ -x "$bins/sample-apiserver" ] || { echo "Cannot build e2e images: no $bins/sample-apiserver (tests/conformance/build.sh builds it)" >&2; exit 1; }
key="$( { sha256sum "$0" "$here/images/curl" "$here/images/bash" "$here/images/getent" "$bins/agnhost" "$bins/sample-apiserver" "$etcd" "$base/index.json" "$busybox" \
  "$images_src/nonewprivs/nnp.go" "$images_src"/{nautilus,kitten}/html/* | awk '{print $1}'; } | sha256sum | cut -c1-16)"
out="$bins/images-$key"
if [ -f "$out/done" ]; then echo "$out/layout"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$bins"/images-* && mkdir -p "$out"
layout="$work/layout"
cp -r "$base" "$layout"

# busybox: upstream's binary, one link per applet of its own list
umoci unpack --image "$layout:busybox" "$work/bb" >/dev/null
find "$work/bb/rootfs/bin" -type l -lname busybox -delete
install -m 0755 "$busybox" "$work/bb/rootfs/bin/busybox"
for applet in $("$busybox" --list); do [ -e "$work/bb/rootfs/bin/$applet" ] || ln -s busybox "$work/bb/rootfs/bin/$applet"; done
umoci repack --image "$layout:busybox" "$work/bb"

umoci unpack --image "$layout:busybox" "$work/agnhost" >/dev/null
root="$work/agnhost/rootfs"
install -m 0755 "$bins/agnhost" "$root/agnhost"
ln -s agnhost "$root/agnhost-2"
install -m 0755 "$here/images/curl" "$root/bin/curl"
install -m 0755 "$here/images/bash" "$root/bin/bash"
install -m 0755 "$here/images/getent" "$root/bin/getent"
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

for name in nautilus kitten; do
  umoci unpack --image "$layout:agnhost" "$work/$name" >/dev/null
  install -m 0644 "$images_src/$name/html/data.json" "$images_src/$name/html/$name.jpg" "$work/$name/rootfs/"
  umoci repack --image "$layout:$name" "$work/$name"
  umoci config --image "$layout:$name" --config.cmd test-webserver
done

umoci unpack --image "$layout:busybox" "$work/jessie" >/dev/null
install -m 0755 "$here/images/getent" "$work/jessie/rootfs/bin/getent"
umoci repack --image "$layout:jessie-dnsutils" "$work/jessie"

# web server stand-ins: tag, version, document root, start script, workdir, PATH, index.html
webserver() {
  local tag="$1" version="$2" docroot="$3" script="$4" workdir="$5" path="$6" index="$7"
  umoci unpack --image "$layout:busybox" "$work/$tag" >/dev/null
  local root="$work/$tag/rootfs"
  mkdir -p "$root$docroot" "$root$workdir" "$(dirname "$root$script")"
  printf '%s\n' "$index" >"$root$docroot/index.html"
  printf '#!/bin/sh\n# stand-in (kedge tests/conformance/build_images.sh): busybox httpd, not %s; arguments ignored\nexec /bin/httpd -f -p 80 -h %s\n' \
    "$version" "$docroot" >"$root$script"
  chmod 0755 "$root$script"
  echo "$version (kedge stand-in on busybox httpd)" >"$root/etc/image-version"
  umoci repack --image "$layout:$tag" "$work/$tag"
  umoci config --image "$layout:$tag" --config.env "PATH=$path" --config.workingdir "$workdir" --config.user 0 \
    --config.exposedports 80/tcp
}
apache_path=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
apache_index="<html><body><h1>It works!</h1></body></html>"
nginx_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
nginx_index="<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>"
for tag_version in "httpd 2.4.38-4" "httpdnew 2.4.39-4"; do
  tag="${tag_version%% *}"
  webserver "$tag" "httpd ${tag_version#* }" /usr/local/apache2/htdocs /usr/local/apache2/bin/httpd-foreground /usr/local/apache2 \
    "$apache_path" "$apache_index"
  umoci config --image "$layout:$tag" --config.cmd httpd-foreground
done
for tag_version in "nginx 1.14-4" "nginxnew 1.15-4"; do
  tag="${tag_version%% *}"
  webserver "$tag" "nginx ${tag_version#* }" /usr/share/nginx/html /usr/sbin/nginx / "$nginx_path" "$nginx_index"
  umoci config --image "$layout:$tag" --config.cmd nginx --config.cmd -g --config.cmd "daemon off;"
done

umoci unpack --image "$layout:busybox" "$work/sample-apiserver" >/dev/null
install -m 0755 "$bins/sample-apiserver" "$work/sample-apiserver/rootfs/sample-apiserver"
umoci repack --image "$layout:sample-apiserver" "$work/sample-apiserver"
umoci config --image "$layout:sample-apiserver" --clear=config.cmd --config.entrypoint /sample-apiserver \
  --config.env PATH=/bin --config.workingdir / --config.user 0

umoci unpack --image "$layout:busybox" "$work/etcd" >/dev/null
install -D -m 0755 "$etcd" "$work/etcd/rootfs/usr/local/bin/etcd"
umoci repack --image "$layout:etcd" "$work/etcd"
umoci config --image "$layout:etcd" --config.cmd /usr/local/bin/etcd --config.env PATH=/usr/local/bin:/bin \
  --config.workingdir / --config.user 0

umoci gc --layout "$layout"
mv "$layout" "$out/layout"
touch "$out/done"
echo "$out/layout"
