import assert from "node:assert/strict";
import { join } from "node:path";
import { writeAtomically } from "./atomic_writer.ts";

const enc = new TextEncoder();

Deno.test("volume files are swapped atomically through ..data, with their modes, and only when changed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await writeAtomically(dir, [{ path: "a.txt", data: enc.encode("one"), mode: 0o400 }]), true);
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "one");
    assert.equal((await Deno.stat(join(dir, "a.txt"))).mode! & 0o777, 0o400);
    const first = await Deno.readLink(join(dir, "..data"));
    assert.equal(
      await writeAtomically(dir, [{ path: "a.txt", data: enc.encode("one"), mode: 0o400 }]),
      false,
    );
    await writeAtomically(dir, [{ path: "b/c.txt", data: enc.encode("two"), mode: 0o644 }]);
    assert.notEqual(await Deno.readLink(join(dir, "..data")), first);
    assert.equal(await Deno.readTextFile(join(dir, "b/c.txt")), "two");
    await assert.rejects(Deno.stat(join(dir, "a.txt")), Deno.errors.NotFound, "a removed key disappears");
    await assert.rejects(Deno.stat(join(dir, first)), Deno.errors.NotFound, "the old payload is removed");
    await assert.rejects(
      writeAtomically(dir, [{ path: "../x", data: enc.encode(""), mode: 0o644 }]),
      RangeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
