// Child processes of a test run, recorded on disk so that a run killed half-way (SIGKILL, a crashed
// runner) is cleaned up by the next one: `reapOrphans` kills what a dead owner left and removes its files.
import { join } from "node:path";

const DEFAULT_ROOT = join(Deno.env.get("TMPDIR") ?? "/tmp", "kedge-test-runs");

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

function alive(pid: number, started: string): boolean {
  return startTime(pid) === started;
}

export interface RunDir {
  path: string;
  /** Records a child so that a later run can kill it if this one dies first. */
  record(pid: number): void;
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

/** Kills the recorded children of every run folder whose owner is gone, then removes the folder. */
export async function reapOrphans(root = DEFAULT_ROOT): Promise<number> {
  let reaped = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = Array.from(Deno.readDirSync(root));
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const dir = join(root, entry.name);
    const [owner] = readPairs(join(dir, "owner"));
    if (owner && alive(owner[0], owner[1])) continue;
    for (const [pid, started] of readPairs(join(dir, "pids"))) {
      if (!alive(pid, started)) continue;
      try {
        Deno.kill(pid, "SIGKILL");
        reaped++;
      } catch { /* gone meanwhile */ }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return reaped;
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

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
