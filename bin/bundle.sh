#!/usr/bin/env bash
# Bundles an entrypoint (deno bundle: minified, code-split so that code loaded on demand stays out of
# memory until used) into .kedge/bundle/<name>-<hash>/ and prints the path of its main file. The hash
# covers every source file and the lockfile, so a change makes a new bundle; an unchanged tree reuses it.
# Concurrent callers each bundle into their own folder and the first rename wins.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
entry="$1"
name="$(basename "$(dirname "$entry")")"
hash="$(cd "$root" && find cloud edge lib -name '*.ts' ! -name '*_test.ts' -printf '%p %T@ %s\n' | sort |
  cat - deno.json deno.lock | sha256sum | cut -c1-16)"
out="$root/.kedge/bundle/$name-$hash"
if [ ! -f "$out/main.js" ]; then
  tmp="$out.tmp.$$"
  rm -rf "$tmp"
  "$root/bin/deno" bundle --frozen --quiet --minify --platform deno --code-splitting --outdir "$tmp" "$root/$entry" >&2
  [ -f "$tmp/main.js" ] || { echo "Cannot bundle $entry: no main.js in $tmp" >&2; exit 1; }
  mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
  # Older bundles of this entrypoint are of no use any more.
  find "$root/.kedge/bundle" -maxdepth 1 -name "$name-*" ! -name "$name-$hash" ! -name '*.tmp.*' -mmin +1440 \
    -exec rm -rf {} + 2>/dev/null || true
fi
echo "$out/main.js"
