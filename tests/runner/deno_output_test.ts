import assert from "node:assert/strict";
import { parseDenoTestOutput } from "./deno_output.ts";

const GREEN = (s: string) => `\x1b[0m\x1b[32m${s}\x1b[0m`;

Deno.test("a finished file is counted from Deno's summary line, in tests not steps", () => {
  const output = [
    "running 2 tests from ./tests/x_test.ts",
    "broker ...",
    `  a step ... ${GREEN("ok")} (2ms)`,
    `broker ... ${GREEN("ok")} (5ms)`,
    `other ... \x1b[31mFAILED\x1b[0m (1s)`,
    "",
    ` ERRORS `,
    "other => ./tests/x_test.ts:3:6",
    `\x1b[31mFAILED\x1b[0m | 1 passed (1 step) | 1 failed \x1b[38;5;245m(3s)\x1b[0m`,
  ].join("\n");
  assert.deepEqual(parseDenoTestOutput(output), { passed: 1, failed: 1, summary: true, running: [] });
});

Deno.test("a killed file counts the tests that finished and names the test and step that were running", () => {
  const output = [
    "running 3 tests from ./tests/x_test.ts",
    `first ... ${GREEN("ok")} (5ms)`,
    "pods ...",
    `  starts ... ${GREEN("ok")} (2ms)`,
    "  restarts after a kill ...",
    `    waits for containerd ... ${GREEN("ok")} (2ms)`,
    "    kills edgecore ... ",
  ].join("\n");
  assert.deepEqual(parseDenoTestOutput(output), {
    passed: 1,
    failed: 0,
    summary: false,
    running: ["pods", "restarts after a kill", "kills edgecore"],
  });
});

Deno.test("a test without steps that hangs is named; one that ended is not", () => {
  assert.deepEqual(parseDenoTestOutput(`a ... ${GREEN("ok")} (1ms)\nb ... `).running, ["b"]);
  assert.deepEqual(parseDenoTestOutput(`a ...\n  s ... ${GREEN("ok")}\na ... ${GREEN("ok")}\n`).running, []);
});
