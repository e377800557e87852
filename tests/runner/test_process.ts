// One `deno test` process for one test file (or the unit tests together), in a process group of its own so
// that a time limit kills it with every component it started (they inherit the group); its output is kept
// whole, to be printed in one block when it ends.
import { killAndWait, listProcesses } from "../cluster/reap.ts";

export interface TestUnit {
  /** What the report calls it: the file, or "unit tests (lib cloud edge)". */
  readonly name: string;
  readonly files: readonly string[];
}

export interface Outcome {
  readonly unit: TestUnit;
  readonly pid: number;
  readonly code: number;
  readonly timedOut: boolean;
  /** Stopped because the run was interrupted. */
  readonly aborted: boolean;
  readonly ms: number;
  /** stdout and stderr in the order they came. */
  readonly output: string;
  /** Processes of its group still running after it ended; they were killed. */
  readonly leftovers: ReadonlyArray<{ readonly pid: number; readonly command: string }>;
}

export interface RunOptions {
  readonly denoArgs: readonly string[];
  readonly timeoutMs: number;
  /** Between SIGTERM and SIGKILL to the group. */
  readonly graceMs: number;
  /** Told the pid at once, so that a runner killed later can be cleaned up after. */
  readonly onSpawn: (pid: number) => void;
  readonly signal: AbortSignal;
}

function killGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch { /* the group is empty */ }
}

export async function runTestProcess(unit: TestUnit, options: RunOptions): Promise<Outcome> {
  const started = Date.now();
  // setsid makes the test process lead a new session and process group (it execs in place: a child of
  // Deno is no group leader, so setsid does not fork); the components a test spawns join that group.
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "test", ...options.denoArgs, ...unit.files],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pgid = child.pid;
  options.onSpawn(pgid);
  const chunks: Uint8Array[] = [];
  const collect = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(new WritableStream({ write: (chunk) => void chunks.push(chunk) })).catch(() => {});
  const piped = Promise.all([collect(child.stdout), collect(child.stderr)]);

  let timedOut = false;
  let aborted = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    killGroup(pgid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(pgid, "SIGKILL"), options.graceMs);
  };
  const limit = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stop();
  };
  options.signal.addEventListener("abort", onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  const status = await child.status;
  clearTimeout(limit);
  options.signal.removeEventListener("abort", onAbort);
  // Whatever of its group outlived it (a component a test did not stop) goes now, and is reported.
  const leftovers = listProcesses().filter((p) => p.pgid === pgid).map(({ pid, command }) => ({
    pid,
    command,
  }));
  killGroup(pgid, "SIGKILL");
  await killAndWait(leftovers.map((p) => p.pid));
  clearTimeout(killTimer);
  // A process of the group that still holds the pipes would keep them open: wait briefly, not forever.
  await Promise.race([piped, new Promise((r) => setTimeout(r, 2000))]);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return {
    unit,
    pid: pgid,
    code: status.code,
    timedOut,
    aborted,
    ms: Date.now() - started,
    output: new TextDecoder().decode(bytes),
    leftovers,
  };
}
