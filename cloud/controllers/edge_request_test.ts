import assert from "node:assert/strict";
import { newMessage, type Operation } from "../../lib/protocol/mod.ts";
import { classifyRequest } from "./edge_request.ts";
import { POD_PATCH_METADATA, readStatusPatch } from "./status_patch.ts";
import { EdgeRequestError } from "./edge_request.ts";
import { parseSyncReport } from "./sync_report.ts";

const msg = (operation: Operation, resource: string) =>
  newMessage({ source: "edged", group: "meta", operation, resource, content: null });

Deno.test("classifyRequest reads upstream's request routes and nothing else", () => {
  assert.deepEqual(classifyRequest(msg("insert", "default/node/n1")), { kind: "registerNode", name: "n1" });
  assert.deepEqual(classifyRequest(msg("patch", "default/nodepatch/n1")), {
    kind: "patchNodeStatus",
    name: "n1",
  });
  assert.deepEqual(classifyRequest(msg("update", "kube-node-lease/lease/n1")), {
    kind: "renewLease",
    namespace: "kube-node-lease",
    name: "n1",
  });
  assert.deepEqual(classifyRequest(msg("patch", "ns/podpatch/p")), {
    kind: "patchPodStatus",
    namespace: "ns",
    name: "p",
  });
  assert.deepEqual(classifyRequest(msg("delete", "ns/pod/p")), {
    kind: "deletePod",
    namespace: "ns",
    name: "p",
  });
  assert.deepEqual(classifyRequest(msg("insert", "ns/event/e")), {
    kind: "createEvent",
    namespace: "ns",
    name: "e",
  });
  assert.deepEqual(classifyRequest(msg("query", "ns/secret/s")), {
    kind: "query",
    type: "secret",
    namespace: "ns",
    name: "s",
  });
  assert.deepEqual(classifyRequest(msg("update", "null/objectsync/n1")), { kind: "syncReport", name: "n1" });
  for (
    const [op, resource] of [
      ["update", "ns/pod/p"],
      ["insert", "ns/configmap/c"],
      ["query", "ns/service/s"],
      ["update", "default/objectsync/n1"],
      ["insert", "node/n1/default/node/n1"],
    ] as const
  ) {
    assert.equal(classifyRequest(msg(op, resource)), undefined, `${op} ${resource}`);
  }
  assert.equal(
    classifyRequest({
      ...msg("update", "ns/pod/p"),
      route: { source: "x", group: "resource", operation: "sync", resource: "ns/pod/p" },
    }),
    undefined,
  );
});

Deno.test("a status patch may carry status and metadata.uid only", () => {
  assert.deepEqual(
    readStatusPatch(
      '{"metadata":{"uid":"u"},"status":{"phase":"Running"}}',
      "pod status",
      POD_PATCH_METADATA,
    ),
    {
      metadata: { uid: "u" },
      status: { phase: "Running" },
    },
  );
  assert.throws(() => readStatusPatch({ spec: {} }, "pod status", POD_PATCH_METADATA), EdgeRequestError);
  assert.throws(
    () => readStatusPatch({ metadata: { labels: { a: "b" } } }, "pod status", POD_PATCH_METADATA),
    EdgeRequestError,
  );
  assert.throws(() => readStatusPatch("[1]", "pod status", POD_PATCH_METADATA), EdgeRequestError);
});

Deno.test("a sync report is bounded and every entry is checked", () => {
  const entry = { uid: "u", resourceVersion: "1", resource: "ns/pod/p" };
  assert.deepEqual(parseSyncReport({ objects: [entry] }), { ok: true, objects: [entry] });
  assert.deepEqual(parseSyncReport(JSON.stringify({ objects: [] })), { ok: true, objects: [] });
  assert.equal(parseSyncReport({ objects: [{ ...entry, resourceVersion: "x1" }] }).ok, false);
  assert.equal(parseSyncReport({ objects: Array.from({ length: 10_001 }, () => entry) }).ok, false);
  assert.equal(parseSyncReport({}).ok, false);
});
