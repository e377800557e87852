import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic_write.ts";

Deno.test("writeFileAtomic replaces content, sets the exact mode and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "sub", "server.key");
    await writeFileAtomic(path, "old", { mode: 0o644 });
    await writeFileAtomic(path, "new", { mode: 0o600 });
    assert.equal(await Deno.readTextFile(path), "new");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["server.key"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic into a folder it cannot write says which file and keeps the old one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.txt");
    await Deno.writeTextFile(path, "kept");
    // A directory in place of the target makes the rename fail after the temp file was written.
    const blocked = join(dir, "blocked");
    await Deno.mkdir(join(blocked, "x"), { recursive: true });
    await assert.rejects(writeFileAtomic(join(blocked, "x"), "data"), /Cannot write .*blocked\/x/);
    assert.deepEqual([...Deno.readDirSync(blocked)].map((e) => e.name), ["x"], "no temp file left behind");
    assert.equal(await Deno.readTextFile(path), "kept");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
