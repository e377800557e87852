import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { limitRequests, priorityOf, TokenBucket } from "./rate_limit.ts";

Deno.test("the bucket lets burst requests through at once, then qps a second", async () => {
  const bucket = new TokenBucket({ qps: 20, burst: 5 });
  const started = performance.now();
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: 15 }, () => bucket.take().then(() => done.push(performance.now() - started))),
  );
  done.sort((a, b) => a - b);
  assert.ok(done[4]! < 30, `the first 5 at once: ${done[4]} ms`);
  // 10 more at 20/s: the last about 500 ms in.
  assert.ok(done[14]! >= 450 && done[14]! < 1500, `the 15th after ${done[14]} ms`);
  assert.equal(bucket.waited, 10);
});

Deno.test("node-liveness requests waiting behind others go first", async () => {
  const bucket = new TokenBucket({ qps: 50, burst: 1 });
  await bucket.take();
  const order: string[] = [];
  const waits = [
    ...Array.from({ length: 5 }, (_, i) => bucket.take("normal").then(() => order.push(`pod-${i}`))),
    bucket.take("node").then(() => order.push("lease")),
  ];
  await Promise.all(waits);
  assert.equal(order[0], "lease", order.join(","));
});

Deno.test("Leases in kube-node-lease and Node status are node-liveness requests", () => {
  assert.equal(
    priorityOf("https://a:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"),
    "node",
  );
  assert.equal(priorityOf("https://a:6443/api/v1/nodes/n1/status?fieldManager=x"), "node");
  assert.equal(priorityOf("https://a:6443/api/v1/namespaces/default/pods/p/status"), "normal");
  assert.equal(
    priorityOf("https://a:6443/apis/coordination.k8s.io/v1/namespaces/kubeedge/leases/x"),
    "normal",
  );
});

Deno.test("every request made with the kubeconfig takes a token first", async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  // A slow refill (one token per 500 ms), so a busy machine cannot refill one between the three requests.
  const bucket = limitRequests(kc, new TokenBucket({ qps: 2, burst: 2 }));
  assert.equal(limitRequests(kc, new TokenBucket({ qps: 1, burst: 1 })), bucket, "the first limiter stays");
  const { RequestContext, HttpMethod } = await import("@kubernetes/client-node");
  for (let i = 0; i < 3; i++) {
    await kc.applySecurityAuthentication(
      new RequestContext("https://127.0.0.1:1/api/v1/pods", HttpMethod.GET),
    );
  }
  assert.equal(bucket.waited, 1, "the third of three waited for a token");
});
