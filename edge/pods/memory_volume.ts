/**
 * emptyDir with medium Memory: a tmpfs on the volume's folder, as the kubelet mounts it, sized by the
 * volume's sizeLimit (else the kernel's default, half the RAM), so the pod's writes never touch the disk.
 * The mounts are undone before a pod's folder is removed: `rm -r` would empty a mounted tmpfs and then fail
 * on its mount point, leaving the mount behind.
 */
import { parseQuantity } from "./quantity.ts";

/**
 * Mounts a tmpfs on `path` unless one is there already (an edgecore restart finds its pods' mounts); true
 * when it mounted one.
 */
export async function mountMemoryVolume(
  path: string,
  sizeLimit: string | number | undefined,
): Promise<boolean> {
  if ((await mountPointsUnder(path)).includes(path)) return false;
  // No mode: tmpfs' root is 1777, as the kubelet's mount leaves it.
  const args = [
    "-t",
    "tmpfs",
    ...(sizeLimit === undefined ? [] : ["-o", `size=${Math.ceil(parseQuantity(sizeLimit))}`]),
  ];
  await run("mount", [...args, "tmpfs", path]);
  return true;
}

/** Unmounts every mount at or below `path`, deepest first; only a pod with an emptyDir can have one. */
export async function unmountUnder(path: string): Promise<void> {
  if (!(await exists(`${path}/volumes/empty-dir`))) return;
  const points = (await mountPointsUnder(path)).sort((a, b) => b.length - a.length);
  for (const point of points) await run("umount", [point]);
}

async function mountPointsUnder(path: string): Promise<string[]> {
  // findmnt, not /proc/self/mountinfo: Deno lets only --allow-all read /proc/self.
  const out = await new Deno.Command("findmnt", {
    args: ["-rn", "-o", "TARGET"],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  // Raw output escapes spaces and other specials as \xNN.
  return new TextDecoder().decode(out.stdout).split("\n").map(unescapeMountPath)
    .filter((point) => point === path || point.startsWith(`${path}/`));
}

function unescapeMountPath(field: string): string {
  return field.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Cannot ${command} ${args.at(-1)}: ${why || `exit ${out.code}`}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
