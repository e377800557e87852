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

Deno.test("make build compiles both entrypoints with their permission flags, given a runtime to embed", async () => {
  // No real denort can be had here, so a stand-in proves everything up to the embedding: the module graph,
  // the frozen lock, the npm packages and the flags. The result runs only where the real denort was used.
  const dir = await Deno.makeTempDir({ prefix: "kedge-build-" });
  try {
    const standIn = `${dir}/denort`;
    await Deno.writeTextFile(standIn, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    const env: Record<string, string> = { ...Deno.env.toObject(), DENORT_BIN: standIn };
    for (const name of ["MAKELEVEL", "MAKEFLAGS", "MFLAGS"]) delete env[name];
    const out = await new Deno.Command("make", {
      args: ["--no-print-directory", "-s", "build", `DIST=${dir}/dist`],
      cwd: ROOT,
      env,
      clearEnv: true,
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    for (const binary of ["cloudcore", "edgecore"]) {
      const info = await Deno.stat(`${dir}/dist/${binary}`);
      assert.ok(info.size > 1_000_000, `${binary} carries the embedded program (${info.size} bytes)`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
