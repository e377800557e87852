import assert from "node:assert/strict";
import { ConfigError, EX_CONFIG, EX_SOFTWARE, EX_USAGE, UsageError } from "../errors.ts";
import { reportFatal } from "./report.ts";

function report(err: unknown): [number, string] {
  let text = "";
  const code = reportFatal("cloudcore", err, (t) => text += t);
  return [code, text];
}

Deno.test("a usage error exits 64 and points at --help", () => {
  assert.deepEqual(report(new UsageError("unknown flag --x")), [
    EX_USAGE,
    "cloudcore: unknown flag --x\nRun 'cloudcore --help' for usage.\n",
  ]);
});

Deno.test("a config error exits 78 and prints every problem on its own line", () => {
  assert.deepEqual(report(new ConfigError("/c.yaml", ["a.b: must be x", "c: unknown key"])), [
    EX_CONFIG,
    "cloudcore: Cannot load config /c.yaml (2 problems):\n  a.b: must be x\n  c: unknown key\n",
  ]);
});

Deno.test("any other error exits 70 with its cause chain", () => {
  assert.deepEqual(report(new Error("Cannot start", { cause: new Error("disk full") })), [
    EX_SOFTWARE,
    "cloudcore: Cannot start: disk full\n",
  ]);
});
