// The OCI image layout the containerd tests pull from: built once by build_images.sh into a cache outside
// the repo (pause, busybox, busybox2), then pushed into each test's registry.
import { fileURLToPath } from "node:url";

/** Tags in the layout, each pushed to the test registry as `kedge/<tag>:1`. */
export const IMAGE_TAGS = ["pause", "busybox", "busybox2"] as const;
export type ImageTag = typeof IMAGE_TAGS[number];

let built: Promise<string> | undefined;

/** The folder of the OCI layout; builds it the first time (seconds, Go and umoci). */
export function imageLayout(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const script = fileURLToPath(new URL("./build_images.sh", import.meta.url));
  const out = await new Deno.Command("bash", { args: [script], stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`Cannot build test images: ${script} exited ${out.code}`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return lines[lines.length - 1] ?? "";
}
