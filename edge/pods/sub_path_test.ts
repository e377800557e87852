import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./env.ts";
import { resolveSubPath, subPathOf } from "./sub_path.ts";

Deno.test("a missing subPath is made with the volume root's mode, setgid included; a symlink out is refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.chmod(root, 0o2777);
    const real = await Deno.realPath(root);
    assert.equal(await resolveSubPath(root, "a/b", "v"), join(real, "a/b"));
    for (const path of ["a", "a/b"]) {
      assert.equal((await Deno.stat(join(root, path))).mode! & 0o7777, 0o2777, path);
    }
    await Deno.symlink("/", join(root, "out"));
    await Deno.symlink("a", join(root, "in"));
    assert.equal(
      await resolveSubPath(root, "in/b", "v"),
      join(real, "a/b"),
      "a symlink inside the volume is fine",
    );
    const refused = (err: unknown) =>
      err instanceof ConfigError && /resolves to \/, outside the volume$/.test(err.message);
    await assert.rejects(resolveSubPath(root, "out", "v"), refused);
    await assert.rejects(resolveSubPath(root, "out/new", "v"), (err) => err instanceof ConfigError);
    await assert.rejects(Deno.lstat("/new"), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("subPath and subPathExpr: relative, no '..', expanded with the container's env, not both", () => {
  const vars = new Map([["POD", "web-1"]]);
  assert.equal(subPathOf({ name: "v", subPathExpr: "logs/$(POD)" }, vars), "logs/web-1");
  assert.equal(subPathOf({ name: "v", subPath: "" }, vars), undefined);
  assert.throws(() => subPathOf({ name: "v", subPath: "../x" }, vars), /must not contain '\.\.'/);
  assert.throws(() => subPathOf({ name: "v", subPath: "/etc" }, vars), /must be relative/);
  assert.throws(() => subPathOf({ name: "v", subPath: "a", subPathExpr: "b" }, vars), /mutually exclusive/);
});
