// Test harness for pods: a containerd with its own root, state and socket, a loopback registry serving
// locally built images (pause, busybox, busybox2), and the run folder that reaps them if the test dies.
import { createRunDir, type RunDir } from "../cluster/processes.ts";
import { startContainerd, type TestContainerd } from "./containerd.ts";
import { imageLayout } from "./images.ts";
import { startRegistry, type TestRegistry } from "./registry.ts";

export { startContainerd, type TestContainerd } from "./containerd.ts";
export { imageLayout } from "./images.ts";
export { startRegistry, type TestRegistry } from "./registry.ts";

export interface TestRuntime {
  readonly run: RunDir;
  readonly registry: TestRegistry;
  readonly containerd: TestContainerd;
  /** Image names in the registry. `missing` names an image the registry does not have. */
  readonly images: { pause: string; busybox: string; busybox2: string; missing: string };
  stop(): Promise<void>;
}

export async function startTestRuntime(prefix = "pods"): Promise<TestRuntime> {
  const run = await createRunDir(prefix);
  let registry: TestRegistry | undefined;
  let containerd: TestContainerd | undefined;
  try {
    const layout = await imageLayout();
    registry = await startRegistry(run);
    const images = {
      pause: await registry.push(layout, "pause", "kedge/pause"),
      busybox: await registry.push(layout, "busybox", "kedge/busybox"),
      busybox2: await registry.push(layout, "busybox2", "kedge/busybox2"),
      missing: `${registry.host}/kedge/missing:1`,
    };
    containerd = await startContainerd(run, { registryHost: registry.host, sandboxImage: images.pause });
    const [r, c] = [registry, containerd];
    return {
      run,
      registry: r,
      containerd: c,
      images,
      async stop() {
        await c.stop().catch(() => {});
        await r.stop().catch(() => {});
        await run.remove();
      },
    };
  } catch (err) {
    await containerd?.stop().catch(() => {});
    await registry?.stop().catch(() => {});
    await run.remove();
    throw err;
  }
}
