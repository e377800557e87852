/**
 * Abuse of the edge's SQLite store (edge/store): edgecore killed with SIGKILL while it acks deliveries, a full
 * disk, and a file that is not a whole store. Figures are logged; docs/security.md quotes them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { EdgeStore, SCHEMA_VERSION, StoreWriteError } from "../../edge/store/mod.ts";
import { applyCloudMessage } from "../../edge/meta/apply.ts";
import { StoreObjects } from "../../edge/meta/store_objects.ts";
import { UpstreamSender } from "../../edge/meta/upstream.ts";
import { createLogger } from "../../lib/log.ts";
import { type Message, newMessage, responseTo } from "../../lib/protocol/mod.ts";
import { mountSmallDisk } from "./small_disk.ts";

const ROUNDS = 100;
/** How long a round lets the writer ack before the kill, at most. */
const KILL_WINDOW_MS = 60;
const root = new URL("../../", import.meta.url).pathname;
const quiet = createLogger({ level: "error", write: () => {} });

/** The permission and runtime flags bin/edgecore runs with, from the one place that states them. */
function edgecoreFlags(): string[] {
  const text = Deno.readTextFileSync(join(root, "bin/permissions.sh"));
  return ["EDGECORE_PERMISSIONS", "EDGECORE_RUNTIME_FLAGS"].flatMap((name) => {
    const value = text.match(new RegExp(`^${name}="([^"]*)"`, "m"))?.[1];
    if (value === undefined) throw new Error(`bin/permissions.sh does not set ${name}`);
    return value.split(" ");
  });
}

function pod(name: string, uid: string, resourceVersion: string) {
  return {
    key: `default/pod/${name}`,
    type: "pod",
    uid,
    resourceVersion,
    value: {
      metadata: { name, uid, resourceVersion },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    },
  };
}

function capturingLogger() {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: "warn", write: (line) => lines.push(line) }) };
}

function integrity(db: DatabaseSync): string {
  return (db.prepare("PRAGMA integrity_check").all() as Array<{ integrity_check: string }>)
    .map((row) => row.integrity_check).join("; ");
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
  );
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The child's stdout as complete lines: a line the kill cut short was never acked. */
function collectLines(stream: ReadableStream<Uint8Array>) {
  const lines: string[] = [];
  const first = Promise.withResolvers<void>();
  const done = (async () => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
      if (lines.length > 0) first.resolve();
    }
    first.resolve();
  })();
  return { lines, first: first.promise, done };
}

Deno.test("kill -9 during acknowledged writes, 100 times: no acked object or outbox message is lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kedge-abuse-store-" });
  const path = join(dir, "edgecore.db");
  const flags = edgecoreFlags();
  const acked = new Map<string, number>();
  const queued = new Map<string, number>();
  let next = 1;
  let ackedPuts = 0;
  let queuedPuts = 0;
  let writingMs = 0;
  let killedBeforeFirstAck = 0;
  let startupMs = 300;
  const reopenMs: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      const child = new Deno.Command(join(root, "bin/deno"), {
        args: [
          "run",
          "--frozen",
          "--quiet",
          ...flags,
          join(root, "tests/abuse/store_writer.ts"),
          path,
          String(next),
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const out = collectLines(child.stdout);
      // Every tenth round the kill may land in startup, open or recovery; the others while it acks.
      const early = round % 10 === 5;
      let firstAckAt = started;
      try {
        if (early) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * startupMs * 1.2));
        } else {
          await withTimeout(out.first, 20_000, "the writer's first ack");
          firstAckAt = performance.now();
          startupMs = firstAckAt - started;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * KILL_WINDOW_MS));
        }
      } finally {
        child.kill("SIGKILL");
      }
      const killedAt = performance.now();
      await withTimeout(Promise.all([out.done, child.status]), 10_000, "the killed writer");
      if (out.lines.length === 0) killedBeforeFirstAck++;
      else if (!early) writingMs += killedAt - firstAckAt;

      for (const line of out.lines) {
        const [what, id, version] = line.split(" ");
        const table = what === "acked" ? acked : what === "queued" ? queued : undefined;
        assert.ok(table && id && version, `unexpected line from the writer: ${line}`);
        table.set(id, Math.max(table.get(id) ?? 0, Number(version)));
        next = Math.max(next, Number(version) + 1);
        if (what === "acked" && !early) ackedPuts++;
        if (what === "queued" && !early) queuedPuts++;
      }

      // As edgecore after the crash: open the file (recovery, quick_check, migrations), then check.
      const opening = performance.now();
      const store = new EdgeStore(path, quiet);
      try {
        assert.equal(store.quarantined, undefined, `round ${round}: the store was quarantined`);
        assert.equal(integrity(store.database), "ok", `round ${round}`);
        reopenMs.push(performance.now() - opening);
        const held = store.inventory();
        for (const [uid, version] of acked) {
          const stored = Number(held.get(uid) ?? 0);
          assert.ok(
            stored >= version,
            `round ${round}: ${uid} acked at ${version}, stored at ${stored || "none"}`,
          );
        }
        const outbox = new Map(
          store.pendingUpstream().map(({ key, message }) => [key, message as { seq: number }]),
        );
        for (const [key, seq] of queued) {
          const stored = outbox.get(key)?.seq ?? 0;
          assert.ok(stored >= seq, `round ${round}: ${key} queued at ${seq}, stored at ${stored || "none"}`);
        }
      } finally {
        store.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  reopenMs.sort((a, b) => a - b);
  const perSecond = (count: number) => Math.round(count / (writingMs / 1000));
  console.log(
    `kill -9: ${ROUNDS} rounds (${killedBeforeFirstAck} killed before the first ack), ${acked.size} objects, ` +
      `${ackedPuts} acked puts and ${queuedPuts} queued messages in ${(writingMs / 1000).toFixed(1)} s: ` +
      `${perSecond(ackedPuts)} acked puts/s (+ ${perSecond(queuedPuts)} outbox puts/s), 0 lost; ` +
      `reopen + integrity_check p50 ${reopenMs[reopenMs.length >> 1]!.toFixed(1)} ms, ` +
      `max ${reopenMs.at(-1)!.toFixed(1)} ms`,
  );
});

