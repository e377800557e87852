/**
 * A volumeMount's subPath (or subPathExpr, expanded with the container's env) as the node path to mount,
 * as the kubelet does: relative, without "..", created as a directory inside the volume when missing, and
 * refused when it resolves outside the volume. Each folder made gets the volume root's mode, setgid
 * included (an fsGroup emptyDir's subPath is 2777 of its group, where containerd would make it 0755), as
 * the kubelet's SafeMakeDir. A container can plant a symlink in a writable volume
 * (`ln -s / escape`) for another container to mount with `subPath: escape`; following it would give that
 * container the node's root (CVE-2017-1002101). The real path is what the runtime mounts.
 * Left open: a container that swaps a directory on that path for a symlink between this check and the
 * runtime's mount; the kubelet closes that window by bind-mounting an open file descriptor.
 */
import { ConfigError, expand } from "./env.ts";

export interface SubPathMount {
  readonly name: string;
  readonly subPath?: string;
  readonly subPathExpr?: string;
}

/** The subPath to use, or undefined for the whole volume. */
export function subPathOf(mount: SubPathMount, vars: Map<string, string>): string | undefined {
  if (mount.subPath && mount.subPathExpr) {
    throw new ConfigError(`Cannot mount ${mount.name}: subPath and subPathExpr are mutually exclusive`);
  }
  const sub = mount.subPathExpr !== undefined ? expand(mount.subPathExpr, vars) : mount.subPath;
  if (!sub) return undefined;
  if (sub.startsWith("/")) {
    throw new ConfigError(`Cannot mount ${mount.name}: subPath ${sub} must be relative`);
  }
  if (sub.split("/").includes("..")) {
    throw new ConfigError(`Cannot mount ${mount.name}: subPath ${sub} must not contain '..'`);
  }
  return sub;
}

/** The real node path of `sub` inside `volumeDir`, made a directory when nothing is there. */
export async function resolveSubPath(volumeDir: string, sub: string, name: string): Promise<string> {
  const root = await Deno.realPath(volumeDir);
  const target = `${root}/${sub}`;
  try {
    await Deno.lstat(target);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await makeInside(root, sub, name);
  }
  const real = await Deno.realPath(target);
  if (real !== root && !real.startsWith(`${root}/`)) {
    throw new ConfigError(`Cannot mount ${name}: subPath ${sub} resolves to ${real}, outside the volume`);
  }
  return real;
}

/** mkdir -p, one component at a time, never through a symlink that leaves the volume. */
async function makeInside(root: string, sub: string, name: string): Promise<void> {
  const mode = ((await Deno.stat(root)).mode ?? 0o755) & 0o7777;
  let at = root;
  for (const part of sub.split("/").filter((p) => p && p !== ".")) {
    at = `${at}/${part}`;
    try {
      await Deno.mkdir(at);
      // mkdir's mode is cut by the umask and cannot set setgid: chmod, as the kubelet's fchmod.
      await Deno.chmod(at, mode);
      continue;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const real = await Deno.realPath(at);
    if (real !== root && !real.startsWith(`${root}/`)) {
      throw new ConfigError(`Cannot mount ${name}: subPath ${sub} resolves to ${real}, outside the volume`);
    }
    at = real;
  }
}
