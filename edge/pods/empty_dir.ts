/**
 * emptyDir volumes, as the kubelet's emptyDir plugin: a folder of mode 0777, or for medium Memory a tmpfs
 * mounted on it with tmpfs' own root mode 1777 (memory_volume.ts), given to the pod's fsGroup
 * (volume_ownership.ts, read-write: 2777, 3777 for a tmpfs) when it is set up. Set up
 * once: a ready marker outside the volume (the kubelet's `plugins/kubernetes.io~empty-dir/<name>/ready`)
 * says so, and later syncs leave the folder and what the containers made of it alone. A tmpfs that is gone
 * (a reboot) is set up again.
 */
import { dirname, join } from "node:path";
import { mountMemoryVolume } from "./memory_volume.ts";
import type { VolumeSpec } from "./pod_schema.ts";
import { setVolumeOwnership } from "./volume_ownership.ts";

/** Sets up the emptyDir `volume` at `path`; `podDir` holds its ready marker. */
export async function setUpEmptyDir(
  podDir: string,
  path: string,
  volume: VolumeSpec,
  fsGroup: number | undefined,
): Promise<void> {
  const ready = join(podDir, "plugins", "empty-dir", volume.name, "ready");
  let setUp = !(await exists(ready));
  await Deno.mkdir(path, { recursive: true, mode: 0o777 });
  // The kubelet's setupDir: the umask cut the mode; set before a tmpfs covers the folder.
  if (setUp) await Deno.chmod(path, 0o777);
  if (volume.emptyDir?.medium === "Memory") {
    setUp = (await mountMemoryVolume(path, volume.emptyDir.sizeLimit)) || setUp;
  }
  if (!setUp) return;
  if (fsGroup !== undefined) await setVolumeOwnership(path, fsGroup, false);
  await Deno.mkdir(dirname(ready), { recursive: true });
  await Deno.writeFile(ready, new Uint8Array());
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
