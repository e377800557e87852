/**
 * A volumeMount's subPath that does not exist yet is made before the container is created, as the kubelet's
 * SafeMakeDir: each missing folder gets the volume root's mode, setgid included (an fsGroup emptyDir's
 * subPath is 2777 of the group, where containerd would make it 0755), and the walk refuses a symlink on the
 * way rather than create anything outside the volume.
 */
import { join } from "node:path";
import { ConfigError } from "./env.ts";
import type { ContainerSpec } from "./pod_schema.ts";
import type { VolumePaths } from "./volumes.ts";

export async function makeSubPaths(spec: ContainerSpec, volumes: VolumePaths): Promise<void> {
  for (const m of spec.volumeMounts ?? []) {
    const root = volumes.get(m.name);
    // No volume or a '..': the mount itself is refused (container_config.ts).
    if (!m.subPath || root === undefined || m.subPath.split("/").includes("..")) continue;
    if (await exists(join(root, m.subPath))) continue;
    const cannot = (why: string) =>
      new ConfigError(
        `Cannot create subPath directory for volumeMount "${m.name}" of container "${spec.name}": ${why}`,
      );
    try {
      const mode = ((await Deno.stat(root)).mode ?? 0o755) & 0o7777;
      let current = root;
      for (const part of m.subPath.split("/").filter((p) => p !== "" && p !== ".")) {
        current = join(current, part);
        const info = await Deno.lstat(current).catch(() => undefined);
        if (info?.isSymlink) throw cannot(`${part} is a symlink`);
        if (info) continue;
        await Deno.mkdir(current);
        // mkdir's mode is cut by the umask and cannot set setgid: chmod, as the kubelet's fchmod.
        await Deno.chmod(current, mode);
      }
    } catch (err) {
      // As the kubelet, no detail of the node's filesystem for the pod: the error's kind only.
      throw err instanceof ConfigError ? err : cannot((err as Error).name);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
