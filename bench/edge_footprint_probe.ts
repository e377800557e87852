/**
 * What bench/edge_footprint.ts reads of an agent from /proc: memory of a process and its descendants
 * (VmRSS, RssAnon, RssFile from status; Pss, Pss_Anon, Pss_File from smaps_rollup), CPU seconds, where the
 * resident pages are (smaps by mapping), the bare `deno run` floor, and sizes on disk.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Memory {
  /** KiB, summed over the process and its descendants. */
  rss: number;
  anon: number;
  file: number;
  pss: number;
  pssAnon: number;
  pssFile: number;
  processes: number;
  /**
   * Other processes on the machine running the same executable: they share its file pages, so they lower
   * its PSS (for kedge: the bench itself, cloudcore and any other deno process use the same deno binary).
   */
  exeSharers: number;
}

/** The process and every live descendant (by the ppid field of /proc/<pid>/stat). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...children.get(ppid) ?? [], Number(entry.name)]);
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

function fields(file: string, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of Deno.readTextFileSync(file).split("\n")) {
    const [key, value] = line.split(/:\s+/);
    if (key && names.includes(key)) out[key] = Number(value?.split(" ")[0]);
  }
  return out;
}

export function memory(root: number): Memory {
  const sum: Memory = {
    rss: 0,
    anon: 0,
    file: 0,
    pss: 0,
    pssAnon: 0,
    pssFile: 0,
    processes: 0,
    exeSharers: 0,
  };
  const tree = processTree(root);
  const exe = executable(root);
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (pid && !tree.includes(pid) && executable(pid) === exe) sum.exeSharers++;
  }
  for (const pid of tree) {
    try {
      const status = fields(`/proc/${pid}/status`, ["VmRSS", "RssAnon", "RssFile", "RssShmem"]);
      const rollup = fields(`/proc/${pid}/smaps_rollup`, ["Pss", "Pss_Anon", "Pss_File", "Pss_Shmem"]);
      sum.rss += status.VmRSS ?? 0;
      sum.anon += status.RssAnon ?? 0;
      sum.file += (status.RssFile ?? 0) + (status.RssShmem ?? 0);
      sum.pss += rollup.Pss ?? 0;
      sum.pssAnon += rollup.Pss_Anon ?? 0;
      sum.pssFile += (rollup.Pss_File ?? 0) + (rollup.Pss_Shmem ?? 0);
      sum.processes++;
    } catch { /* gone or a kernel thread */ }
  }
  return sum;
}

/**
 * user+system CPU seconds of the process and its live descendants, with the children they have reaped
 * (cutime, cstime): a `mount` the agent ran and waited for counts too.
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch { /* gone */ }
  }
  return ticks / 100; // USER_HZ
}

export function executable(pid: number): string {
  try {
    return Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch {
    return "?";
  }
}

export interface MappingShare {
  what: string;
  /** KiB resident, and of that anonymous (private, written) pages. */
  rss: number;
  anon: number;
}

const MIB_64 = 64 * 1048576;
const KIB_256 = 256 * 1024;

/**
 * What an anonymous mapping most likely is, from its alignment (a guess: /proc does not say): glibc's thread
 * arenas start on 64 MiB, V8's heap pages are 256 KiB chunks on 256 KiB (Go's heap falls there too).
 */
export const ANONYMOUS_KINDS = {
  arena: "anonymous, 64 MiB-aligned (deno: malloc thread arenas)",
  pages: "anonymous, 256 KiB-aligned chunks (deno: V8 heap pages; Go: its heap)",
  other: "anonymous, other (thread stacks, V8 code and large objects, mmap'd buffers)",
} as const;

function mappingKind(start: number, end: number, path: string, exe: string): string {
  if (path === exe) return "executable";
  if (path === "[heap]") return "[heap]: malloc's main arena (brk)";
  if (path === "") {
    if (start % MIB_64 === 0) return ANONYMOUS_KINDS.arena;
    if (start % KIB_256 === 0 && (end - start) % KIB_256 === 0) return ANONYMOUS_KINDS.pages;
    return ANONYMOUS_KINDS.other;
  }
  return path.startsWith("[") ? "other ([stack], [vdso], ...)" : "other files";
}

/** Resident memory of one process by kind of mapping (its executable, malloc's heap, anonymous kinds, ...). */
export function residentByMapping(pid: number): MappingShare[] {
  const exe = executable(pid);
  const shares = new Map<string, MappingShare>();
  let what = "";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      what = mappingKind(parseInt(header[1]!, 16), parseInt(header[2]!, 16), header[3] ?? "", exe);
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!field) continue;
    const share = shares.get(what) ?? { what, rss: 0, anon: 0 };
    if (field[1] === "Rss") share.rss += Number(field[2]);
    else share.anon += Number(field[2]);
    shares.set(what, share);
  }
  return [...shares.values()].sort((a, b) => b.rss - a.rss);
}

/** The bare runtime: `deno run` of a script that only waits, measured after `settleMs`. */
export async function denoFloor(settleMs: number): Promise<Memory & { cpuPercent: number }> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(script, "setInterval(() => {}, 1 << 30);\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    const cpu0 = treeCpuSeconds(child.pid);
    await new Promise((r) => setTimeout(r, 10_000));
    const cpuPercent = (treeCpuSeconds(child.pid) - cpu0) / 10 * 100;
    return { ...memory(child.pid), cpuPercent };
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(script);
  }
}

/** Bytes of every file under `path` (du's apparent size). */
export function treeBytes(path: string): number {
  const info = Deno.lstatSync(path);
  if (!info.isDirectory) return info.isFile ? info.size : 0;
  let total = 0;
  for (const entry of Deno.readDirSync(path)) total += treeBytes(join(path, entry.name));
  return total;
}

export interface KedgeInstall {
  /** kedge's own modules that edge/main.ts loads. */
  sourceBytes: number;
  sourceModules: number;
  /** The npm packages in its module graph, as unpacked in Deno's npm cache. */
  npmBytes: number;
  npmPackages: number;
  /** The Deno executable that runs them. */
  denoBytes: number;
}

/** What `bin/edgecore` runs, from `deno info --json edge/main.ts`. */
export async function kedgeInstall(): Promise<KedgeInstall> {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--frozen", "--json", join(root, "edge/main.ts")],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`Cannot read edgecore's module graph: ${new TextDecoder().decode(out.stderr)}`);
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: Array<{ kind: string; size?: number }>;
    npmPackages: Record<string, { localPath?: string }>;
  };
  const local = info.modules.filter((m) => m.kind === "esm");
  const packages = Object.values(info.npmPackages);
  return {
    sourceBytes: local.reduce((n, m) => n + (m.size ?? 0), 0),
    sourceModules: local.length,
    npmBytes: packages.reduce((n, p) => n + (p.localPath ? treeBytes(p.localPath) : 0), 0),
    npmPackages: packages.length,
    denoBytes: Deno.statSync(Deno.execPath()).size,
  };
}

/** The commit kedge runs from, and whether the files that make edgecore differ from it. */
export async function kedgeRevision(): Promise<string> {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const git = async (...args: string[]) =>
    new TextDecoder().decode(
      (await new Deno.Command("git", { args: ["-C", root, ...args], stdout: "piped", stderr: "null" })
        .output()).stdout,
    ).trim();
  const head = await git("rev-parse", "--short", "HEAD");
  const changed = (await git("status", "--porcelain", "--", "bin", "edge", "lib", "deno.json", "deno.lock"))
    .split("\n").filter(Boolean).length;
  return changed ? `${head || "?"} with ${changed} changed files in bin/ edge/ lib/` : head || "?";
}

export const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
