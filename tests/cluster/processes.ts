// Child processes of a test run, recorded on disk so that a run killed half-way (SIGKILL, a crashed
// runner) is cleaned up by the next one: `reapOrphans` kills what a dead owner left (its recorded children,
// and whatever names its folder: containerd's shims and their containers) and removes its files.
import { join } from "node:path";
import {
  containerTasksUnder,
  killAndWait,
  listProcesses,
  type ProcessInfo,
  running,
  unmountUnder,
} from "./reap.ts";

export const DEFAULT_ROOT = join(Deno.env.get("TMPDIR") ?? "/tmp", "kedge-test-runs");

/** The kernel's start time of a process, so a recycled pid is never mistaken for ours. */
function startTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 22; the command name (field 2) may hold spaces, so count from the closing parenthesis.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The same process (not a recycled pid), and not a zombie: a killed owner stays one until its parent reads it. */
function alive(pid: number, started: string): boolean {
  return startTime(pid) === started && running(pid);
}

export interface RunDir {
  path: string;
  /** Records a child so that a later run can kill it if this one dies first. */
  record(pid: number): void;
  /** A command a later run runs after it killed what this one left, e.g. to delete a network device. */
  atReap(command: string[]): void;
  remove(): Promise<void>;
}

/** A fresh folder owned by this process, for one control plane or one set of components. */
export async function createRunDir(prefix: string, root = DEFAULT_ROOT): Promise<RunDir> {
  await Deno.mkdir(root, { recursive: true });
  await reapOrphans(root);
  const path = await Deno.makeTempDir({ dir: root, prefix: `${prefix}-` });
  await Deno.writeTextFile(join(path, "owner"), `${Deno.pid} ${startTime(Deno.pid)}\n`);
  return {
    path,
    record(pid) {
      Deno.writeTextFileSync(join(path, "pids"), `${pid} ${startTime(pid)}\n`, { append: true });
    },
    atReap(command) {
      Deno.writeTextFileSync(join(path, "reap"), `${JSON.stringify(command)}\n`, { append: true });
    },
    async remove() {
      // KEDGE_KEEP_LOGS=DIR keeps every component's log of a run for a person to read.
      const keep = Deno.env.get("KEDGE_KEEP_LOGS");
      if (keep) {
        const target = join(keep, path.split("/").pop() ?? "run");
        await Deno.mkdir(target, { recursive: true });
        for (const entry of Deno.readDirSync(path)) {
          if (entry.isFile && entry.name.endsWith(".log")) {
            await Deno.copyFile(join(path, entry.name), join(target, entry.name));
          }
        }
      }
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

function readPairs(file: string): Array<[number, string]> {
  try {
    return Deno.readTextFileSync(file).split("\n").filter(Boolean).map((line) => {
      const [pid = "", started = ""] = line.split(" ");
      return [Number(pid), started] as [number, string];
    });
  } catch {
    return [];
  }
}

/** What reapOrphans did for one folder. */
export interface Reaped {
  readonly dir: string;
  /** The pid of the process that owned the folder, when the folder said so. */
  readonly owner?: number;
  readonly killed: ReadonlyArray<{ readonly pid: number; readonly command: string }>;
}

export interface ReapOptions {
  /**
   * Also kill processes that name a folder of `root` that no longer exists (a shim left by a run that
   * removed its folder). Only safe when no test is running.
   */
  readonly vanished?: boolean;
  readonly onReaped?: (reaped: Reaped) => void;
}

/** A folder just made has no owner file for a moment; only an older one without it is abandoned. */
const OWNERLESS_GRACE_MS = 60_000;

function ownerOf(dir: string): { dead: boolean; pid?: number } {
  const [owner] = readPairs(join(dir, "owner"));
  if (owner) return { dead: !alive(owner[0], owner[1]), pid: owner[0] };
  try {
    return { dead: Date.now() - (Deno.statSync(dir).mtime?.getTime() ?? 0) > OWNERLESS_GRACE_MS };
  } catch {
    return { dead: false };
  }
}

/**
 * Kills what every run folder whose owner is gone left behind, then removes the folder: its recorded
 * children (with their process groups when they lead one), every process whose command line or environment
 * names the folder (containerd's shims get `-address <socket in the folder>`), and the containers of the
 * containerd tasks whose bundles are in it; then it runs the folder's atReap commands and unmounts what is
 * mounted under it. Returns how many processes it killed.
 */
export async function reapOrphans(root = DEFAULT_ROOT, options: ReapOptions = {}): Promise<number> {
  let killed = 0;
  // Killing a folder's recorded children may kill the owner of another folder (a runner records its test
  // processes): go again until a pass finds nothing.
  for (let pass = 0; pass < 5; pass++) {
    const found = await reapPass(root, options);
    killed += found.killed;
    if (found.folders === 0) break;
  }
  return killed;
}

async function reapPass(root: string, options: ReapOptions): Promise<{ folders: number; killed: number }> {
  let names: string[];
  try {
    names = Array.from(Deno.readDirSync(root)).filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return { folders: 0, killed: 0 };
  }
  const dead = names.map((name) => ({ name, dir: join(root, name), ...ownerOf(join(root, name)) }))
    .filter((d) => d.dead);
  if (dead.length === 0 && !options.vanished) return { folders: 0, killed: 0 };
  const processes = listProcesses();
  let killed = 0;
  const kill = async (targets: ProcessInfo[], pids: number[]) => {
    const all = new Map<number, string>(pids.map((pid) => [pid, commandOf(pid)]));
    for (const p of targets) all.set(p.pid, p.command);
    await killAndWait(all.keys());
    killed += all.size;
    return [...all].map(([pid, command]) => ({ pid, command }));
  };
  for (const d of dead) {
    const recorded = readPairs(join(d.dir, "pids")).filter(([pid, started]) => alive(pid, started))
      .map(([pid]) => pid);
    const tasks = containerTasksUnder(d.dir);
    const naming = processes.filter((p) => p.names(d.dir) || (tasks.size > 0 && p.inContainer(tasks)));
    const done = await kill(naming, recorded);
    for (const command of readCommands(join(d.dir, "reap"))) {
      await new Deno.Command(command[0]!, { args: command.slice(1), stdout: "null", stderr: "null" })
        .output().catch(() => {});
    }
    await unmountUnder(d.dir);
    await Deno.remove(d.dir, { recursive: true }).catch(() => {});
    options.onReaped?.({ dir: d.dir, owner: d.pid, killed: done });
  }
  if (options.vanished) {
    const present = new Set(names);
    const byFolder = new Map<string, ProcessInfo[]>();
    for (const p of processes) {
      for (const name of p.foldersOf(root)) {
        if (present.has(name)) continue;
        byFolder.set(name, [...byFolder.get(name) ?? [], p]);
      }
    }
    for (const [name, list] of byFolder) {
      const done = await kill(list, []);
      options.onReaped?.({ dir: join(root, name), killed: done });
    }
  }
  return { folders: dead.length, killed };
}

function commandOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

function readCommands(file: string): string[][] {
  try {
    return Deno.readTextFileSync(file).split("\n").filter(Boolean).map((line) => JSON.parse(line) as string[])
      .filter((c) => Array.isArray(c) && c.length > 0);
  } catch {
    return [];
  }
}

export interface Spawned {
  name: string;
  pid: number;
  status: Promise<Deno.CommandStatus>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a binary with its output appended to `<dir>/<name>.log`, recorded in the run folder. */
export async function spawnLogged(
  run: RunDir,
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Spawned> {
  const log = await Deno.open(join(run.path, `${name}.log`), { create: true, append: true });
  const child = new Deno.Command(command, { args, env, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  run.record(child.pid);
  const writer = new WritableStream<Uint8Array>({ write: (chunk) => log.write(chunk).then(() => {}) });
  const piped = Promise.all([
    child.stdout.pipeTo(writer, { preventClose: true }).catch(() => {}),
    child.stderr.pipeTo(new WritableStream({ write: (chunk) => log.write(chunk).then(() => {}) })).catch(
      () => {},
    ),
  ]).finally(() => log.close());
  const status = child.status.then(async (s) => {
    await piped;
    return s;
  });
  let exited = false;
  status.then(() => exited = true);
  return {
    name,
    pid: child.pid,
    status,
    async stop(graceMs = 5000) {
      if (exited) return;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, graceMs);
      await status;
      clearTimeout(timer);
    },
  };
}

/** Ports this process handed out: two parts of one test listening on the same port fail with EADDRINUSE
 * (seen: an edgecore's kubelet server and MetaServer). */
const handedOut = new Set<number>();

/**
 * Where test ports come from: below the kernel's ephemeral range (ip_local_port_range starts at 32768 by
 * default). A port from the ephemeral range (what `port: 0` gives) can be taken as the local port of any
 * outgoing connection while its server is down, so a cloudcore restarted on its old ports failed with
 * EADDRINUSE under load (seen in pods_e2e beside a parallel make test).
 */
const PORT_RANGE = (() => {
  let ephemeralMin = 32_768;
  try {
    ephemeralMin = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
    );
  } catch { /* not Linux: the default */ }
  // A machine whose ephemeral range starts lower still gets 4,000 ports; they are only checked free.
  const max = Math.max(ephemeralMin - 1, 14_000);
  return { min: Math.max(10_000, max - 12_767), max };
})();

/** A port free on 127.0.0.1 now, outside the ephemeral range, never handed out before by this process. */
export function freePort(): number {
  for (;;) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min + 1));
    if (handedOut.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      continue; // taken by another test process (or anything else)
    }
    handedOut.add(port);
    return port;
  }
}
