// What a dead test run leaves besides its recorded children: processes that were never its children but
// work for it (containerd's shims, which containerd starts detached with `-address <socket in the run
// folder>`, and the containers under them), and mounts under its folder. Linux only: reads /proc.
import { join } from "node:path";

export interface ProcessInfo {
  readonly pid: number;
  /** Its process group. */
  readonly pgid: number | undefined;
  /** The command line, arguments joined by spaces. */
  readonly command: string;
  /** Whether the command line or the environment names `dir` (a path, or `dir/...`). */
  names(dir: string): boolean;
  /** Whether the process runs in the cgroup of one of these container ids (containerd's `.../<id>`). */
  inContainer(ids: ReadonlySet<string>): boolean;
  /** Names of the folders of `root` that the command line or the environment names. */
  foldersOf(root: string): string[];
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** `dir` as a whole path in `text`: followed by a separator or the end, not by more of a name. */
export function namesPath(text: string, dir: string): boolean {
  for (let i = text.indexOf(dir); i >= 0; i = text.indexOf(dir, i + 1)) {
    const next = text[i + dir.length];
    if (next === undefined || !/[A-Za-z0-9._-]/.test(next)) return true;
  }
  return false;
}

function foldersIn(text: string, root: string): string[] {
  const names: string[] = [];
  const prefix = root.endsWith("/") ? root : `${root}/`;
  for (let i = text.indexOf(prefix); i >= 0; i = text.indexOf(prefix, i + 1)) {
    const name = /^[A-Za-z0-9._-]+/.exec(text.slice(i + prefix.length))?.[0];
    if (name && name !== "." && name !== "..") names.push(name);
  }
  return names;
}

/** Every process but this one, as /proc shows them now. */
export function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    const argv = read(`/proc/${pid}/cmdline`);
    if (argv === "") continue; // kernel threads and processes already gone
    const environ = read(`/proc/${pid}/environ`);
    const cgroups = read(`/proc/${pid}/cgroup`).split("\n").map((line) =>
      line.slice(line.lastIndexOf(":") + 1)
    );
    found.push({
      pid,
      pgid: processGroup(pid),
      command: argv.replaceAll("\0", " ").trim(),
      names: (dir) => namesPath(argv, dir) || namesPath(environ, dir),
      inContainer: (ids) => cgroups.some((path) => ids.has(path.slice(path.lastIndexOf("/") + 1))),
      foldersOf: (root) => [...foldersIn(argv, root), ...foldersIn(environ, root)],
    });
  }
  return found;
}

/** Ids of the containerd tasks whose bundles are under `dir` (`.../io.containerd.runtime.v2.task/<ns>/<id>`). */
export function containerTasksUnder(dir: string, depth = 4): Set<string> {
  const ids = new Set<string>();
  const walk = (path: string, left: number) => {
    let entries: Deno.DirEntry[];
    try {
      entries = Array.from(Deno.readDirSync(path));
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory) continue;
      const child = join(path, entry.name);
      if (entry.name === "io.containerd.runtime.v2.task") {
        for (const ns of safeDirs(child)) for (const id of safeDirs(join(child, ns))) ids.add(id);
      } else if (left > 0) walk(child, left - 1);
    }
  };
  walk(dir, depth);
  return ids;
}

function safeDirs(path: string): string[] {
  try {
    return Array.from(Deno.readDirSync(path)).filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

/** SIGKILLs `pids` (and the process group of each that leads one) and waits until they are gone. */
export async function killAndWait(pids: Iterable<number>, timeoutMs = 10_000): Promise<void> {
  const list = [...new Set(pids)];
  for (const pid of list) {
    try {
      if (processGroup(pid) === pid) Deno.kill(-pid, "SIGKILL");
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
  const deadline = Date.now() + timeoutMs;
  while (list.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function statFields(pid: number): string[] {
  const stat = read(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces, so count from the closing parenthesis: state is field 3.
  return stat === "" ? [] : stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function processGroup(pid: number): number | undefined {
  const pgrp = statFields(pid)[2];
  return pgrp === undefined ? undefined : Number(pgrp);
}

/** Alive and not a zombie (a zombie waits only for its parent to read its status). */
export function running(pid: number): boolean {
  const state = statFields(pid)[0];
  return state !== undefined && state !== "Z";
}

/** Lazily unmounts everything mounted under `dir`, deepest first, so the folder can be removed. */
export async function unmountUnder(dir: string): Promise<void> {
  const points = read("/proc/self/mountinfo").split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    await new Deno.Command("umount", { args: ["-l", point], stdout: "null", stderr: "null" }).output()
      .catch(() => {});
  }
}
