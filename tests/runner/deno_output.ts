// What one `deno test` process reported, read from its output: its summary line
// (`ok | 12 passed (5 steps) | 0 failed (3s)`), or for a process killed before it printed one, the tests
// that finished; and which test (and step) was running when the output stops.

export interface FileResult {
  /** Tests (not steps) that passed and failed. */
  readonly passed: number;
  readonly failed: number;
  /** Whether Deno printed its summary line (it does not when killed). */
  readonly summary: boolean;
  /** The test and steps started but not finished, outermost first; empty when none. */
  readonly running: string[];
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const SUMMARY = /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/;
const STARTED = /^( *)(.+) \.\.\.$/;
const ENDED = /^( *)(.+) \.\.\. (ok|FAILED|ignored)\b/;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

export function parseDenoTestOutput(output: string): FileResult {
  let passed = 0, failed = 0, summary = false;
  let topPassed = 0, topFailed = 0;
  const stack: string[] = [];
  for (const raw of stripAnsi(output).split("\n")) {
    const line = raw.trimEnd();
    const total = SUMMARY.exec(line);
    if (total) {
      passed += Number(total[1]);
      failed += Number(total[2]);
      summary = true;
      continue;
    }
    const ended = ENDED.exec(line);
    if (ended) {
      const depth = ended[1]!.length / 2;
      stack.length = Math.min(stack.length, depth);
      if (depth === 0 && ended[3] === "ok") topPassed++;
      if (depth === 0 && ended[3] === "FAILED") topFailed++;
      continue;
    }
    const started = STARTED.exec(line);
    if (started) {
      const depth = started[1]!.length / 2;
      stack.length = Math.min(stack.length, depth);
      stack[depth] = started[2]!;
    }
  }
  const running = stack.filter((name) => name !== undefined);
  if (summary) return { passed, failed, summary, running };
  return { passed: topPassed, failed: topFailed, summary, running };
}
