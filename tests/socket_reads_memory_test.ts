/**
 * edgecore's V8 flags keep the malloc heap flat under node:net reads (tests/runtime/socket_reader.ts says
 * why it grew): with concurrent ArrayBuffer sweeping on, 2,000 reads with a GC every 50 grew `[heap]` by
 * about 1.1 MiB here (and an idle edgecore by 0.4-0.55 MiB a minute, bench/README.md); with
 * `--no-concurrent-array-buffer-sweeping`, by 60-70 KiB.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const READS = 2000;
const MAX_GROWTH_KB = 512;

/** The V8 flags bin/edgecore runs with, from the one place that states them. */
function edgecoreRuntimeFlags(): string[] {
  const text = Deno.readTextFileSync(join(root, "bin/permissions.sh"));
  const value = text.match(/^EDGECORE_RUNTIME_FLAGS="([^"]*)"/m)?.[1];
  if (value === undefined) throw new Error("bin/permissions.sh does not set EDGECORE_RUNTIME_FLAGS");
  return value.split(" ");
}

Deno.test({
  name:
    `${READS} node:net reads under edgecore's V8 flags: the malloc heap grows less than ${MAX_GROWTH_KB} KiB`,
  ignore: Deno.build.os !== "linux",
  async fn() {
    // -A: the child reads /proc/self/smaps; the permission flags do not change how memory is used.
    const out = await new Deno.Command(join(root, "bin/deno"), {
      args: [
        "run",
        "--frozen",
        "--quiet",
        "-A",
        ...edgecoreRuntimeFlags(),
        "tests/runtime/socket_reader.ts",
        `${READS}`,
      ],
      cwd: root,
      // As bin/edgecore and systemd/edgecore.service run it.
      env: { MALLOC_TRIM_THRESHOLD_: "65536" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `socket_reader failed: ${stderr}`);
    const result = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as {
      reads: number;
      beforeKb: number;
      afterKb: number;
    };
    console.log(`malloc heap ${result.beforeKb} -> ${result.afterKb} kB over ${result.reads} reads`);
    assert.ok(result.beforeKb > 0, "the child found its [heap] mapping");
    assert.ok(
      result.afterKb - result.beforeKb < MAX_GROWTH_KB,
      `[heap] grew ${result.afterKb - result.beforeKb} kB over ${READS} reads (at most ${MAX_GROWTH_KB})`,
    );
  },
});
