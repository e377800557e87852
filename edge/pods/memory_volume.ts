/**
 * emptyDir with medium Memory: a tmpfs on the volume's folder, as the kubelet mounts it, sized by the
 * volume's sizeLimit (else the kernel's default, half the RAM), so the pod's writes never touch the disk.
 * The mounts are undone before a pod's folder is removed: `rm -r` would empty a mounted tmpfs and then fail
 * on its mount point, leaving the mount behind.
 */
import { parseQuantity } from "./quantity.ts";

/** Mounts a tmpfs on `path` unless one is there already (an edgecore restart finds its pods' mounts). */
export async function mountMemoryVolume(path: string, sizeLimit: string | number | undefined): Promise<void> {
  if ((await mountPointsUnder(path)).includes(path)) return;
  const options = ["mode=0777"];
  if (sizeLimit !== undefined) options.push(`size=${Math.ceil(parseQuantity(sizeLimit))}`);
  await run("mount", ["-t", "tmpfs", "-o", options.join(","), "tmpfs", path]);
}

/** Unmounts every mount at or below `path`, deepest first. */
export async function unmountUnder(path: string): Promise<void> {
  const points = (await mountPointsUnder(path)).sort((a, b) => b.length - a.length);
  for (const point of points) await run("umount", [point]);
}

async function mountPointsUnder(path: string): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  // Field 5 is the mount point, with spaces and other specials octal-escaped.
  return text.split("\n").map((line) => line.split(" ")[4] ?? "").map(unescapeMountPath)
    .filter((point) => point === path || point.startsWith(`${path}/`));
}

function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Cannot ${command} ${args.at(-1)}: ${why || `exit ${out.code}`}`);
  }
}
