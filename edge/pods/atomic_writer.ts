/**
 * Writes a volume's files so a reader never sees a half-updated set, as the kubelet's AtomicWriter: the
 * files go into a fresh `..<timestamp>` folder, a `..data` symlink is swapped to it by rename, and each
 * top-level name is a symlink through `..data`. Returns false when the content was already there.
 * `setPerms` runs on the whole volume after the new files are written and before they are published (the
 * kubelet's step 7: fsGroup ownership, volume_ownership.ts).
 */
import { dirname, join } from "node:path";

export interface FileEntry {
  readonly path: string;
  readonly data: Uint8Array;
  readonly mode: number;
  /** The file's owner; root when absent. */
  readonly uid?: number;
}

const DATA = "..data";
const MANIFEST = ".kedge-payload";

export async function writeAtomically(
  dir: string,
  files: readonly FileEntry[],
  setPerms?: (dir: string) => Promise<void>,
): Promise<boolean> {
  for (const f of files) {
    if (
      f.path.startsWith("/") || f.path.split("/").some((p) => p === ".." || p === "" || p.startsWith(".."))
    ) {
      throw new RangeError(`Cannot write volume file ${f.path}: path must be relative without '..'`);
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  const fingerprint = await digest(files);
  const current = await Deno.readTextFile(join(dir, DATA, MANIFEST)).catch(() => "");
  if (current === fingerprint) return false;
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${crypto.randomUUID().slice(0, 8)}`;
  const target = join(dir, stamp);
  await Deno.mkdir(target, { mode: 0o755 });
  for (const f of files) {
    const path = join(target, f.path);
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeFile(path, f.data, { mode: f.mode });
    await Deno.chmod(path, f.mode);
    if (f.uid !== undefined) await Deno.chown(path, f.uid, null);
  }
  await Deno.writeTextFile(join(target, MANIFEST), fingerprint, { mode: 0o600 });
  await setPerms?.(dir);
  const old = await Deno.readLink(join(dir, DATA)).catch(() => undefined);
  const tmp = join(dir, `${DATA}_tmp`);
  await Deno.remove(tmp).catch(() => {});
  await Deno.symlink(stamp, tmp);
  await Deno.rename(tmp, join(dir, DATA));
  const tops = new Set(files.map((f) => f.path.split("/")[0] ?? ""));
  for (const top of tops) {
    const link = join(dir, top);
    const existing = await Deno.readLink(link).catch(() => undefined);
    if (existing !== join(DATA, top)) {
      await Deno.remove(link, { recursive: true }).catch(() => {});
      await Deno.symlink(join(DATA, top), link);
    }
  }
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("..") || tops.has(entry.name)) continue;
    await Deno.remove(join(dir, entry.name), { recursive: true }).catch(() => {});
  }
  if (old && old !== stamp) await Deno.remove(join(dir, old), { recursive: true }).catch(() => {});
  return true;
}

async function digest(files: readonly FileEntry[]): Promise<string> {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const f of [...files].sort((a, b) => a.path < b.path ? -1 : 1)) {
    const owner = f.uid === undefined ? "" : `${f.uid}\0`;
    parts.push(enc.encode(`${f.path}\0${f.mode}\0${owner}${f.data.length}\0`), f.data);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
