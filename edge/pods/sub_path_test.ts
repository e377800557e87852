import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./env.ts";
import { makeSubPaths } from "./sub_path.ts";

const container = (subPath: string) => ({
  name: "c",
  image: "i",
  volumeMounts: [{ name: "v", mountPath: "/m", subPath }],
});

Deno.test("a missing subPath is made with the volume root's mode, setgid included; a symlink on the way is refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.chmod(root, 0o2777);
    const volumes = new Map([["v", root]]);
    await makeSubPaths(container("a/b"), volumes);
    for (const path of ["a", "a/b"]) {
      assert.equal((await Deno.stat(join(root, path))).mode! & 0o7777, 0o2777, path);
    }
    await Deno.symlink("/", join(root, "out"));
    const refused = (why: string) => (err: unknown) =>
      err instanceof ConfigError && err.message.endsWith(why);
    await assert.rejects(makeSubPaths(container("out/new"), volumes), refused(": out is a symlink"));
    await assert.rejects(Deno.lstat("/new"), Deno.errors.NotFound);
    await Deno.writeTextFile(join(root, "file"), "");
    await assert.rejects(makeSubPaths(container("file/new"), volumes), refused(": NotADirectory"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
