import assert from "node:assert/strict";
import type { V1Lease } from "@kubernetes/client-node";
import { type Message, newMessage } from "../../lib/protocol/mod.ts";
import {
  forgetLease,
  type LeaseApi,
  LeaseVersions,
  queryLease,
  renewLease,
  withoutEndpoints,
} from "./node_requests.ts";

/** A kube-node-lease namespace in memory that counts the apiserver calls made to it. */
class FakeLeases {
  readonly leases = new Map<string, V1Lease>();
  readonly calls: string[] = [];
  /** Status codes the next calls fail with, in order. */
  readonly failures: number[] = [];
  #version = 100;

  readonly api = {
    readNamespacedLease: ({ name }: { name: string }) => {
      this.calls.push("GET");
      this.#fail();
      const lease = this.leases.get(name);
      if (!lease) throw apiError(404);
      return Promise.resolve(structuredClone(lease));
    },
    replaceNamespacedLeaseWithHttpInfo: ({ name, body }: { name: string; body: V1Lease }) => {
      this.calls.push(`PUT ${body.metadata?.resourceVersion}`);
      this.#fail();
      const lease = this.leases.get(name);
      if (!lease) throw apiError(404);
      if (lease.metadata?.resourceVersion !== body.metadata?.resourceVersion) throw apiError(409);
      return this.#store(name, body);
    },
    readNamespacedLeaseWithHttpInfo: ({ name }: { name: string }) => {
      this.calls.push("GET");
      this.#fail();
      const lease = this.leases.get(name);
      if (!lease) throw apiError(404);
      const text = JSON.stringify(lease);
      return Promise.resolve({
        httpStatusCode: 200,
        headers: {},
        data: lease,
        body: { text: () => Promise.resolve(text) },
      });
    },
    createNamespacedLeaseWithHttpInfo: ({ body }: { body: V1Lease }) => {
      this.calls.push("POST");
      this.#fail();
      const name = String(body.metadata?.name);
      if (this.leases.has(name)) throw apiError(409);
      return this.#store(name, body);
    },
  } as unknown as LeaseApi;

  /** Another writer (or a restart of the apiserver's view) bumps the stored version. */
  bump(name: string): void {
    const lease = this.leases.get(name);
    if (lease?.metadata) lease.metadata.resourceVersion = String(++this.#version);
  }

  takeCalls(): string[] {
    return this.calls.splice(0);
  }

  #fail(): void {
    const status = this.failures.shift();
    if (status !== undefined) throw apiError(status);
  }

  #store(name: string, body: V1Lease) {
    const stored: V1Lease = structuredClone(body);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.#version) };
    this.leases.set(name, stored);
    const text = JSON.stringify(stored);
    return Promise.resolve({
      httpStatusCode: 200,
      headers: {},
      data: stored,
      body: { text: () => Promise.resolve(text) },
    });
  }
}

function apiError(code: number): Error {
  return Object.assign(new Error(`HTTP ${code}`), { code });
}

const renewal = (node: string, renewTime: string, extra: Record<string, unknown> = {}): Message =>
  newMessage({
    source: "edged",
    group: "meta",
    operation: "update",
    resource: `kube-node-lease/lease/${node}`,
    content: {
      metadata: { name: node, namespace: "kube-node-lease", ...extra },
      spec: { holderIdentity: "someone-else", leaseDurationSeconds: 40, renewTime },
    },
  });

const leaseOf = (reply: Message): V1Lease => (reply.content as { Object: V1Lease }).Object;

