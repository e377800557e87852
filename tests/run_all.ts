/**
 * `make test`'s runner: every test file under tests/ as its own `deno test` process (the unit tests beside
 * the code in lib/, cloud/ and edge/ together in one), JOBS at a time, each with a time limit. A file that
 * hangs is killed with every component it started and reported by name with the test that was running;
 * what a killed file left outside its process group (containerd's shims, their containers) is reaped from
 * its run folders. Each file's output is printed in one block when it ends; the last line is
 * `N passed, N failed` (tests, summed from Deno's per-file summaries), and the exit status is 1 on any
 * failure.
 *
 *   deno run --allow-all tests/run_all.ts [--jobs N] [--timeout SECONDS] [--no-check] [PATH...]
 *
 * PATH defaults to lib cloud edge tests. JOBS and KEDGE_TEST_TIMEOUT (seconds, default 600) are read from
 * the environment when the flags are absent. --no-check skips Deno's type check (make test checks first).
 */
import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { createRunDir, DEFAULT_ROOT, type Reaped, reapOrphans } from "./cluster/processes.ts";
import { parseDenoTestOutput, stripAnsi } from "./runner/deno_output.ts";
import { type Outcome, runTestProcess, type TestUnit } from "./runner/test_process.ts";
import { longestFirst, readDurations, writeDurations } from "./runner/durations.ts";

const TEST_FILE = /(^|[_.])test\.(ts|tsx|mts|js|mjs|jsx)$/;
const GRACE_MS = 10_000;

function positiveNumber(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!(n > 0)) {
    console.error(`run_all: ${what} must be a positive number, got ${JSON.stringify(text)}`);
    Deno.exit(64);
  }
  return n;
}

function testFiles(path: string): string[] {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    console.error(`run_all: Cannot run ${path}: no such file or folder`);
    Deno.exit(64);
  }
  if (info.isFile) return [path];
  const found: string[] = [];
  for (const entry of Deno.readDirSync(path)) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const child = join(path, entry.name);
    if (entry.isDirectory) found.push(...testFiles(child));
    else if (entry.isFile && TEST_FILE.test(entry.name)) found.push(child);
  }
  return found.sort();
}

/** Files under tests/ one by one (each starts its own components); the rest together. */
function unitsOf(paths: string[]): TestUnit[] {
  const files = [...new Set(paths.flatMap(testFiles))].map((f) => relative(Deno.cwd(), f));
  const alone = files.filter((f) => f.startsWith("tests/"));
  const together = files.filter((f) => !f.startsWith("tests/"));
  const folders = [...new Set(together.map((f) => f.split("/")[0]))].join(" ");
  return [
    ...(together.length ? [{ name: `unit tests (${folders})`, files: together }] : []),
    ...alone.map((f) => ({ name: f, files: [f] })),
  ];
}

function print(text: string): void {
  const bytes = new TextEncoder().encode(text.endsWith("\n") ? text : `${text}\n`);
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

function describeReaped(r: Reaped, of: string): string {
  const what = r.killed.map((k) => `\n    ${k.pid} ${k.command.slice(0, 160)}`).join("");
  const owner = r.owner ? ` (its owner ${r.owner} is gone)` : " (the folder is gone)";
  return `---- reaped ${r.dir}${of ? ` of ${of}` : ""}${owner}: killed ${r.killed.length}${what}`;
}

/** Prints what reapOrphans killed, naming the test file that owned the folder when it was one of ours. */
function printReaped(r: Reaped, of?: string): void {
  if (r.killed.length) print(describeReaped(r, of ?? ownerToUnit.get(r.owner ?? 0) ?? ""));
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { jobs: { type: "string" }, timeout: { type: "string" }, "no-check": { type: "boolean" } },
  allowPositionals: true,
});
const jobs = Math.floor(
  positiveNumber(values.jobs ?? Deno.env.get("JOBS"), "--jobs", navigator.hardwareConcurrency),
);
const timeoutS = positiveNumber(values.timeout ?? Deno.env.get("KEDGE_TEST_TIMEOUT"), "--timeout", 600);
const units = unitsOf(positionals.length ? positionals : ["lib", "cloud", "edge", "tests"]);
// --expose-gc: tests that look for a leak (tests/abuse/half_open_test.ts) read the heap after a full GC.
const denoArgs = [
  "--frozen",
  "--allow-all",
  "--v8-flags=--expose-gc",
  ...(values["no-check"] ? ["--no-check"] : []),
];