Deno.test({
  name: "a full disk: writes fail naming the file and the cause, edgecore goes on, nothing acked is lost",
  ignore: Deno.uid() !== 0,
}, async () => {
  const disk = await mountSmallDisk("2m");
  const path = join(disk.dir, "edgecore.db");
  const { lines, log } = capturingLogger();
  let store: EdgeStore | undefined;
  try {
    store = new EdgeStore(path, log);
    const acked = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      assert.equal(store.put(pod(`before-${i}`, `before-${i}`, "5")), "stored");
      acked.set(`before-${i}`, "5");
    }
    const patch = (name: string) =>
      newMessage({
        source: "edged",
        group: "meta",
        operation: "patch",
        resource: `default/podpatch/${name}`,
        content: "{}",
      });
    store.putUpstream("default/podpatch/before-0", patch("before-0"));
    store.close();
    store = undefined;

    // Opening on a full disk fails (SQLite cannot make its -shm file) and must not take the good file for a
    // corrupt one: moved aside, it would be replaced by an empty store at the next start.
    disk.fill();
    assert.throws(() => new EdgeStore(path, quiet), (error: Error) => {
      assert.equal(error.message, `Cannot open store ${path}: disk I/O error`);
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(disk.dir)].filter((e) => e.name.includes("corrupt")), []);
    disk.free();

    store = new EdgeStore(path, log);
    disk.fill();
    // The WAL may still have room for a few commits; the disk is full when one fails.
    let failure: unknown;
    for (let i = 0; i < 1_000 && failure === undefined; i++) {
      try {
        store.put(pod(`during-${i}`, `during-${i}`, "7"));
        acked.set(`during-${i}`, "7");
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure instanceof StoreWriteError, `a put on a full disk threw ${failure}`);
    assert.equal(failure.message, `Cannot write store ${path}: database or disk is full`);
    const writesBeforeFull = acked.size - 20;
    assert.throws(() => store!.putUpstream("default/podpatch/during", patch("during")), (error: Error) => {
      assert.ok(error instanceof StoreWriteError);
      assert.match(error.message, /Cannot write store .*edgecore\.db: database or disk is full/);
      return true;
    });
    assert.equal(store.database.isTransaction, false, "no transaction left open");
    assert.equal(integrity(store.database), "ok");

    // edgecore's callers: a delivery is not acked (the hub acks only when apply returns), a status report
    // waits in memory and still goes up, and neither throws out of a timer or leaves a rejection behind.
    const objects = new StoreObjects(store, quiet);
    const delivery = newMessage({
      source: "edgecontroller",
      group: "resource",
      operation: "update",
      resource: "node/edge-1/default/pod/during-full",
      content: pod("during-full", "during-full", "9").value,
    });
    assert.throws(() => applyCloudMessage(store!, objects, delivery, quiet), StoreWriteError);
    const sent: Message[] = [];
    const uplink = {
      connected: true,
      request: (message: Message) => {
        sent.push(message);
        return Promise.resolve(responseTo(message, { metadata: { name: "during-full" } }));
      },
    };
    const upstream = new UpstreamSender(store, uplink, log);
    upstream.send("default/podpatch/during-full", patch("during-full"));
    await upstream.flush();
    // The stored message cannot be cleared on the full disk, so each pass sends it again (latest state only).
    const resources = sent.map((m) => m.route.resource);
    assert.ok(resources.includes("default/podpatch/before-0"));
    assert.equal(resources.filter((r) => r === "default/podpatch/during-full").length, 1);
    assert.ok(lines.some((line) => line.includes("upstream message not stored") && line.includes(path)));

    // Space returns: the same delivery is stored (the cloud resends it, unacked), the outbox takes messages,
    // and after a restart everything acked is there.
    disk.free();
    assert.equal(applyCloudMessage(store, objects, delivery, quiet), "stored");
    store.putUpstream("default/podpatch/after", patch("after"));
    store.close();
    store = new EdgeStore(path, quiet);
    assert.equal(store.quarantined, undefined);
    acked.set("during-full", "9");
    for (const [uid, version] of acked) assert.equal(store.inventory().get(uid), version, uid);
    assert.ok(store.pendingUpstream().some(({ key }) => key === "default/podpatch/after"));
    assert.equal(integrity(store.database), "ok");
    console.log(
      `full disk (tmpfs 2 MiB): ${writesBeforeFull} puts committed after the filler hit ENOSPC, then ` +
        `"${failure.message}"; ${acked.size} acked objects all there after space returned`,
    );
  } finally {
    store?.close();
    await disk.unmount();
  }
});