Deno.test("a steady lease renewal is a single PUT with the resourceVersion cloudcore last wrote", async () => {
  const fake = new FakeLeases();
  const deps = { coordination: fake.api };
  const first = leaseOf(await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:00.000000Z")));
  assert.deepEqual(fake.takeCalls(), ["GET", "POST"], "no Lease yet: read, then create");
  assert.equal(first.spec?.holderIdentity, "n1");

  const second = leaseOf(await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:10.000000Z")));
  assert.deepEqual(fake.takeCalls(), [`PUT ${first.metadata?.resourceVersion}`], "one call, no GET");
  assert.equal(second.spec?.holderIdentity, "n1", "holderIdentity is forced to the node");
  assert.equal(second.spec?.renewTime, "2030-01-01T00:00:10.000000Z", "spec from the edge");
  assert.equal(second.spec?.leaseDurationSeconds, 40);

  await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:20.000000Z"));
  assert.deepEqual(fake.takeCalls(), [`PUT ${second.metadata?.resourceVersion}`]);
  assert.equal(fake.leases.get("n1")?.spec?.renewTime, "2030-01-01T00:00:20.000000Z");

  // Another edge's renewals use their own entry; forgetting one node leaves the other.
  await renewLease(deps, "n2", renewal("n2", "2030-01-01T00:00:00.000000Z"));
  assert.deepEqual(fake.takeCalls(), ["GET", "POST"]);
  forgetLease(fake.api, "n1");
  await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:30.000000Z"));
  await renewLease(deps, "n2", renewal("n2", "2030-01-01T00:00:10.000000Z"));
  const [get, put, put2] = fake.takeCalls();
  assert.deepEqual([get, put?.startsWith("PUT "), put2?.startsWith("PUT ")], ["GET", true, true]);
});

Deno.test("a stale or missing cached Lease falls back to read-then-replace or create, and refreshes", async () => {
  const fake = new FakeLeases();
  const versions = new LeaseVersions();
  const deps = { coordination: fake.api };
  await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:00.000000Z"), versions);
  fake.takeCalls();
  const cached = versions.get("n1");

  // 409: someone else wrote the Lease.
  fake.bump("n1");
  const bumped = fake.leases.get("n1")?.metadata?.resourceVersion;
  const replaced = leaseOf(
    await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:10.000000Z"), versions),
  );
  assert.deepEqual(fake.takeCalls(), [`PUT ${cached}`, "GET", `PUT ${bumped}`]);
  assert.equal(versions.get("n1"), replaced.metadata?.resourceVersion, "cache refreshed");
  await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:20.000000Z"), versions);
  assert.deepEqual(fake.takeCalls(), [`PUT ${replaced.metadata?.resourceVersion}`]);

  // 404: the Lease was deleted (e.g. with its Node).
  const before = versions.get("n1");
  fake.leases.delete("n1");
  const created = leaseOf(
    await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:30.000000Z"), versions),
  );
  assert.deepEqual(fake.takeCalls(), [`PUT ${before}`, "GET", "POST"]);
  assert.equal(versions.get("n1"), created.metadata?.resourceVersion);
  assert.equal(fake.leases.get("n1")?.spec?.holderIdentity, "n1");
});

Deno.test("a failed renewal throws and drops the cached Lease; the edge's resourceVersion is used when none is cached", async () => {
  const fake = new FakeLeases();
  const versions = new LeaseVersions();
  const deps = { coordination: fake.api };
  await renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:00.000000Z"), versions);
  const current = fake.leases.get("n1")?.metadata?.resourceVersion;
  fake.takeCalls();

  fake.failures.push(500);
  await assert.rejects(renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:10.000000Z"), versions));
  assert.deepEqual(fake.takeCalls(), [`PUT ${current}`], "a 500 is not retried here");
  assert.equal(versions.get("n1"), undefined);

  // No cache entry: the edge's resourceVersion is tried, as before.
  await renewLease(
    deps,
    "n1",
    renewal("n1", "2030-01-01T00:00:20.000000Z", { resourceVersion: current }),
    versions,
  );
  assert.deepEqual(fake.takeCalls(), [`PUT ${current}`]);
  // A 500 on the fallback's read also drops the entry.
  fake.bump("n1");
  fake.failures.push(409, 500);
  await assert.rejects(renewLease(deps, "n1", renewal("n1", "2030-01-01T00:00:30.000000Z"), versions));
  assert.equal(versions.get("n1"), undefined);
});

Deno.test("cached Lease versions are one per node and expire when a node stops renewing", () => {
  let now = 0;
  const versions = new LeaseVersions(1_000, () => now);
  versions.set("a", "1");
  versions.set("b", "2");
  versions.set("a", "3");
  assert.equal(versions.size, 2);
  assert.equal(versions.get("a"), "3");
  now = 600;
  versions.set("a", "4");
  now = 1_100;
  assert.equal(versions.get("b"), undefined, "b idle for 1,100 ms");
  assert.equal(versions.get("a"), "4");
  assert.equal(versions.size, 1);
  now = 1_700;
  assert.equal(versions.get("a"), undefined);
  assert.equal(versions.size, 0);
  versions.set("c", undefined);
  assert.equal(versions.size, 0, "no resourceVersion, no entry");
});

Deno.test("a lease query answers as KubeEdge's cloud: the Lease as ObjectResp, or a NotFound Status the edge can read", async () => {
  const fake = new FakeLeases();
  const api = fake.api as unknown as Parameters<typeof queryLease>[0]["coordination"];
  const query = newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "kube-node-lease/lease/edge-q",
    content: null,
  });
  const missing = await queryLease({ coordination: api }, "edge-q", query);
  // Replies go to the edge's meta handler: KubeEdge's edge routes by group and drops any group but resource.
  assert.deepEqual(missing.route, {
    source: "edgecontroller",
    group: "resource",
    operation: "response",
    resource: "kube-node-lease/lease/edge-q",
  });
  assert.equal(missing.header.parent_msg_id, query.header.msg_id);
  const err = (missing.content as { Err: { ErrStatus: { reason: string; code: number } } }).Err.ErrStatus;
  assert.deepEqual([err.reason, err.code], ["NotFound", 404]);

  await renewLease({ coordination: fake.api }, "edge-q", renewal("edge-q", "2026-01-01T00:00:00.000000Z"));
  const found = await queryLease({ coordination: api }, "edge-q", query);
  const content = found.content as { Object: V1Lease; Err: null };
  assert.equal(content.Err, null);
  assert.equal(content.Object.spec?.holderIdentity, "edge-q");
  assert.equal(found.header.resourceversion, content.Object.metadata?.resourceVersion);
});

Deno.test("with cloudStream on, a node status patch loses its addresses and kubelet port, and keeps the rest", () => {
  // As a KubeEdge edge's kubelet sends it: strategic-merge directives beside the lists.
  const patch: Record<string, unknown> = {
    status: {
      "$setElementOrder/addresses": [{ type: "InternalIP" }, { type: "Hostname" }],
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      "$setElementOrder/conditions": [{ type: "Ready" }],
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
  withoutEndpoints(patch);
  assert.deepEqual(patch, {
    status: {
      "$setElementOrder/conditions": [{ type: "Ready" }],
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
});
