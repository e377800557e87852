// Router rest -> eventbus: HTTP POSTs to cloudcore's rest endpoint (`/{node}/{namespace}/{path}`) published on
// the box's MQTT topic by edgecore, received by an MQTT client on edgecore's built-in broker. Real processes:
// a test control plane, bin/cloudcore with modules.router, a joined bin/edgecore; the rule applied through
// the apiserver.
//
//   bin/deno run --frozen --allow-all bench/router.ts [--sequential 300] [--messages 5000] [--concurrency 16]
//
// Two runs:
//  - sequential: one POST at a time; latency from the POST's start to the MQTT message (p50/p99), and the
//    POST's own answer time (200 "message delivered" once the node's session took it);
//  - loaded: --messages POSTs from --concurrency callers at once; messages/s received on the box and the
//    end-to-end p50/p99 under that load.
import { parse } from "yaml";
import mqtt from "mqtt";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { createRunDir, freePort, startControlPlane } from "../tests/cluster/mod.ts";
import { joinEdge, metric, startCloud, startEdge } from "../tests/harness/kedge.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const SEQUENTIAL = flag("sequential", 300);
const MESSAGES = flag("messages", 5000);
const CONCURRENCY = flag("concurrency", 16);
const NODE = "bench-edge";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number) => `${v.toFixed(1)} ms`;

await using cp = await startControlPlane();
const run = await createRunDir("bench-router");
const stops: Array<() => Promise<void>> = [];
try {
  const routerPort = freePort();
  const cloud = await startCloud(run, cp, {
    router: { enable: true, address: "127.0.0.1", port: routerPort },
  });
  stops.push(() => cloud.stop());
  const joined = await joinEdge(run, cloud, NODE);
  const brokerUrl = parse(await Deno.readTextFile(joined.configFile)).modules.eventBus.mqttServerInternal;
  const edge = await startEdge(run, joined);
  stops.push(() => edge.stop());
  await edge.waitForLog("connected to cloudcore", 30_000);

  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const api = kc.makeApiClient(CustomObjectsApi);
  const G = { group: "rules.kubeedge.io", version: "v1", namespace: "default" };
  for (const [name, type] of [["my-rest", "rest"], ["my-eventbus", "eventbus"]]) {
    await api.createNamespacedCustomObject({
      ...G,
      plural: "ruleendpoints",
      body: {
        apiVersion: "rules.kubeedge.io/v1",
        kind: "RuleEndpoint",
        metadata: { name },
        spec: { ruleEndpointType: type },
      },
    });
  }
  await api.createNamespacedCustomObject({
    ...G,
    plural: "rules",
    body: {
      apiVersion: "rules.kubeedge.io/v1",
      kind: "Rule",
      metadata: { name: "bench" },
      spec: {
        source: "my-rest",
        sourceResource: { path: "/in" },
        target: "my-eventbus",
        targetResource: { topic: "bench/in" },
      },
    },
  });

  const received = new Map<string, number>();
  const client = await mqtt.connectAsync(brokerUrl.replace(/^tcp:/, "mqtt:"), { clientId: "bench-router" });
  await client.subscribeAsync("bench/in");
  client.on("message", (_topic, payload) => received.set(payload.toString(), performance.now()));
  const url = `http://127.0.0.1:${routerPort}/${NODE}/default/in`;
  const send = async (id: string) => {
    const res = await fetch(url, { method: "POST", body: id });
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`Cannot benchmark: POST answered ${res.status}`);
  };
  const arrival = async (id: string, timeoutMs = 10_000): Promise<number> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = received.get(id);
      if (at !== undefined) return at;
      if (performance.now() > deadline) throw new Error(`Cannot see message ${id} on the box`);
      await sleep(1);
    }
  };
  // Until the rule is routed.
  for (let i = 0;; i++) {
    const res = await fetch(url, { method: "POST", body: `warm-${i}` });
    await res.body?.cancel();
    if (res.status === 200) break;
    if (i > 200) throw new Error("Cannot benchmark: the rule was never routed");
    await sleep(100);
  }
  for (let i = 0; i < 50; i++) await send(`warm2-${i}`);

  // Sequential.
  const e2e: number[] = [];
  const answer: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const id = `s-${i}`;
    const start = performance.now();
    await send(id);
    answer.push(performance.now() - start);
    e2e.push(await arrival(id) - start);
  }

  // Loaded.
  const started = new Map<string, number>();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < MESSAGES) {
      const id = `l-${next++}`;
      started.set(id, performance.now());
      await send(id);
    }
  }));
  const sentAt = performance.now();
  const loaded: number[] = [];
  let last = 0;
  for (const [id, start] of started) {
    const at = await arrival(id);
    loaded.push(at - start);
    last = Math.max(last, at);
  }
  const seconds = (last - t0) / 1000;
  await sleep(2500);
  const status = await api.getNamespacedCustomObject({ ...G, plural: "rules", name: "bench" }) as {
    status?: { successMessages?: number };
  };
  const writes = await metric(cloud.ports.metrics, "kedge_cloud_router_status_writes_total");
  console.log(`sequential, ${SEQUENTIAL} POSTs one at a time:`);
  console.log(
    `  POST -> MQTT message on the box  p50 ${ms(percentile(e2e, 50))}  p99 ${ms(percentile(e2e, 99))}`,
  );
  console.log(
    `  POST answered (200)              p50 ${ms(percentile(answer, 50))}  p99 ${ms(percentile(answer, 99))}`,
  );
  console.log(`loaded, ${MESSAGES} POSTs from ${CONCURRENCY} callers:`);
  console.log(
    `  ${(MESSAGES / seconds).toFixed(0)} messages/s received on the box (all sent in ${
      ((sentAt - t0) / 1000).toFixed(2)
    } s, all received in ${seconds.toFixed(2)} s)`,
  );
  console.log(
    `  POST -> MQTT message on the box  p50 ${ms(percentile(loaded, 50))}  p99 ${ms(percentile(loaded, 99))}`,
  );
  console.log(`Rule.status.successMessages ${status.status?.successMessages} (status writes: ${writes})`);
  await client.endAsync();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}
