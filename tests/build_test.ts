// `make build` where deno compile cannot have its runtime: one clear line and a non-zero exit, before
// anything tries to download.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("make build without DENORT_BIN says why in one line and exits non-zero", async () => {
  const env = { ...Deno.env.toObject() };
  // As a user runs it: not inside another make (make test), and without a denort.
  for (const name of ["DENORT_BIN", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"]) delete env[name];
  const out = await new Deno.Command("make", {
    args: ["--no-print-directory", "-s", "build"],
    cwd: ROOT,
    env,
    clearEnv: true,
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) =>
    !/^make(\[\d+\])?:/.test(l)
  );
  assert.notEqual(out.code, 0);
  assert.equal(stderr.length, 1, stderr.join("\n"));
  assert.match(stderr[0]!, /^Cannot build: deno compile needs its runtime denort.*DENORT_BIN/);
});
