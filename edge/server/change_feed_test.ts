import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { EdgeStore } from "../store/mod.ts";
import { ChangeFeed } from "./change_feed.ts";

const quiet = createLogger({ level: "error", write: () => {} });

function put(store: EdgeStore, type: string, name: string, rv: number) {
  store.put({
    key: `default/${type}/${name}`,
    type,
    uid: `uid-${name}`,
    resourceVersion: String(rv),
    value: { metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: String(rv) } },
  });
}

Deno.test("change feed: pods created and deleted leave no events past the age limit", () => {
  const store = new EdgeStore(":memory:", quiet);
  let now = 0;
  const feed = new ChangeFeed(store, ["pod", "configmap"], { maxAgeMs: 75_000, now: () => now });
  put(store, "configmap", "settings", 1);
  feed.scan();
  const afterConfigMap = feed.latest;
  // A pod created, modified and deleted every 2.5 s for 200 cycles, as bench/edge_footprint.ts does.
  const latestAt: string[] = [];
  let rv = 10;
  for (let i = 0; i < 200; i++) {
    latestAt.push(feed.latest);
    put(store, "pod", `cycle-${i}`, rv += 10);
    feed.scan();
    put(store, "pod", `cycle-${i}`, rv += 10);
    feed.scan();
    store.delete(`default/pod/cycle-${i}`);
    feed.scan();
    now += 2_500;
  }
  // Kept: the cycles of the last 75 s (31 of them, 3 events each), not 200 cycles' worth.
  const kept = feed.since(latestAt[200 - 31]!, "pod");
  assert.equal(kept?.length, 31 * 3);
  assert.deepEqual(kept.slice(-3).map((e) => `${e.type} ${e.object.metadata?.name}`), [
    "ADDED cycle-199",
    "MODIFIED cycle-199",
    "DELETED cycle-199",
  ]);
  assert.equal(feed.since(latestAt[200 - 32]!, "pod"), undefined, "a pod watch from before them relists");
  assert.deepEqual(
    feed.since(afterConfigMap, "configmap"),
    [],
    "a configmap watch missed nothing: pods went",
  );
  store.close();
});

Deno.test("change feed: a quiet feed keeps its last events within the age limit", () => {
  const store = new EdgeStore(":memory:", quiet);
  let now = 0;
  const feed = new ChangeFeed(store, ["pod"], { maxAgeMs: 75_000, now: () => now });
  const start = feed.latest;
  put(store, "pod", "web", 5);
  feed.scan();
  now += 60_000;
  feed.scan();
  assert.deepEqual(feed.since(start, "pod")?.map((e) => e.type), ["ADDED"]);
  now += 20_000;
  feed.scan();
  assert.equal(feed.since(start, "pod"), undefined, "older than 75 s: dropped");
  assert.deepEqual(feed.since("5", "pod"), [], "a watch from the newest version missed nothing");
  store.close();
});
