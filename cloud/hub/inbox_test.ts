import assert from "node:assert/strict";
import { newMessage } from "../../lib/protocol/mod.ts";
import type { Message, Operation } from "../../lib/protocol/mod.ts";
import { edgeMessageLane, Inbox } from "./inbox.ts";

function request(operation: Operation, resource: string): Message {
  return newMessage({ source: "edged", group: "meta", operation, resource, content: "{}" });
}

/** An inbox whose handler waits until the test releases each message by resource. */
function gatedInbox(concurrency: number) {
  const started: string[] = [];
  const finished: string[] = [];
  const gates = new Map<string, Array<() => void>>();
  let settled = 0;
  const inbox = new Inbox({
    concurrency,
    laneOf: edgeMessageLane,
    handle: async (message) => {
      const id = `${message.route.operation} ${message.route.resource}`;
      started.push(id);
      await new Promise<void>((resolve) => {
        const list = gates.get(id) ?? [];
        list.push(resolve);
        gates.set(id, list);
      });
      finished.push(id);
    },
    onSettled: () => settled++,
  });
  const release = async (id: string) => {
    const resolve = gates.get(id)?.shift();
    assert.ok(resolve, `${id} is not in flight; started: ${started.join(", ")}`);
    resolve();
    await tick();
  };
  return { inbox, started, finished, release, settled: () => settled };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("inbox: a Lease and node status are handled while the object lane is full", async () => {
  const g = gatedInbox(2);
  for (let i = 0; i < 5; i++) g.inbox.push(request("patch", `default/podpatch/p${i}`));
  g.inbox.push(request("update", "kube-node-lease/lease/n1"));
  await tick();
  assert.deepEqual(g.started, [
    "patch default/podpatch/p0",
    "patch default/podpatch/p1",
    "update kube-node-lease/lease/n1",
  ]);
  g.inbox.push(request("patch", "null/nodepatch/n1"));
  await g.release("update kube-node-lease/lease/n1");
  assert.equal(g.started.at(-1), "patch null/nodepatch/n1", "the next node-level message starts at once");
  assert.equal(g.inbox.size, 7 - 1);
});

Deno.test("inbox: one object's messages run one at a time in order, other objects concurrently up to the bound", async () => {
  const g = gatedInbox(3);
  g.inbox.push(request("patch", "default/podpatch/a"));
  g.inbox.push(request("delete", "default/pod/a"));
  g.inbox.push(request("patch", "default/podpatch/b"));
  g.inbox.push(request("query", "default/configmap/a"));
  g.inbox.push(request("patch", "default/podpatch/c"));
  await tick();
  // pod a's delete waits for its status patch; configmap a is another object.
  assert.deepEqual(g.started, [
    "patch default/podpatch/a",
    "patch default/podpatch/b",
    "query default/configmap/a",
  ]);
  await g.release("patch default/podpatch/a");
  assert.deepEqual(g.started.slice(3), ["patch default/podpatch/c"], "c was ready before a's delete");
  await g.release("patch default/podpatch/b");
  assert.deepEqual(g.started.slice(4), ["delete default/pod/a"]);
  for (const id of ["query default/configmap/a", "patch default/podpatch/c", "delete default/pod/a"]) {
    await g.release(id);
  }
  assert.equal(g.inbox.size, 0);
  assert.equal(g.settled(), 5);
  assert.deepEqual(
    g.finished.indexOf("delete default/pod/a") > g.finished.indexOf("patch default/podpatch/a"),
    true,
  );
});

Deno.test("inbox: close drops what waits and starts nothing more", async () => {
  const g = gatedInbox(1);
  g.inbox.push(request("patch", "default/podpatch/a"));
  g.inbox.push(request("patch", "default/podpatch/b"));
  await tick();
  g.inbox.close();
  await g.release("patch default/podpatch/a");
  assert.deepEqual(g.started, ["patch default/podpatch/a"]);
  g.inbox.push(request("patch", "default/podpatch/c"));
  await tick();
  assert.deepEqual(g.started, ["patch default/podpatch/a"]);
});

Deno.test("edgeMessageLane: node-level types are urgent; a pod's patch and delete share a key", () => {
  for (const resource of ["kube-node-lease/lease/n1", "null/nodepatch/n1", "default/node/n1"]) {
    assert.equal(edgeMessageLane(request("update", resource)).urgent, true, resource);
  }
  const patch = edgeMessageLane(request("patch", "ns/podpatch/web"));
  const remove = edgeMessageLane(request("delete", "ns/pod/web"));
  assert.equal(patch.urgent, false);
  assert.equal(patch.key, remove.key);
  assert.notEqual(patch.key, edgeMessageLane(request("query", "ns/configmap/web")).key);
  assert.notEqual(patch.key, edgeMessageLane(request("patch", "other/podpatch/web")).key);
  const twin = edgeMessageLane(request("update", "$hw/events/device/d1/twin/update"));
  assert.equal(twin.urgent, false);
});
