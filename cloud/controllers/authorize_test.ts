import assert from "node:assert/strict";
import { type AuthorizationView, authorize, authorizeServiceRead } from "./authorize.ts";
import { EdgeRequestError } from "./edge_request.ts";

const view: AuthorizationView = {
  pod: (
    ns,
    name,
  ) => (ns === "ns" && name === "mine"
    ? { node: "a", uid: "u-mine", serviceAccount: "robot" }
    : ns === "ns" && name === "theirs"
    ? { node: "b", uid: "u-theirs" }
    : undefined),
  references: (node, key) => node === "a" && key === "secret/ns/used",
  hasPodIn: (node, namespace) => node === "a" && namespace === "ns",
};
const reason = (d: ReturnType<typeof authorize>) => (d.allowed ? "allowed" : d.reason);

Deno.test("a node may act on its own Node, Lease, pods and referenced objects only", () => {
  assert.equal(reason(authorize("a", { kind: "patchNodeStatus", name: "a" }, "{}", view)), "allowed");
  assert.equal(reason(authorize("a", { kind: "patchNodeStatus", name: "b" }, "{}", view)), "other_node");
  assert.equal(reason(authorize("a", { kind: "registerNode", name: "b" }, {}, view)), "other_node");
  assert.equal(
    reason(authorize("a", { kind: "renewLease", namespace: "kube-node-lease", name: "a" }, {}, view)),
    "allowed",
  );
  assert.equal(
    reason(authorize("a", { kind: "renewLease", namespace: "default", name: "a" }, {}, view)),
    "other_lease",
  );
  assert.equal(
    reason(authorize("a", { kind: "patchPodStatus", namespace: "ns", name: "mine" }, "{}", view)),
    "allowed",
  );
  assert.equal(
    reason(authorize("a", { kind: "deletePod", namespace: "ns", name: "theirs" }, null, view)),
    "pod_not_bound",
  );
  assert.equal(
    reason(authorize("a", { kind: "deletePod", namespace: "ns", name: "unknown" }, null, view)),
    "pod_not_bound",
  );
  assert.equal(
    reason(authorize("a", { kind: "query", type: "secret", namespace: "ns", name: "used" }, null, view)),
    "allowed",
  );
  assert.equal(
    reason(authorize("a", { kind: "query", type: "secret", namespace: "ns", name: "other" }, null, view)),
    "not_referenced",
  );
  assert.equal(reason(authorize("a", { kind: "syncReport", name: "b" }, {}, view)), "other_node");
});

Deno.test("a body that names another object than its resource is denied", () => {
  assert.equal(
    reason(authorize("a", { kind: "registerNode", name: "a" }, { metadata: { name: "b" } }, view)),
    "body_mismatch",
  );
  const lease = { kind: "renewLease", namespace: "kube-node-lease", name: "a" } as const;
  assert.equal(reason(authorize("a", lease, { metadata: { name: "b" } }, view)), "body_mismatch");
  assert.equal(reason(authorize("a", lease, { spec: { holderIdentity: "b" } }, view)), "body_mismatch");
});

Deno.test("events must be about the node itself or its own pods", () => {
  const event = (involvedObject: Record<string, unknown>) => ({
    metadata: { name: "e", namespace: "ns" },
    involvedObject,
  });
  const req = { kind: "createEvent", namespace: "ns", name: "e" } as const;
  assert.equal(reason(authorize("a", req, event({ kind: "Node", name: "a" }), view)), "allowed");
  assert.equal(
    reason(authorize("a", req, event({ kind: "Pod", name: "mine", namespace: "ns", uid: "u-mine" }), view)),
    "allowed",
  );
  assert.equal(
    reason(authorize("a", req, event({ kind: "Pod", name: "mine", namespace: "ns", uid: "other" }), view)),
    "event_not_own_object",
  );
  assert.equal(
    reason(authorize("a", req, event({ kind: "Pod", name: "theirs", namespace: "ns" }), view)),
    "event_not_own_object",
  );
  assert.equal(reason(authorize("a", req, event({ kind: "Node", name: "b" }), view)), "event_not_own_object");
});

Deno.test("unreadable content is an EdgeRequestError, not a decision", () => {
  assert.throws(
    () => authorize("a", { kind: "registerNode", name: "a" }, "not json", view),
    EdgeRequestError,
  );
});

Deno.test("a node gets tokens only for a service account its own pod runs as, bound to that pod", () => {
  const ask = (account: string, ref: unknown, node = "a") =>
    reason(authorize(node, { kind: "serviceAccountToken", namespace: "ns", name: account }, {
      spec: { audiences: ["api"], boundObjectRef: ref },
    }, view));
  const mine = { kind: "Pod", apiVersion: "v1", name: "mine", uid: "u-mine" };
  assert.equal(ask("robot", mine), "allowed");
  assert.equal(ask("robot", mine, "b"), "token_not_bound");
  assert.equal(ask("default", mine), "token_not_bound");
  assert.equal(ask("robot", { ...mine, uid: "u-old" }), "token_not_bound");
  assert.equal(ask("robot", { ...mine, kind: "Secret" }), "token_not_bound");
  assert.equal(ask("robot", undefined), "token_not_bound");
  assert.equal(ask("robot", { kind: "Pod", name: "theirs", uid: "u-theirs" }), "token_not_bound");
  assert.throws(
    () => authorize("a", { kind: "serviceAccountToken", namespace: "ns", name: "robot" }, "[]", view),
    EdgeRequestError,
  );
});

Deno.test("a node may read Services of its pods' namespaces and the master Service default/kubernetes", () => {
  assert.equal(reason(authorizeServiceRead("a", "ns", "", view)), "allowed");
  assert.equal(reason(authorizeServiceRead("a", "ns", "web", view)), "allowed");
  assert.equal(reason(authorizeServiceRead("a", "default", "kubernetes", view)), "allowed");
  assert.equal(reason(authorizeServiceRead("b", "default", "kubernetes", view)), "allowed");
  assert.equal(reason(authorizeServiceRead("a", "default", "", view)), "no_pod_in_namespace");
  assert.equal(reason(authorizeServiceRead("a", "default", "other", view)), "no_pod_in_namespace");
  assert.equal(reason(authorizeServiceRead("b", "ns", "", view)), "no_pod_in_namespace");
});
