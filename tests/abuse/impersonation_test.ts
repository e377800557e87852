/**
 * A real cloudcore on a real apiserver, 50 honest edges working, and a node whose own valid certificate is
 * used to act for another node in every message kind the cloud serves, then bad join tokens and CSRs at the
 * certificate port. Nothing of it may reach the apiserver: its audit log (cloudcore's requests only) is
 * read for every request that names the other node's objects.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { connectRawEdge, type RawEdge } from "../../cloud/hub/test_util.ts";
import { writeSimEdgeCredentials } from "../../bench/edge_sim_certs.ts";
import { leaseMessage, registerNode } from "../../bench/edge_sim_messages.ts";
import { auditFlags, CLOUDCORE_USER, cloudcoreKubeconfig } from "../../bench/soak_setup.ts";
import {
  buildDeviceResource,
  buildTwinResource,
  type Message,
  newMessage,
  type Operation,
  replyOutcome,
  TWIN_EDGE_UPDATED,
} from "../../lib/protocol/mod.ts";
import { createRunDir, startControlPlane } from "../cluster/mod.ts";
import { type Cloud, startCloud } from "../harness/kedge.ts";
import {
  describe,
  type EdgeCredentials,
  HONEST_EDGES,
  startHonestEdges,
  unaffected,
} from "./honest_edges.ts";
import { badJoins } from "./bad_joins.ts";

const VICTIM = "victim";
const ATTACKER = "mallory";
const ROUNDS = 100;
/** The honest edges run at least this long, so that each makes several requests. */
const HONEST_MS = 6_000;
const MiB = 1024 * 1024;
/** cloudcore's RSS may grow this much while the attack runs (50 sessions and 1,000 replies a second). */
const RSS_BOUND = 96 * MiB;

function rssOf(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

/** The sum of a counter's series in cloudcore's /metrics. */
async function counter(cloud: Cloud, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cloud.ports.metrics}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

function edgeRequest(operation: Operation, resource: string, content: unknown): Message {
  return newMessage({ source: "edged", group: "meta", operation, resource, content });
}

/** Every request kind the cloud serves, each naming the victim's objects. */
function impersonations(podUid: string): Array<[string, Message]> {
  const patch = (status: unknown) => JSON.stringify({ status });
  return [
    ["register its node", registerNode(VICTIM)],
    [
      "patch its node status",
      edgeRequest("patch", `null/nodepatch/${VICTIM}`, patch({ phase: "Terminated" })),
    ],
    ["send its holdings report", edgeRequest("update", `null/objectsync/${VICTIM}`, { objects: [] })],
    ["read its Lease", leaseMessage(VICTIM, "query")],
    ["renew its Lease", leaseMessage(VICTIM, "update")],
    ["create its Lease", leaseMessage(VICTIM, "insert")],
    [
      "patch its pod's status",
      edgeRequest("patch", "default/podpatch/victim-pod", patch({ phase: "Failed" })),
    ],
    [
      "delete its pod",
      edgeRequest("delete", "default/pod/victim-pod", {
        preconditions: { uid: podUid },
        gracePeriodSeconds: 0,
      }),
    ],
    [
      "create an event about its pod",
      edgeRequest("insert", "default/event/victim-pod.forged", {
        metadata: { name: "victim-pod.forged", namespace: "default" },
        involvedObject: { kind: "Pod", namespace: "default", name: "victim-pod", uid: podUid },
        reason: "Forged",
        message: "not from the victim",
      }),
    ],
    ["read its pod's ConfigMap", edgeRequest("query", "default/configmap/victim-cm", null)],
    ["read its pod's Secret", edgeRequest("query", "default/secret/victim-secret", null)],
    [
      "get a token bound to its pod",
      edgeRequest("query", "default/serviceaccounttoken/default", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: ["https://kubernetes.default.svc.cluster.local"],
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "victim-pod", uid: podUid },
        },
      }),
    ],
    [
      "report its device's twin",
      newMessage({
        source: "twin",
        group: "twin",
        operation: "update",
        resource: buildTwinResource({ namespace: "default", name: "victim-dev", event: TWIN_EDGE_UPDATED }),
        content: { twin: { temperature: { actual: { value: "999" }, metadata: { type: "int" } } } },
      }),
    ],
    [
      "report its device's state",
      newMessage({
        source: "twin",
        group: "twin",
        operation: "update",
        resource: buildDeviceResource({
          namespace: "default",
          name: "victim-dev",
          subresource: "state/update",
        }),
        content: { state: "offline" },
      }),
    ],
    [
      "report its device's twin under its node",
      newMessage({
        source: "twin",
        group: "twin",
        operation: "update",
        resource: buildTwinResource({
          namespace: "default",
          name: "victim-dev",
          event: TWIN_EDGE_UPDATED,
          node: VICTIM,
        }),
        content: { twin: { temperature: { actual: { value: "999" }, metadata: { type: "int" } } } },
      }),
    ],
  ];
}

