import assert from "node:assert/strict";
import { createCa, issueCertificate } from "../../lib/pki/mod.ts";
import {
  callerOf,
  type KubeletAttributes,
  KubeletAuthorizer,
  subresourceOf,
  verbOf,
} from "./kubelet_authz.ts";

Deno.test("kubelet paths map to the kubelet's subresources and methods to its verbs", () => {
  assert.equal(subresourceOf("/stats/summary"), "stats");
  assert.equal(subresourceOf("/stats"), "stats");
  assert.equal(subresourceOf("/metrics/cadvisor"), "metrics");
  assert.equal(subresourceOf("/logs/"), "log");
  assert.equal(subresourceOf("/containerLogs/default/p/c?follow=true"), "proxy");
  assert.equal(subresourceOf("/exec/default/p/c?command=ls"), "proxy");
  assert.equal(subresourceOf("/statsx"), "proxy", "a prefix is a whole path segment");
  assert.equal(verbOf("GET"), "get");
  assert.equal(verbOf("POST"), "create");
  assert.equal(verbOf("OPTIONS"), undefined);
});

Deno.test("the caller is the certificate's CN and O", async () => {
  const ca = await createCa({ commonName: "ca" });
  const leaf = await issueCertificate({
    ca,
    commonName: "alice",
    organizations: ["devs", "ops"],
    usages: ["client"],
  });
  assert.deepEqual(callerOf(new Uint8Array(leaf.cert.rawData)), {
    user: "alice",
    groups: ["devs", "ops"],
  });
  assert.equal(callerOf(undefined), undefined);
  assert.equal(callerOf(new Uint8Array([1, 2, 3])), undefined);
});

Deno.test("answers are asked once, cached (allowed longer than denied), and an error is never cached", async () => {
  let now = 0;
  const asked: KubeletAttributes[] = [];
  let fail = false;
  const authorizer = new KubeletAuthorizer({
    review: (a) => {
      asked.push(a);
      if (fail) return Promise.reject(new Error("apiserver down"));
      return Promise.resolve({
        allowed: a.user === "admin",
        reason: a.user === "admin" ? "" : "no RBAC rule",
      });
    },
    allowedTtlMs: 300_000,
    deniedTtlMs: 30_000,
    now: () => now,
  });
  const admin = { user: "admin", groups: ["system:masters"] };
  const alice = { user: "alice", groups: [] };
  assert.deepEqual(await authorizer.authorize(admin, "GET", "/containerLogs/a/b/c", "n1"), { allowed: true });
  const [first] = await Promise.all([
    authorizer.authorize(alice, "POST", "/exec/a/b/c", "n1"),
    authorizer.authorize(alice, "POST", "/exec/a/b/c", "n1"),
  ]);
  assert.ok(
    !first.allowed && first.status === 403 &&
      /user=alice, verb=create.*subresource=proxy.*no RBAC/.test(first.message),
  );
  assert.equal(asked.length, 2, "concurrent questions are one review");
  assert.deepEqual(asked[1], { user: "alice", groups: [], verb: "create", subresource: "proxy", node: "n1" });
  now = 29_000;
  await authorizer.authorize(alice, "POST", "/exec/a/b/c", "n1");
  await authorizer.authorize(admin, "GET", "/containerLogs/a/b/c", "n1");
  assert.equal(asked.length, 2, "both still cached");
  now = 31_000;
  await authorizer.authorize(alice, "POST", "/exec/a/b/c", "n1");
  assert.equal(asked.length, 3, "the denial expired after 30 s");
  fail = true;
  const error = await authorizer.authorize(alice, "GET", "/stats/summary", "n1");
  assert.ok(!error.allowed && error.status === 500);
  fail = false;
  assert.ok(!(await authorizer.authorize(alice, "GET", "/stats/summary", "n1")).allowed);
  assert.equal(asked.length, 5, "the failed review was asked again");
  const bad = await authorizer.authorize(undefined, "GET", "/stats", "n1");
  assert.ok(!bad.allowed && bad.status === 403);
  const odd = await authorizer.authorize(admin, "OPTIONS", "/stats", "n1");
  assert.ok(!odd.allowed && odd.status === 403, "a method the kubelet has no verb for is refused");
});