interface CorruptCase {
  name: string;
  /** Makes the file at path from a populated store there. */
  spoil(path: string): void;
  /** The quarantined file still holds what it held: user data is moved, never deleted. */
  kept(quarantined: string, original: Uint8Array): void;
}

function sameBytes(quarantined: string, original: Uint8Array) {
  assert.deepEqual(Deno.readFileSync(quarantined), original);
}

const CORRUPT_CASES: CorruptCase[] = [
  {
    name: "garbage instead of a database",
    spoil: (path) => Deno.writeFileSync(path, crypto.getRandomValues(new Uint8Array(64 * 1024))),
    kept: sameBytes,
  },
  {
    name: "garbage written over the pages of a database",
    spoil(path) {
      const bytes = Deno.readFileSync(path);
      bytes.set(crypto.getRandomValues(new Uint8Array(16 * 1024)), 8192);
      Deno.writeFileSync(path, bytes);
    },
    kept: sameBytes,
  },
  {
    name: "a database truncated to half",
    spoil: (path) => Deno.truncateSync(path, Math.floor(Deno.statSync(path).size / 2 / 4096) * 4096),
    kept: sameBytes,
  },
  {
    // Off a page boundary: quick_check and integrity_check pass, the last row's JSON is cut.
    name: "a database missing its last 100 bytes",
    spoil: (path) => Deno.truncateSync(path, Deno.statSync(path).size - 100),
    kept: sameBytes,
  },
  {
    name: "another program's database (tables, no schema version)",
    spoil(path) {
      Deno.removeSync(path);
      const db = new DatabaseSync(path);
      db.exec(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO notes (note) VALUES ('mine')",
      );
      db.close();
    },
    kept(quarantined) {
      const db = new DatabaseSync(quarantined);
      assert.deepEqual(db.prepare("SELECT note FROM notes").all().map((row) => row.note), ["mine"]);
      db.close();
    },
  },
  {
    name: "a database at this schema version whose tables differ",
    spoil(path) {
      Deno.removeSync(path);
      const db = new DatabaseSync(path);
      db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, blob TEXT); INSERT INTO meta VALUES ('k', 'v');
               PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.close();
    },
    kept(quarantined) {
      const db = new DatabaseSync(quarantined);
      assert.deepEqual(db.prepare("SELECT blob FROM meta").all().map((row) => row.blob), ["v"]);
      db.close();
    },
  },
];

for (const corrupt of CORRUPT_CASES) {
  Deno.test(`${corrupt.name}: quarantined with a warning, edgecore starts empty and works`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "kedge-abuse-corrupt-" });
    try {
      const path = join(dir, "edgecore.db");
      const populated = new EdgeStore(path, quiet);
      for (let i = 0; i < 200; i++) populated.put(pod(`web-${i}`, `uid-${i}`, String(10 + i)));
      populated.putUpstream("default/podpatch/web-0", { seq: 1 });
      populated.close();
      corrupt.spoil(path);
      const original = Deno.readFileSync(path);

      const { lines, log } = capturingLogger();
      const started = performance.now();
      const store = new EdgeStore(path, log);
      const openMs = performance.now() - started;
      try {
        assert.ok(store.quarantined, "the file was quarantined");
        assert.match(store.quarantined, /\/edgecore\.db\.corrupt-\d{13}$/);
        const warning = lines.map((line) => JSON.parse(line)).find((record) => record.level === "warn");
        assert.equal(warning?.path, path);
        assert.equal(warning?.quarantined, store.quarantined);
        corrupt.kept(store.quarantined, original);
        assert.deepEqual(store.list("pod"), []);
        assert.deepEqual(store.pendingUpstream(), []);
        assert.equal(store.put(pod("web-0", "uid-0", "10")), "stored");
        assert.equal(integrity(store.database), "ok");
        console.log(`${corrupt.name}: quarantined, open took ${openMs.toFixed(1)} ms`);
      } finally {
        store.close();
      }
      const again = new EdgeStore(path, quiet);
      assert.equal(again.quarantined, undefined, "the fresh store is not quarantined again");
      assert.equal(again.get("default/pod/web-0")?.resourceVersion, "10");
      again.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
