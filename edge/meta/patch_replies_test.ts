import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../../lib/log.ts";
import { newMessage } from "../../lib/protocol/mod.ts";
import { EdgeStore } from "../store/store.ts";
import { objectUpdateFromPatchReply } from "./patch_replies.ts";

const quiet = createLogger({ level: "error", write: () => {} });

const patch = (resource = "default/podpatch/web") =>
  newMessage({ source: "edged", group: "meta", operation: "patch", resource, content: "{}" });
const replied = (uid: string, name = "web") => ({
  metadata: { namespace: "default", name, uid, resourceVersion: "12" },
  status: { phase: "Running" },
});

Deno.test("a status patch's reply becomes an update only of the pod or Node the store still holds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kedge-replies-" });
  const store = new EdgeStore(join(dir, "s.db"), quiet);
  try {
    store.put({
      key: "default/pod/web",
      type: "pod",
      uid: "u1",
      resourceVersion: "10",
      value: { metadata: { name: "web", uid: "u1" } },
    });
    const update = objectUpdateFromPatchReply(store, patch(), replied("u1"));
    assert.equal(update?.route.operation, "update");
    assert.equal(update?.route.group, "resource");
    assert.equal(update?.route.resource, "default/pod/web");
    assert.deepEqual(update?.content, replied("u1"));
    assert.equal(objectUpdateFromPatchReply(store, patch(), replied("u2")), undefined, "a recreated pod");
    assert.equal(objectUpdateFromPatchReply(store, patch(), replied("u1", "db")), undefined, "another name");
    assert.equal(
      objectUpdateFromPatchReply(store, patch("default/podpatch/gone"), replied("u1", "gone")),
      undefined,
    );
    assert.equal(objectUpdateFromPatchReply(store, patch("default/nodepatch/web"), replied("u1")), undefined);
    store.put({ key: "null/node/edge-1", type: "node", uid: "n1", resourceVersion: "5", value: {} });
    const node = { metadata: { name: "edge-1", uid: "n1", resourceVersion: "9" }, status: {} };
    const nodeUpdate = objectUpdateFromPatchReply(store, patch("null/nodepatch/edge-1"), node);
    assert.equal(
      nodeUpdate?.route.resource,
      "null/node/edge-1",
      "a node status patch's reply updates the Node",
    );
    const otherNode = { metadata: { name: "edge-2", uid: "n1" } };
    assert.equal(objectUpdateFromPatchReply(store, patch("null/nodepatch/edge-1"), otherNode), undefined);
    assert.equal(objectUpdateFromPatchReply(store, patch(), "OK"), undefined);
    store.delete("default/pod/web");
    assert.equal(
      objectUpdateFromPatchReply(store, patch(), replied("u1")),
      undefined,
      "a pod deleted meanwhile",
    );
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
