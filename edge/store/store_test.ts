import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../../lib/log.ts";
import { EdgeStore } from "./store.ts";
import { openDatabase } from "./open.ts";

const quiet = createLogger({ level: "error", write: () => {} });

function pod(name: string, uid: string, rv: string, image = "busybox") {
  return {
    key: `default/pod/${name}`,
    type: "pod",
    uid,
    resourceVersion: rv,
    value: { metadata: { name, uid }, spec: { image } },
  };
}

async function withDir(fn: (dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "kedge-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a stored object survives closing and reopening the file", () =>
  withDir((dir) => {
    const path = join(dir, "edgecore.db");
    const a = new EdgeStore(path, quiet);
    assert.equal(a.put(pod("web", "u1", "10")), "stored");
    a.close();
    const b = new EdgeStore(path, quiet);
    assert.deepEqual(b.get("default/pod/web")?.value, pod("web", "u1", "10").value);
    assert.deepEqual([...b.inventory()], [["u1", "10"]]);
    b.close();
  }));

Deno.test("the newest resourceVersion of a UID wins, compared as integers", () =>
  withDir((dir) => {
    const store = new EdgeStore(join(dir, "s.db"), quiet);
    store.put(pod("web", "u1", "9", "old"));
    assert.equal(store.put(pod("web", "u1", "10", "new")), "stored");
    assert.equal(store.put(pod("web", "u1", "9", "older")), "stale");
    assert.equal(store.put(pod("web", "u1", "10", "same")), "unchanged");
    assert.equal(store.get<{ spec: { image: string } }>("default/pod/web")?.value.spec.image, "new");
    store.close();
  }));

Deno.test("an object recreated under the same key with a new UID replaces the old one", () =>
  withDir((dir) => {
    const store = new EdgeStore(join(dir, "s.db"), quiet);
    store.put(pod("web", "u1", "50"));
    assert.equal(store.put(pod("web", "u2", "7")), "stored");
    assert.equal(store.get("default/pod/web")?.uid, "u2");
    assert.deepEqual([...store.inventory()], [["u2", "7"]]);
    store.close();
  }));

Deno.test("delete with a UID precondition leaves a recreated object alone", () =>
  withDir((dir) => {
    const store = new EdgeStore(join(dir, "s.db"), quiet);
    store.put(pod("web", "u2", "7"));
    assert.equal(store.delete("default/pod/web", "u1"), false);
    assert.ok(store.get("default/pod/web"));
    assert.equal(store.delete("default/pod/web", "u2"), true);
    assert.equal(store.get("default/pod/web"), undefined);
    store.close();
  }));

Deno.test("the store runs in WAL mode with synchronous FULL and a busy timeout", () =>
  withDir((dir) => {
    const { db } = openDatabase(join(dir, "s.db"), quiet);
    assert.equal((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    assert.equal((db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous, 2);
    assert.ok((db.prepare("PRAGMA busy_timeout").get() as { timeout: number }).timeout >= 1000);
    db.close();
  }));

Deno.test("a corrupt file is moved aside and a fresh, working store takes its place", () =>
  withDir(async (dir) => {
    const path = join(dir, "edgecore.db");
    await Deno.writeTextFile(path, "this is not a database ".repeat(400));
    const store = new EdgeStore(path, quiet);
    assert.ok(store.quarantined, "the corrupt file was quarantined");
    assert.match(await Deno.readTextFile(store.quarantined!), /this is not a database/);
    assert.equal(store.put(pod("web", "u1", "1")), "stored");
    store.close();
  }));

Deno.test("a write waits for another process's lock instead of failing with database is locked", () =>
  withDir(async (dir) => {
    const path = join(dir, "s.db");
    const store = new EdgeStore(path, quiet);
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DatabaseSync } from "node:sqlite";
         const db = new DatabaseSync(${JSON.stringify(path)});
         db.exec("BEGIN IMMEDIATE"); console.log("locked");
         await new Promise((r) => setTimeout(r, 700)); db.exec("COMMIT"); db.close();`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /locked/);
    const started = Date.now();
    assert.equal(store.put(pod("web", "u1", "1")), "stored");
    assert.ok(Date.now() - started >= 300, "the write waited for the lock");
    await reader.cancel();
    await holder.status;
    store.close();
  }));

Deno.test("only the latest upstream message per key is kept until it is cleared", () =>
  withDir((dir) => {
    const store = new EdgeStore(join(dir, "s.db"), quiet);
    store.putUpstream("default/podpatch/web", { phase: "Pending" });
    store.putUpstream("default/podpatch/web", { phase: "Running" });
    assert.deepEqual(store.pendingUpstream(), [{
      key: "default/podpatch/web",
      message: { phase: "Running" },
    }]);
    store.clearUpstream("default/podpatch/web", { phase: "Pending" });
    assert.equal(store.pendingUpstream().length, 1, "an older message does not clear a newer one");
    store.clearUpstream("default/podpatch/web", { phase: "Running" });
    assert.deepEqual(store.pendingUpstream(), []);
    store.close();
  }));

Deno.test("a store written by a newer edgecore schema is refused, neither quarantined nor downgraded", () =>
  withDir((dir) => {
    const path = join(dir, "s.db");
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 999");
    db.close();
    assert.throws(() => new EdgeStore(path, quiet), /newer than this edgecore/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes("corrupt")), []);
    const again = new DatabaseSync(path);
    assert.equal((again.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, 999);
    again.close();
  }));
