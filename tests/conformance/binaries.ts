// Kubernetes' e2e suite and the images its pods pull, from the build scripts beside this file: build.sh
// (e2e.test, ginkgo, agnhost, sample-apiserver from the Go modules k8s.io/kubernetes and k8s.io/sample-apiserver,
// cached by version) and build_images.sh (the OCI layout of agnhost, busybox, pause, nonroot, nonewprivs,
// nautilus, kitten, sample-apiserver and the jessie-dnsutils, httpd, nginx and etcd stand-ins, cached by its
// inputs). A second call builds
// nothing. Exit 3 from either script means a source is not available here: `missing` carries its one line.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL("./", import.meta.url));

export interface ConformanceBinaries {
  /** build.sh's cache folder. */
  dir: string;
  e2eTest: string;
  ginkgo: string;
  /** The OCI image layout build_images.sh made. */
  layout: string;
}

/** The images the suite's pods pull: layout tag, then the repository and reference manifest.go gives them. */
export const SUITE_IMAGES = [
  ["agnhost", "e2e-test-images/agnhost", "2.56"],
  ["busybox", "e2e-test-images/busybox", "1.37.0-1"],
  ["nonroot", "e2e-test-images/nonroot", "1.4"],
  ["nonewprivs", "e2e-test-images/nonewprivs", "1.3"],
  ["pause", "pause", "3.10.1"],
  ["nautilus", "e2e-test-images/nautilus", "1.7"],
  ["kitten", "e2e-test-images/kitten", "1.7"],
  ["jessie-dnsutils", "e2e-test-images/jessie-dnsutils", "1.7"],
  ["httpd", "e2e-test-images/httpd", "2.4.38-4"],
  ["httpdnew", "e2e-test-images/httpd", "2.4.39-4"],
  ["nginx", "e2e-test-images/nginx", "1.14-4"],
  ["nginxnew", "e2e-test-images/nginx", "1.15-4"],
  ["sample-apiserver", "e2e-test-images/sample-apiserver", "1.29.2"],
  ["etcd", "etcd", "3.6.4-0"],
] as const;

/** A build script's last stdout line, or its exit code and last stderr line (the reason it gives). */
async function script(
  name: string,
  args: string[] = [],
): Promise<{ out: string } | { code: number; why: string }> {
  const out = await new Deno.Command("bash", {
    args: [join(HERE, name), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  if (!out.success) {
    const why = text(out.stderr).split("\n").at(-1) || `tests/conformance/${name} exited ${out.code}`;
    return { code: out.code, why };
  }
  return { out: text(out.stdout).split("\n").at(-1) ?? "" };
}

let located: Promise<ConformanceBinaries | { missing: string }> | undefined;

/**
 * The cached suite and images, building them when missing. `missing` (exit 3) says which source is not
 * here; any other failure throws. KEDGE_CONFORMANCE_DIR names a build.sh folder made beforehand.
 */
export function conformanceBinaries(): Promise<ConformanceBinaries | { missing: string }> {
  located ??= (async () => {
    let dir = Deno.env.get("KEDGE_CONFORMANCE_DIR");
    if (!dir) {
      const built = await script("build.sh");
      if ("code" in built) {
        if (built.code === 3) return { missing: built.why };
        throw new Error(`Cannot build the e2e suite: ${built.why}`);
      }
      dir = built.out;
    }
    const images = await script("build_images.sh", [dir]);
    if ("code" in images) {
      if (images.code === 3) return { missing: images.why };
      throw new Error(`Cannot build the e2e images: ${images.why}`);
    }
    return { dir, e2eTest: join(dir, "e2e.test"), ginkgo: join(dir, "ginkgo"), layout: images.out };
  })();
  return located;
}