let passed = 0, failed = 0;
const failures: string[] = [];
const running = new Set<string>();
const ownerToUnit = new Map<number, string>();

// What an earlier run left (a runner killed with -9 leaves its test processes; they are recorded below).
await reapOrphans(DEFAULT_ROOT, { onReaped: (r) => printReaped(r, "an earlier run") });
const run = await createRunDir("runner");
const interrupt = new AbortController();
let interruptedBy: Deno.Signal | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (interruptedBy) return;
    interruptedBy = signal;
    print(`---- ${signal}: stopping ${running.size} running file(s)`);
    interrupt.abort();
  });
}

function report(outcome: Outcome): void {
  const name = outcome.unit.name;
  const result = parseDenoTestOutput(outcome.output);
  const filePassed = result.passed;
  let fileFailed = result.failed;
  let verdict: string;
  if (outcome.timedOut || outcome.aborted) {
    fileFailed += 1;
    const where = result.running.length ? `, killed while running "${result.running.join(" > ")}"` : "";
    verdict = outcome.timedOut ? `timed out after ${timeoutS} s${where}` : `interrupted${where}`;
  } else if (!result.summary) {
    fileFailed += 1;
    verdict = `exited with ${outcome.code} before Deno's summary`;
  } else if (outcome.code !== 0 && result.failed === 0) {
    fileFailed += 1;
    verdict = `exited with ${outcome.code} after its tests passed`;
  } else verdict = result.failed > 0 ? "FAILED" : "ok";
  passed += filePassed;
  failed += fileFailed;
  if (verdict !== "ok") failures.push(`${name} (${verdict})`);
  const lines = [`---- ${name}`, stripTrailing(outcome.output)];
  if (outcome.leftovers.length) {
    lines.push(
      `---- ${name}: ${outcome.leftovers.length} process(es) of its group outlived it and were killed:`,
      ...outcome.leftovers.map((p) => `    ${p.pid} ${p.command.slice(0, 160)}`),
    );
  }
  lines.push(
    `---- ${name}: ${verdict}, ${filePassed} passed, ${fileFailed} failed, ${
      Math.round(outcome.ms / 1000)
    } s`,
  );
  print(lines.join("\n"));
}

function stripTrailing(text: string): string {
  return text.replace(/\s+$/, "");
}

async function worker(queue: TestUnit[]): Promise<void> {
  for (let unit = queue.shift(); unit && !interrupt.signal.aborted; unit = queue.shift()) {
    running.add(unit.name);
    const outcome = await runTestProcess(unit, {
      denoArgs,
      timeoutMs: timeoutS * 1000,
      graceMs: GRACE_MS,
      onSpawn: (pid) => {
        run.record(pid);
        ownerToUnit.set(pid, unit!.name);
      },
      signal: interrupt.signal,
    });
    running.delete(unit.name);
    if (!outcome.timedOut && !outcome.aborted) durations.set(unit.name, outcome.ms);
    report(outcome);
    // Its run folders now have a dead owner: kill what it left outside its group (shims, containers).
    await reapOrphans(DEFAULT_ROOT, { onReaped: (r) => printReaped(r) });
  }
}

const started = Date.now();
print(
  `running ${units.length} test processes, ${
    Math.min(jobs, units.length)
  } at a time, ${timeoutS} s each at most`,
);
const durations = readDurations();
const queue = longestFirst(units, durations);
await Promise.all(Array.from({ length: Math.min(jobs, units.length) }, () => worker(queue)));
for (const unit of queue) failures.push(`${unit.name} (not run: interrupted)`);
// No test runs now: also whatever names a run folder that is gone.
await reapOrphans(DEFAULT_ROOT, { vanished: true, onReaped: (r) => printReaped(r) });
await run.remove();
writeDurations(durations);
if (failures.length) print(`failed: ${failures.join("; ")}`);
print(`took ${Math.round((Date.now() - started) / 1000)} s`);
print(stripAnsi(`${passed} passed, ${failed} failed`));
Deno.exit(interruptedBy ? (interruptedBy === "SIGINT" ? 130 : 143) : failed > 0 || failures.length ? 1 : 0);
