// `make build` where deno compile cannot have its runtime: one clear line and a non-zero exit, before
// anything tries to download.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("make build without DENORT_BIN says why in one line and exits non-zero", async () => {
  const env = { ...Deno.env.toObject() };
  delete env.DENORT_BIN;
  const out = await new Deno.Command("make", {
    args: ["--no-print-directory", "-s", "build"],
    cwd: ROOT,
    env,
    clearEnv: true,
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) =>
    !l.startsWith("make:")
  );
  assert.notEqual(out.code, 0);
  assert.equal(stderr.length, 1, stderr.join("\n"));
  assert.match(stderr[0]!, /^Cannot build: deno compile needs its runtime denort.*DENORT_BIN/);
});
