// cloudcore's edge controllers on one real etcd + kube-apiserver: what goes down to which node, resync on
// connect, the edge's requests, and node authorization. The hub is replaced by a recorder of deliveries.
import assert from "node:assert/strict";
import {
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type RequestContext,
  type V1ConfigMap,
  type V1Node,
  type V1Pod,
} from "@kubernetes/client-node";
import { type Delivery, type Downstream } from "../cloud/controllers/mod.ts";
import { createEdgeControllers, type EdgeControllers, syncReportResource } from "../cloud/controllers/mod.ts";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { buildResource, type Message, newMessage, replyOutcome } from "../lib/protocol/mod.ts";
import { startControlPlane } from "./cluster/mod.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EDGE = { "node-role.kubernetes.io/edge": "" };

/** The hub's place: records every delivery per node. */
class Recorder implements Downstream {
  readonly sent: { node: string; item: Delivery }[] = [];
  send(node: string, item: Delivery): void {
    this.sent.push({ node, item });
  }
  to(node: string, resource?: string, operation?: string): Delivery[] {
    return this.sent.filter((s) =>
      s.node === node && (resource === undefined || s.item.message.route.resource === resource) &&
      (operation === undefined || s.item.message.route.operation === operation)
    ).map((s) => s.item);
  }
  forResource(resource: string): { node: string; item: Delivery }[] {
    return this.sent.filter((s) => s.item.message.route.resource === resource);
  }
  clear(): void {
    this.sent.length = 0;
  }
}