interface AuditEvent {
  verb: string;
  user?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  requestReceivedTimestamp: string;
}

/** cloudcore's apiserver requests since `since` that name one of the victim's objects. */
async function auditedTouches(logPath: string, since: Date): Promise<string[]> {
  const victimNames = new Set([VICTIM, "victim-pod", "victim-cm", "victim-secret", "victim-dev"]);
  const text = await Deno.readTextFile(logPath);
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.user?.username === CLOUDCORE_USER && new Date(e.requestReceivedTimestamp) >= since)
    .filter((e) =>
      victimNames.has(e.objectRef?.name ?? "") || e.objectRef?.resource === "events" && e.verb === "create" ||
      e.objectRef?.subresource === "token"
    )
    .map((e) =>
      `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name ?? ""} ${e.objectRef?.subresource ?? ""}`
    );
}

Deno.test("one node's certificate acting for another in every message kind, and bad tokens and CSRs, beside 50 honest edges: all refused, nothing reaches the apiserver", async (t) => {
  const run = await createRunDir("abuse-impersonation");
  const audit = await auditFlags(run.path);
  await using cp = await startControlPlane({ extraArgs: { apiserver: audit.flags } });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const cloud = await startCloud(run, { ...cp, kubeconfigPath: await cloudcoreKubeconfig(cp, run.path) });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const casecret = await core.readNamespacedSecret({ name: "casecret", namespace: "kubeedge" });
    const honestNames = Array.from({ length: HONEST_EDGES }, (_, i) => `honest-${i}`);
    await writeSimEdgeCredentials(casecret.data!, [VICTIM, ATTACKER, ...honestNames], run.path);
    const caPem = await Deno.readTextFile(join(run.path, "ca.pem"));
    const creds: EdgeCredentials[] = JSON.parse(await Deno.readTextFile(join(run.path, "edges.json")));
    const credsOf = (name: string) => ({ caPem, ...creds.find((c) => c.name === name)! });
    const dial = async (name: string, nodeId = name): Promise<RawEdge> => {
      const edge = await connectRawEdge({ port: cloud.ports.websocket, credentials: credsOf(name), nodeId });
      closers.push(() => edge.close());
      return edge;
    };
    const ask = async (edge: RawEdge, message: Message) => {
      edge.send(message);
      return await edge.next((m) => m.header.parent_msg_id === message.header.msg_id, 10_000);
    };

    // The victim: a registered node with a Lease, a pod bound to it that refers to a ConfigMap and a Secret,
    // and a Device.
    const victim = await dial(VICTIM);
    assert.ok(replyOutcome(await ask(victim, registerNode(VICTIM))).ok, "the victim registers");
    assert.ok(replyOutcome(await ask(victim, leaseMessage(VICTIM, "insert"))).ok, "the victim's Lease");
    // No controller-manager here: the ServiceAccount its token controller would make.
    await core.createNamespacedServiceAccount({
      namespace: "default",
      body: { metadata: { name: "default" } },
    });
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "victim-cm" }, data: { a: "1" } },
    });
    await core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "victim-secret" }, stringData: { p: "x" } },
    });
    const pod = await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "victim-pod" },
        spec: {
          nodeName: VICTIM,
          containers: [{
            name: "c",
            image: "busybox",
            envFrom: [{ secretRef: { name: "victim-secret" } }],
            volumeMounts: [{ name: "cm", mountPath: "/cm" }],
          }],
          volumes: [{ name: "cm", configMap: { name: "victim-cm" } }],
        },
      },
    });
    const group = { group: "devices.kubeedge.io", version: "v1beta1", namespace: "default" };
    await custom.createNamespacedCustomObject({
      ...group,
      plural: "devicemodels",
      body: {
        apiVersion: "devices.kubeedge.io/v1beta1",
        kind: "DeviceModel",
        metadata: { name: "thermo" },
        spec: { properties: [{ name: "temperature", type: "INT", accessMode: "ReadWrite" }] },
      },
    });
    await custom.createNamespacedCustomObject({
      ...group,
      plural: "devices",
      body: {
        apiVersion: "devices.kubeedge.io/v1beta1",
        kind: "Device",
        metadata: { name: "victim-dev" },
        spec: { deviceModelRef: { name: "thermo" }, nodeName: VICTIM, properties: [{ name: "temperature" }] },
      },
    });
    // The pod and the device have reached the victim: the cloud's caches know them.
    await victim.next((m) => m.route.resource === "default/pod/victim-pod", 15_000);
    await victim.next((m) => m.route.resource.includes("membership"), 15_000);
    const versions = async () => ({
      node: (await core.readNode({ name: VICTIM })).metadata?.resourceVersion,
      pod: (await core.readNamespacedPod({ name: "victim-pod", namespace: "default" })).metadata
        ?.resourceVersion,
      device:
        ((await custom.getNamespacedCustomObject({ ...group, plural: "devices", name: "victim-dev" })) as {
          metadata: { resourceVersion: string };
        }).metadata.resourceVersion,
    });
    const before = await versions();

    const attacker = await dial(ATTACKER);
    const honest = await startHonestEdges(
      cloud.ports.websocket,
      caPem,
      creds.filter((c) => c.name.startsWith("honest-")),
      // What a real edge asks all the time: its own Lease (an honest NotFound is still a reply).
      (node) => leaseMessage(node, "query"),
    );
    const rssBefore = rssOf(cloud.pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => rssPeak = Math.max(rssPeak, rssOf(cloud.pid)), 100);
    closers.push(() => Promise.resolve(clearInterval(sampler)));
    // Every request of the setup was answered by now, so the audit log has them before this instant.
    const attackStart = new Date();
    const deniedBefore = await counter(cloud, "kedge_cloud_denied_requests_total");

    await t.step(
      `each of ${
        impersonations(pod.metadata!.uid!).length
      } request kinds for the victim, ${ROUNDS} times: refused with 403, counted, nothing changed`,
      async () => {
        const cases = impersonations(pod.metadata!.uid!);
        for (let round = 0; round < ROUNDS; round++) {
          const replies = await Promise.all(cases.map(async ([what, message]) => {
            // A fresh msg_id each round: the same frame resent is still a new request.
            const fresh = { ...message, header: { ...message.header, msg_id: crypto.randomUUID() } };
            return [what, await ask(attacker, fresh)] as const;
          }));
          for (const [what, reply] of replies) {
            const outcome = replyOutcome(reply);
            assert.equal(outcome.ok, false, `${what}: refused`);
            assert.match(outcome.reason, /forbidden/i, `${what}: ${outcome.reason}`);
            if (reply.route.operation === "response") assert.equal(outcome.code, 403, `${what}: 403`);
          }
        }
        assert.equal(
          (await counter(cloud, "kedge_cloud_denied_requests_total")) - deniedBefore,
          cases.length * ROUNDS,
          "every refusal counted",
        );
        // The certificate decides who a connection is: claiming the victim in the headers is refused outright.
        await assert.rejects(dial(ATTACKER, VICTIM), /403/);
        assert.deepEqual(await versions(), before, "the victim's node, pod and device are unchanged");
        const events = await core.listNamespacedEvent({ namespace: "default" });
        assert.deepEqual(events.items.filter((e) => e.reason === "Forged"), [], "no forged event");
      },
    );

    await t.step("bad tokens and CSRs at the certificate port: each refused, nothing issued", async () => {
      const issuedBefore = await counter(cloud, "cloudcore_edge_certificates_issued_total");
      const outcomes = await badJoins({
        port: cloud.ports.https,
        websocketPort: cloud.ports.websocket,
        caPem,
        casecret: casecret.data!,
        validToken: (await core.readNamespacedSecret({ name: "tokensecret", namespace: "kubeedge" })).data!
          .tokendata!,
        dir: run.path,
      });
      for (const o of outcomes) assert.ok(o.refused, `${o.what}: ${o.detail}`);
      console.log(outcomes.map((o) => `${o.what}: ${o.detail}`).join("\n"));
      assert.equal(
        await counter(cloud, "cloudcore_edge_certificates_issued_total"),
        issuedBefore,
        "no certificate issued",
      );
    });

    await t.step(
      "the honest edges missed nothing, cloudcore's RSS stayed bounded and nothing reached the apiserver",
      async () => {
        const left = HONEST_MS - (Date.now() - attackStart.getTime());
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        const figures = await honest.stop();
        clearInterval(sampler);
        console.log(
          `${describe(figures)}; cloudcore RSS ${(rssBefore / MiB).toFixed(1)} -> peak ${
            (rssPeak / MiB).toFixed(1)
          } MiB`,
        );
        assert.ok(unaffected(figures), describe(figures));
        assert.ok(
          rssPeak - rssBefore < RSS_BOUND,
          `cloudcore RSS grew ${((rssPeak - rssBefore) / MiB).toFixed(1)} MiB`,
        );
        // The audit backend writes a request's line once it finished; give the last ones a moment.
        await new Promise((r) => setTimeout(r, 1_000));
        assert.deepEqual(
          await auditedTouches(audit.logPath, attackStart),
          [],
          "cloudcore asked nothing for the attacker",
        );
        // The audit log does see cloudcore's requests: the honest edges' Lease reads are there.
        const text = await Deno.readTextFile(audit.logPath);
        assert.match(text, /"resource":"leases","namespace":"kube-node-lease","name":"honest-0"/);
      },
    );
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await cloud.stop();
    await run.remove();
  }
});
