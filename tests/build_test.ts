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
    // edgecore's bundle loads the MQTT broker and client on demand, from chunks of their own: the binary
    // must carry them, and the V8 flags bin/edgecore runs with.
    const bundled = await new Deno.Command(`${ROOT}/bin/bundle.sh`, { args: ["edge/main.ts"] }).output();
    const bundleDir = new TextDecoder().decode(bundled.stdout).trim().replace(/\/main\.js$/, "");
    const chunks = [...Deno.readDirSync(bundleDir)].map((e) => e.name).filter((n) =>
      /^(broker|external)-/.test(n)
    );
    assert.equal(chunks.length, 2, `the broker and client chunks in ${bundleDir}`);
    const binary = new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/dist/edgecore`));
    for (const chunk of chunks) assert.ok(binary.includes(chunk), `dist/edgecore embeds ${chunk}`);
    assert.ok(binary.includes("--lite-mode"), "dist/edgecore runs V8 in lite mode");
    assert.ok(
      binary.includes("--no-concurrent-array-buffer-sweeping"),
      "dist/edgecore sweeps ArrayBuffers on the main thread",
    );
    assert.ok(
      binary.includes("--no-memory-reducer"),
      "dist/edgecore leaves idle collections to lib/idle_gc.ts",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