async function eventually<T>(check: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${ms} ms`);
    await wait(25);
  }
}

/** A KubeConfig that records "<METHOD> <path>" of every apiserver request made through it. */
class CountingKubeConfig extends KubeConfig {
  readonly calls: string[] = [];
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    this.calls.push(`${context.getHttpMethod()} ${new URL(context.getUrl()).pathname}`);
    await super.applySecurityAuthentication(context);
  }
  /** The calls so far whose path starts with `prefix`, and forgets all calls. */
  take(prefix: string): string[] {
    return this.calls.splice(0).filter((c) => c.split(" ")[1]?.startsWith(prefix));
  }
}

function request(
  operation: "insert" | "update" | "patch" | "delete" | "query",
  resource: string,
  content: unknown,
) {
  return newMessage({ source: "edged", group: "meta", operation, resource, content });
}

function deniedCount(registry: Registry, operation: string, reason: string): number {
  const line = registry.render().split("\n").find((l) =>
    l.startsWith(`kedge_cloud_denied_requests_total{operation="${operation}",reason="${reason}"}`)
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

function objectOf<T>(reply: Message | undefined): T {
  assert.equal(
    reply?.route.operation,
    "response",
    `expected a response, got ${JSON.stringify(reply?.content)}`,
  );
  const content = reply.content as { Object: T; Err: null };
  assert.equal(content.Err, null);
  return content.Object;
}

Deno.test("edge controllers on a real apiserver", async (t) => {
  const cp = await startControlPlane({ controllers: false });
  try {
    const kc = new CountingKubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const coordination = kc.makeApiClient(CoordinationV1Api);

    const namespace = async (name: string) => {
      await core.createNamespace({ body: { metadata: { name } } });
      await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: "default" } } });
    };
    const node = (name: string, labels: Record<string, string> = EDGE): Promise<V1Node> =>
      core.createNode({ body: { metadata: { name, labels } } });
    const pod = (
      ns: string,
      name: string,
      nodeName: string,
      spec: Partial<V1Pod["spec"]> = {},
    ): Promise<V1Pod> =>
      core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            nodeName,
            automountServiceAccountToken: false,
            containers: [{ name: "c", image: "busybox" }],
            ...spec,
          },
        },
      });
    const configMap = (
      ns: string,
      name: string,
      data: Record<string, string> = { k: "v" },
    ): Promise<V1ConfigMap> =>
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data } });
    const withControllers = async (
      fn: (c: EdgeControllers, rec: Recorder, registry: Registry) => Promise<void>,
      fullSyncGraceMs = 60_000,
    ) => {
      const rec = new Recorder();
      const registry = new Registry();
      const c = createEdgeControllers({
        kubeConfig: kc,
        downstream: rec,
        log: quiet,
        registry,
        fullSyncGraceMs,
      });
      try {
        await c.start();
        await fn(c, rec, registry);
      } finally {
        await c.stop();
        await wait(50); // the aborted watch streams close asynchronously
      }
    };

    await namespace("apps");
    await node("edge-a");
    await node("edge-b");
    await node("cloud-c", {});

    await t.step("a pod bound to edge node A goes to A only, with its resourceVersion and uid", async () => {
      await withControllers(async (_c, rec) => {
        const created = await pod("apps", "web", "edge-a");
        const cloudPod = await pod("apps", "batch", "cloud-c");
        const resource = buildResource({ namespace: "apps", type: "pod", name: "web" });
        const insert = await eventually(
          () => rec.to("edge-a", resource, "insert")[0],
          "the pod insert to edge-a",
        );
        const stored = await core.readNamespacedPod({ name: "web", namespace: "apps" });
        assert.equal(insert?.uid, created.metadata?.uid);
        assert.equal(insert?.resourceVersion, stored.metadata?.resourceVersion);
        assert.equal(insert?.message.header.resourceversion, stored.metadata?.resourceVersion);
        assert.deepEqual(insert?.message.route, {
          source: "edgecontroller",
          group: "resource",
          operation: "insert",
          resource: "apps/pod/web",
        });
        assert.equal((insert?.message.content as V1Pod).metadata?.name, "web");
        await wait(300);
        assert.deepEqual(
          rec.forResource(resource).map((s) => s.node),
          ["edge-a"],
          "only edge-a gets the pod",
        );
        assert.equal(rec.forResource("apps/pod/batch").length, 0, "a pod on a non-edge node goes nowhere");
        assert.equal(rec.to("cloud-c").length, 0, "a non-edge node gets nothing");
        assert.ok(cloudPod.metadata?.uid);
      });
    });

    await t.step(
      "a referenced ConfigMap goes to the pod's node, an unreferenced one nowhere, deleted with the pod",
      async () => {
        await namespace("refs");
        await withControllers(async (_c, rec) => {
          await configMap("refs", "used");
          await configMap("refs", "unused");
          await core.createNamespacedSecret({
            namespace: "refs",
            body: { metadata: { name: "creds" }, stringData: { p: "x" } },
          });
          await pod("refs", "app", "edge-a", {
            volumes: [{ name: "cfg", configMap: { name: "used" } }],
            containers: [{ name: "c", image: "busybox", envFrom: [{ secretRef: { name: "creds" } }] }],
          });
          const used = await eventually(
            () => rec.to("edge-a", "refs/configmap/used", "insert")[0],
            "the ConfigMap insert",
          );
          const stored = await core.readNamespacedConfigMap({ name: "used", namespace: "refs" });
          assert.equal(used.resourceVersion, stored.metadata?.resourceVersion);
          await eventually(() => rec.to("edge-a", "refs/secret/creds", "insert")[0], "the Secret insert");
          await wait(300);
          assert.equal(
            rec.forResource("refs/configmap/unused").length,
            0,
            "an unreferenced ConfigMap goes nowhere",
          );
          assert.deepEqual(rec.forResource("refs/configmap/used").map((s) => s.node), ["edge-a"]);

          await core.deleteNamespacedPod({ name: "app", namespace: "refs", gracePeriodSeconds: 0 });
          await eventually(() => rec.to("edge-a", "refs/pod/app", "delete")[0], "the pod delete");
          const del = await eventually(
            () => rec.to("edge-a", "refs/configmap/used", "delete")[0],
            "the ConfigMap delete",
          );
          assert.equal(del.isDelete, true);
          assert.equal(del.uid, stored.metadata?.uid);
          await eventually(() => rec.to("edge-a", "refs/secret/creds", "delete")[0], "the Secret delete");
        });
      },
    );

    await t.step("updating a referenced ConfigMap sends its new resourceVersion", async () => {
      await withControllers(async (_c, rec) => {
        await configMap("apps", "live", { k: "1" });
        await pod("apps", "reader", "edge-a", { volumes: [{ name: "cfg", configMap: { name: "live" } }] });
        await eventually(() => rec.to("edge-a", "apps/configmap/live", "insert")[0], "the insert");
        const updated = await core.replaceNamespacedConfigMap({
          name: "live",
          namespace: "apps",
          body: { metadata: { name: "live" }, data: { k: "2" } },
        });
        const update = await eventually(
          () => rec.to("edge-a", "apps/configmap/live", "update")[0],
          "the update",
        );
        assert.equal(update.resourceVersion, updated.metadata?.resourceVersion);
        assert.deepEqual((update.message.content as V1ConfigMap).data, { k: "2" });
      });
    });

    await t.step(
      "resync: an old resourceVersion gets an update, an unknown uid a delete, nothing held gets all",
      async () => {
        await withControllers(async (c, rec) => {
          const web = await core.readNamespacedPod({ name: "web", namespace: "apps" });
          const live = await core.readNamespacedConfigMap({ name: "live", namespace: "apps" });
          const report = (objects: unknown[]) =>
            newMessage({
              source: "edgehub",
              group: "resource",
              operation: "update",
              resource: syncReportResource("edge-a"),
              content: { objects },
            });
          rec.clear();
          const stale = await c.handleEdgeRequest(
            "edge-a",
            report([
              { uid: web.metadata?.uid, resourceVersion: "1", resource: "apps/pod/web" },
              {
                uid: live.metadata?.uid,
                resourceVersion: live.metadata?.resourceVersion,
                resource: "apps/configmap/live",
              },
              {
                uid: "0b0e7a7e-0000-4000-8000-000000000000",
                resourceVersion: "5",
                resource: "apps/pod/ghost",
              },
            ]),
          );
          assert.equal(stale?.route.operation, "response");
          const web1 = rec.to("edge-a", "apps/pod/web");
          assert.equal(web1.length, 1);
          assert.equal(web1[0]?.message.route.operation, "update");
          assert.equal(web1[0]?.resourceVersion, web.metadata?.resourceVersion);
          assert.equal(
            rec.to("edge-a", "apps/configmap/live").length,
            0,
            "an up-to-date object is not resent",
          );
          const ghost = rec.to("edge-a", "apps/pod/ghost");
          assert.equal(ghost[0]?.message.route.operation, "delete");
          assert.equal(ghost[0]?.uid, "0b0e7a7e-0000-4000-8000-000000000000");
          assert.equal(
            rec.to("edge-a", "apps/pod/reader", "insert").length,
            1,
            "what the edge lacks is inserted",
          );
          assert.equal(rec.to("edge-b").length, 0, "another node gets nothing");

          rec.clear();
          await c.handleEdgeRequest("edge-a", report([]));
          const resources = new Set(rec.to("edge-a").map((d) => d.message.route.resource));
          for (const r of ["null/node/edge-a", "apps/pod/web", "apps/pod/reader", "apps/configmap/live"]) {
            assert.ok(resources.has(r), `an empty report gets ${r}`);
          }
          assert.ok(rec.to("edge-a").every((d) => !d.isDelete));
        });
      },
    );

    await t.step(
      "an edge that never reports gets a full sync after the grace period, a reporting one does not",
      async () => {
        await withControllers(async (c, rec) => {
          rec.clear();
          c.onEdgeConnected("edge-a");
          c.onEdgeConnected("edge-b");
          await c.handleEdgeRequest(
            "edge-b",
            newMessage({
              source: "edgehub",
              group: "resource",
              operation: "update",
              resource: syncReportResource("edge-b"),
              content: { objects: [] },
            }),
          );
          const fromReport = rec.to("edge-b").length;
          assert.equal(rec.to("edge-a").length, 0, "nothing before the grace period");
          await eventually(() => rec.to("edge-a", "apps/pod/web", "insert")[0], "the full sync", 3000);
          const resources = new Set(rec.to("edge-a").map((d) => d.message.route.resource));
          assert.ok(resources.has("apps/configmap/live") && resources.has("null/node/edge-a"));
          await wait(400);
          assert.equal(rec.to("edge-b").length, fromReport, "a reporting edge gets no full sync");
        }, 300);
      },
    );

    await t.step(
      "requests: register, node status, lease, event, pod status, pod delete by uid, query",
      async () => {
        await withControllers(async (c, rec, registry) => {
          const registered = objectOf<V1Node>(
            await c.handleEdgeRequest(
              "edge-new",
              request("insert", "default/node/edge-new", {
                metadata: {
                  name: "edge-new",
                  labels: { "site": "north", "node-role.kubernetes.io/master": "" },
                },
              }),
            ),
          );
          assert.equal(registered.metadata?.name, "edge-new");
          const readBack = await core.readNode({ name: "edge-new" });
          assert.equal(readBack.metadata?.labels?.["node-role.kubernetes.io/edge"], "");
          assert.equal(readBack.metadata?.labels?.["node-role.kubernetes.io/agent"], "");
          assert.equal(readBack.metadata?.labels?.site, "north");
          assert.equal(
            readBack.metadata?.labels?.["node-role.kubernetes.io/master"],
            undefined,
            "reserved labels are refused",
          );
          // Registering again (the Node exists) keeps it and its labels.
          objectOf<V1Node>(
            await c.handleEdgeRequest(
              "edge-a",
              request("insert", "default/node/edge-a", { metadata: { name: "edge-a" } }),
            ),
          );
          assert.equal(
            (await core.readNode({ name: "edge-a" })).metadata?.labels?.["node-role.kubernetes.io/agent"],
            "",
          );

          const status = JSON.stringify({
            status: {
              conditions: [{
                type: "Ready",
                status: "True",
                reason: "KubeletReady",
                lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
              }],
            },
          });
          const patchedNode = objectOf<V1Node>(
            await c.handleEdgeRequest("edge-a", request("patch", "default/nodepatch/edge-a", status)),
          );
          assert.equal(patchedNode.status?.conditions?.find((x) => x.type === "Ready")?.status, "True");
          const ready = (await core.readNode({ name: "edge-a" })).status?.conditions?.find((x) =>
            x.type === "Ready"
          );
          assert.equal(ready?.status, "True");

          const leaseBody = (renewTime: string) => ({
            metadata: { name: "edge-a", namespace: "kube-node-lease" },
            spec: { holderIdentity: "edge-a", leaseDurationSeconds: 40, renewTime },
          });
          const leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
          kc.take(leases);
          objectOf(
            await c.handleEdgeRequest(
              "edge-a",
              request("update", "kube-node-lease/lease/edge-a", leaseBody("2030-01-01T00:00:00.000000Z")),
            ),
          );
          assert.deepEqual(
            kc.take(leases),
            [`GET ${leases}/edge-a`, `POST ${leases}`],
            "first: read, create",
          );
          objectOf(
            await c.handleEdgeRequest(
              "edge-a",
              request("update", "kube-node-lease/lease/edge-a", leaseBody("2030-01-01T00:00:10.000000Z")),
            ),
          );
          assert.deepEqual(kc.take(leases), [`PUT ${leases}/edge-a`], "a renewal is a single PUT");
          const lease = await coordination.readNamespacedLease({
            name: "edge-a",
            namespace: "kube-node-lease",
          });
          assert.equal(new Date(String(lease.spec?.renewTime)).toISOString(), "2030-01-01T00:00:10.000Z");
          assert.equal(lease.spec?.leaseDurationSeconds, 40);

          const web = await core.readNamespacedPod({ name: "web", namespace: "apps" });
          const podPatch = JSON.stringify({
            metadata: { uid: web.metadata?.uid },
            status: { phase: "Running" },
          });
          objectOf<V1Pod>(
            await c.handleEdgeRequest("edge-a", request("patch", "apps/podpatch/web", podPatch)),
          );
          assert.equal(
            (await core.readNamespacedPod({ name: "web", namespace: "apps" })).status?.phase,
            "Running",
          );

          const reader = await core.readNamespacedPod({ name: "reader", namespace: "apps" });
          const event = {
            metadata: { name: "reader.started", namespace: "apps" },
            involvedObject: { kind: "Pod", namespace: "apps", name: "reader", uid: reader.metadata?.uid },
            reason: "Started",
            message: "Started container c",
            type: "Normal",
            source: { component: "kubelet", host: "edge-a" },
          };
          objectOf(
            await c.handleEdgeRequest("edge-a", request("insert", "apps/event/reader.started", event)),
          );
          const storedEvent = await core.readNamespacedEvent({ name: "reader.started", namespace: "apps" });
          assert.equal(storedEvent.reason, "Started");

          const query = await c.handleEdgeRequest("edge-a", request("query", "apps/configmap/live", null));
          assert.equal(query?.route.operation, "response");
          assert.deepEqual((query?.content as V1ConfigMap).data, { k: "2" });

          const wrong = await c.handleEdgeRequest(
            "edge-a",
            request("delete", "apps/pod/web", {
              preconditions: { uid: "11111111-2222-4333-8444-555555555555" },
            }),
          );
          const wrongOutcome = replyOutcome(wrong!);
          assert.equal(wrong?.route.operation, "response");
          assert.ok(!wrongOutcome.ok);
          assert.equal(wrongOutcome.code, 409, "the apiserver's Status is passed on");
          assert.equal(wrongOutcome.statusReason, "Conflict");
          assert.match(wrongOutcome.reason, /^Cannot delete apps\/pod\/web: apiserver answered 409/);
          assert.ok(
            await core.readNamespacedPod({ name: "web", namespace: "apps" }),
            "a wrong uid deletes nothing",
          );
          const right = await c.handleEdgeRequest(
            "edge-a",
            request("delete", "apps/pod/web", { preconditions: { uid: web.metadata?.uid } }),
          );
          assert.equal(right?.route.operation, "response");
          assert.equal(right?.content, "OK");
          assert.equal(right?.header.parent_msg_id !== undefined, true);
          await assert.rejects(
            core.readNamespacedPod({ name: "web", namespace: "apps" }),
            (e: { code?: number }) => e.code === 404,
          );
          await eventually(
            () => rec.to("edge-a", "apps/pod/web", "delete")[0],
            "the final delete down to the edge",
          );
          assert.equal(deniedCount(registry, "delete", "pod_not_bound"), 0);
        });
      },
    );

    await t.step(
      "authorization: a node cannot touch another node's objects or unreferenced secrets",
      async () => {
        await withControllers(async (c, _rec, registry) => {
          await core.createNamespacedSecret({
            namespace: "apps",
            body: { metadata: { name: "private" }, stringData: { p: "x" } },
          });
          const bPod = await pod("apps", "b-app", "edge-b");
          const nodeBefore = await core.readNode({ name: "edge-b" });
          const podBefore = await core.readNamespacedPod({ name: "b-app", namespace: "apps" });
          const cases: [Message, string, string][] = [
            [
              request(
                "patch",
                "default/nodepatch/edge-b",
                JSON.stringify({ status: { phase: "Terminated" } }),
              ),
              "patch",
              "other_node",
            ],
            [
              request("update", "kube-node-lease/lease/edge-b", { spec: { holderIdentity: "edge-b" } }),
              "update",
              "other_lease",
            ],
            [
              request("patch", "apps/podpatch/b-app", JSON.stringify({ status: { phase: "Failed" } })),
              "patch",
              "pod_not_bound",
            ],
            [request("query", "apps/secret/private", null), "query", "not_referenced"],
            [
              request("delete", "apps/pod/b-app", { preconditions: { uid: bPod.metadata?.uid } }),
              "delete",
              "pod_not_bound",
            ],
            [
              request("insert", "apps/event/b-app.started", {
                metadata: { name: "b-app.started" },
                involvedObject: { kind: "Pod", namespace: "apps", name: "b-app" },
                reason: "Started",
              }),
              "insert",
              "event_not_own_object",
            ],
            [
              request("insert", "default/node/edge-b", { metadata: { name: "edge-b" } }),
              "insert",
              "other_node",
            ],
          ];
          for (const [message, operation, reason] of cases) {
            const before = deniedCount(registry, operation, reason);
            const reply = await c.handleEdgeRequest("edge-a", message);
            const outcome = replyOutcome(reply!);
            assert.ok(!outcome.ok, `${message.route.resource} is refused`);
            assert.equal(reply?.route.operation, "response", "a failure as upstream answers one");
            assert.equal(reply?.route.source, "edgecontroller");
            assert.equal(outcome.code, 403);
            assert.equal(outcome.statusReason, "Forbidden");
            assert.equal(reply?.header.parent_msg_id, message.header.msg_id);
            assert.match(outcome.reason, /forbidden/);
            assert.equal(
              deniedCount(registry, operation, reason),
              before + 1,
              `${operation}/${reason} is counted`,
            );
          }
          const nodeAfter = await core.readNode({ name: "edge-b" });
          assert.equal(
            nodeAfter.metadata?.resourceVersion,
            nodeBefore.metadata?.resourceVersion,
            "B's node is unchanged",
          );
          await assert.rejects(
            coordination.readNamespacedLease({ name: "edge-b", namespace: "kube-node-lease" }),
            (e: { code?: number }) => e.code === 404,
            "B's lease was never created",
          );
          await assert.rejects(
            core.readNamespacedEvent({ name: "b-app.started", namespace: "apps" }),
            (e: { code?: number }) => e.code === 404,
            "an event about B's pod was never created",
          );
          const podAfter = await core.readNamespacedPod({ name: "b-app", namespace: "apps" });
          assert.equal(
            podAfter.metadata?.resourceVersion,
            podBefore.metadata?.resourceVersion,
            "B's pod is unchanged",
          );
          // A request the cloud does not serve is denied the same way.
          const odd = await c.handleEdgeRequest("edge-a", request("update", "apps/service/x", {}));
          assert.equal(replyOutcome(odd!).ok, false);
          assert.equal(deniedCount(registry, "update", "unsupported"), 1);
        });
      },
    );

    await t.step(
      "service-account tokens: granted for a pod of the node, bound to it; refused for any other pod or account",
      async () => {
        // Created first, so that the controllers' caches hold them when they start.
        await core.createNamespacedServiceAccount({
          namespace: "apps",
          body: { metadata: { name: "robot" } },
        });
        const mine = await pod("apps", "token-a", "edge-a", { serviceAccountName: "robot" });
        const theirs = await pod("apps", "token-b", "edge-b", { serviceAccountName: "robot" });
        await withControllers(async (c, _rec, registry) => {
          const tokenRequest = (p: V1Pod, uid = p.metadata!.uid) => ({
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: {
              audiences: ["https://kubernetes.default.svc.cluster.local"],
              expirationSeconds: 3600,
              boundObjectRef: { apiVersion: "v1", kind: "Pod", name: p.metadata!.name, uid },
            },
          });
          const granted = await c.handleEdgeRequest(
            "edge-a",
            request("query", "apps/serviceaccounttoken/robot", tokenRequest(mine)),
          );
          assert.equal(granted?.route.operation, "response");
          assert.equal(granted?.route.source, "edgecontroller");
          const tr = granted?.content as {
            kind?: string;
            status?: { token?: string; expirationTimestamp?: string };
          };
          assert.equal(tr.kind, "TokenRequest", JSON.stringify(granted?.content).slice(0, 300));
          assert.ok(
            tr.status?.token && tr.status.expirationTimestamp,
            "the apiserver's token and its expiry",
          );
          // The apiserver itself says whose token it is and which pod it is bound to.
          const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({
            body: { spec: { token: tr.status!.token! } },
          });
          assert.equal(review.status?.authenticated, true);
          assert.equal(review.status?.user?.username, "system:serviceaccount:apps:robot");
          assert.deepEqual(review.status?.user?.extra?.["authentication.kubernetes.io/pod-name"], [
            "token-a",
          ]);

          const refused: [string, Message][] = [
            ["another node's pod", request("query", "apps/serviceaccounttoken/robot", tokenRequest(theirs))],
            [
              "an account the pod does not run as",
              request("query", "apps/serviceaccounttoken/default", tokenRequest(mine)),
            ],
            [
              "a stale uid",
              request(
                "query",
                "apps/serviceaccounttoken/robot",
                tokenRequest(mine, "00000000-0000-4000-8000-000000000000"),
              ),
            ],
            [
              "no bound pod",
              request("query", "apps/serviceaccounttoken/robot", { spec: { audiences: ["x"] } }),
            ],
          ];
          for (const [what, message] of refused) {
            const before = deniedCount(registry, "query", "token_not_bound");
            const outcome = replyOutcome((await c.handleEdgeRequest("edge-a", message))!);
            assert.ok(!outcome.ok && outcome.code === 403, `${what}: ${JSON.stringify(outcome)}`);
            assert.equal(deniedCount(registry, "query", "token_not_bound"), before + 1, `${what} is counted`);
          }
        });
      },
    );

    await t.step("deleting an edge Node sends its delete, as upstream's null/node/<name>", async () => {
      await withControllers(async (_c, rec) => {
        await node("edge-gone");
        await eventually(() => rec.to("edge-gone", "null/node/edge-gone", "update")[0], "the Node update");
        const gone = await core.readNode({ name: "edge-gone" });
        await core.deleteNode({ name: "edge-gone" });
        const del = await eventually(
          () => rec.to("edge-gone", "null/node/edge-gone", "delete")[0],
          "the Node delete",
        );
        assert.equal(del.uid, gone.metadata?.uid);
        assert.equal(del.isDelete, true);
      });
    });
  } finally {
    await cp.stop();
  }
});
