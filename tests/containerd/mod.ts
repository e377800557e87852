// Test harness for pods: a containerd with its own root, state and socket, a loopback registry serving
// locally built images (pause, busybox, busybox2), and the run folder that reaps them if the test dies.
// With `login`, a second registry wants that login and serves busybox as `private`.
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
  readonly images: { pause: string; busybox: string; busybox2: string; missing: string; private?: string };
  /** The registry that wants a login (options.login). */
  readonly privateRegistry?: TestRegistry;
  stop(): Promise<void>;
}

export interface TestRuntimeOptions {
  /** Starts a second registry that wants this login. */
  readonly login?: { readonly username: string; readonly password: string };
}

export async function startTestRuntime(
  prefix = "pods",
  options: TestRuntimeOptions = {},
): Promise<TestRuntime> {
  const run = await createRunDir(prefix);
  let registry: TestRegistry | undefined;
  let privateRegistry: TestRegistry | undefined;
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
    if (options.login) {
      privateRegistry = await startRegistry(run, { name: "private-registry", auth: options.login });
    }
    const privateImage = await privateRegistry?.push(layout, "busybox", "kedge/private");
    containerd = await startContainerd(run, {
      registryHost: registry.host,
      moreRegistryHosts: privateRegistry ? [privateRegistry.host] : [],
      sandboxImage: images.pause,
    });
    const [r, p, c] = [registry, privateRegistry, containerd];
    return {
      run,
      registry: r,
      privateRegistry: p,
      containerd: c,
      images: { ...images, ...(privateImage ? { private: privateImage } : {}) },
      async stop() {
        await c.stop().catch(() => {});
        await r.stop().catch(() => {});
        await p?.stop().catch(() => {});
        await run.remove();
      },
    };
  } catch (err) {
    await containerd?.stop().catch(() => {});
    await registry?.stop().catch(() => {});
    await privateRegistry?.stop().catch(() => {});
    await run.remove();
    throw err;
  }
}
