import assert from "node:assert/strict";
import { join } from "node:path";
import { writeAtomically } from "./atomic_writer.ts";
import { setUpEmptyDir } from "./empty_dir.ts";
import type { PodSpec } from "./pod_schema.ts";
import { fsUserOf, setVolumeOwnership } from "./volume_ownership.ts";

const enc = new TextEncoder();
const GROUP = 4321;
const modeOf = async (path: string) => (await Deno.lstat(path)).mode! & 0o7777;
const gidOf = async (path: string) => (await Deno.lstat(path)).gid;

Deno.test("fsGroup on a read-only volume: group and its read bits on every file, setgid folders, modes kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeAtomically(
      dir,
      [
        { path: "secret", data: enc.encode("s"), mode: 0o400 },
        { path: "sub/config", data: enc.encode("c"), mode: 0o644 },
        { path: "token", data: enc.encode("t"), mode: 0o600, uid: 1000 },
      ],
      (path) => setVolumeOwnership(path, GROUP, true),
    );
    assert.equal(await modeOf(join(dir, "..data", "secret")), 0o440);
    assert.equal(await modeOf(join(dir, "..data", "sub", "config")), 0o644);
    assert.equal(await modeOf(join(dir, "..data", "token")), 0o640);
    assert.equal((await Deno.lstat(join(dir, "..data", "token"))).uid, 1000);
    for (const path of ["secret", "sub/config", "token"]) {
      assert.equal(await gidOf(join(dir, "..data", path)), GROUP, path);
    }
    const stamp = await Deno.readLink(join(dir, "..data"));
    assert.equal(await modeOf(join(dir, stamp)), 0o2755);
    assert.equal(await gidOf(join(dir, stamp)), GROUP);
    assert.equal(await gidOf(join(dir, "..data")), GROUP, "the symlink itself, by lchown");
    assert.equal(await gidOf(dir), GROUP);
    assert.equal((await modeOf(dir)) & 0o2550, 0o2550);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fsGroup on an emptyDir: 2777 and the group once, at set up; later syncs leave its contents alone", async () => {
  const podDir = await Deno.makeTempDir();
  try {
    const path = join(podDir, "volumes", "empty-dir", "data");
    const volume = { name: "data", emptyDir: {} };
    await setUpEmptyDir(podDir, path, volume, GROUP);
    assert.equal(await modeOf(path), 0o2777);
    assert.equal(await gidOf(path), GROUP);
    await Deno.writeTextFile(join(path, "made"), "x", { mode: 0o600 });
    await Deno.chmod(join(path, "made"), 0o600);
    assert.equal(await gidOf(join(path, "made")), GROUP, "a new file inherits the group of a setgid folder");
    await setUpEmptyDir(podDir, path, volume, GROUP);
    assert.equal(await modeOf(join(path, "made")), 0o600, "not chmodded again");
  } finally {
    await Deno.remove(podDir, { recursive: true });
  }
});

Deno.test("fsUserOf: the one runAsUser of every container, else none", () => {
  const spec = (pod: number | undefined, ...users: Array<number | undefined>) =>
    ({
      securityContext: pod === undefined ? undefined : { runAsUser: pod },
      containers: users.map((u, i) => ({
        name: `c${i}`,
        image: "i",
        securityContext: u === undefined ? undefined : { runAsUser: u },
      })),
    }) as PodSpec;
  assert.equal(fsUserOf(spec(1000, undefined, undefined)), 1000);
  assert.equal(fsUserOf(spec(undefined, 1000, 1000)), 1000);
  assert.equal(fsUserOf(spec(1000, 1001)), 1001);
  assert.equal(fsUserOf(spec(undefined, 1000, 1001)), undefined);
  assert.equal(fsUserOf(spec(undefined, 1000, undefined)), undefined);
});
