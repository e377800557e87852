/**
 * The pod's fsGroup on its volumes, as the kubelet's SetVolumeOwnership (pkg/volume/volume_linux.go): every
 * entry below the volume's folder, the folder last, gets group fsGroup (lchown, so a symlink itself, never its
 * target); every entry but a symlink gets the group's read bits (read-only volumes: secret, configMap,
 * downwardAPI, projected) or read and write bits (emptyDir), folders also the group's exec bit and setgid, so
 * that what a container creates in them belongs to fsGroup too. The kubelet passes no fsGroupChangePolicy for
 * these volume kinds: the change is always the whole volume.
 */
import { lchown } from "node:fs/promises";
import { join } from "node:path";
import type { PodSpec } from "./pod_schema.ts";

const RW = 0o660;
const RO = 0o440;
const EXEC = 0o110;
const SETGID = 0o2000;

/** Sets group `fsGroup` and the group's bits on `dir` and everything below it. */
export async function setVolumeOwnership(dir: string, fsGroup: number, readonly: boolean): Promise<void> {
  const visit = async (path: string, info: Deno.FileInfo): Promise<void> => {
    if (info.isDirectory) {
      for await (const entry of Deno.readDir(path)) {
        const child = join(path, entry.name);
        await visit(child, await Deno.lstat(child));
      }
    }
    await lchown(path, -1, fsGroup);
    if (info.isSymlink) return;
    const mask = (readonly ? RO : RW) | (info.isDirectory ? SETGID | EXEC : 0);
    // FileInfo.mode carries the setuid/setgid/sticky bits too; keep them.
    await Deno.chmod(path, ((info.mode ?? 0) & 0o7777) | mask);
  };
  await visit(dir, await Deno.lstat(dir));
}

/**
 * The user every container of the pod runs as, when they all name the same one (the kubelet's FsUserFrom):
 * the owner of the files that hold the pod's service-account token, so the token stays unreadable to others.
 */
export function fsUserOf(spec: PodSpec): number | undefined {
  let user: number | undefined;
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const runAsUser = c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
    if (runAsUser === undefined || (user !== undefined && user !== runAsUser)) return undefined;
    user = runAsUser;
  }
  return user;
}
