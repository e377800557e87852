// Twin latency: a reported value published on the box (MQTT `$hw/events/device/<ns>/<name>/twin/update` on
// edgecore's built-in broker) -> Device.status.twins[].reported in the apiserver (seen by a watch), p50/p99.
// Real processes: a test control plane, bin/cloudcore, a joined bin/edgecore.
//
//   bin/deno run --frozen --allow-all bench/twin_latency.ts [--updates 100] [--devices 10] [--burst-ms 20]
//
// Two runs:
//  - spaced: updates round-robin over --devices devices, each device at most once per 1.05 s, so no report
//    waits for the cloud's one-write-per-second-per-device coalescing: the pipeline's own latency;
//  - burst: --updates updates of one device, one every --burst-ms: an update counts as seen when a status
//    with it or a later value appears (latest wins), so this shows what coalescing costs.
import { parse } from "yaml";
import mqtt from "mqtt";
import { CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { createRunDir, startControlPlane } from "../tests/cluster/mod.ts";
import { joinEdge, metric, startCloud, startEdge } from "../tests/harness/kedge.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const UPDATES = flag("updates", 100);
const DEVICES = flag("devices", 10);
const BURST_MS = flag("burst-ms", 20);
const NODE = "bench-edge";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await using cp = await startControlPlane();
const run = await createRunDir("bench-twin");
const stops: Array<() => Promise<void>> = [];
try {
  const cloud = await startCloud(run, cp);
  stops.push(() => cloud.stop());
  const joined = await joinEdge(run, cloud, NODE);
  const brokerUrl = parse(await Deno.readTextFile(joined.configFile)).modules.eventBus.mqttServerInternal;
  const edge = await startEdge(run, joined);
  stops.push(() => edge.stop());
  await edge.waitForLog("connected to cloudcore", 30_000);

  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const api = kc.makeApiClient(CustomObjectsApi);
  const G = { group: "devices.kubeedge.io", version: "v1beta1", namespace: "default" };
  await api.createNamespacedCustomObject({
    ...G,
    plural: "devicemodels",
    body: {
      apiVersion: "devices.kubeedge.io/v1beta1",
      kind: "DeviceModel",
      metadata: { name: "thermometer" },
      spec: { protocol: "modbus", properties: [{ name: "temperature", type: "INT" }] },
    },
  });
  const names = Array.from({ length: DEVICES }, (_, i) => `thermo-${i}`);
  for (const name of names) {
    await api.createNamespacedCustomObject({
      ...G,
      plural: "devices",
      body: {
        apiVersion: "devices.kubeedge.io/v1beta1",
        kind: "Device",
        metadata: { name },
        spec: {
          deviceModelRef: { name: "thermometer" },
          nodeName: NODE,
          properties: [{ name: "temperature" }],
        },
      },
    });
  }

  // Every status change as the apiserver's watch delivers it: device -> (value -> first time seen).
  const seen = new Map<string, Array<{ value: number; at: number }>>();
  const watch = await new Watch(kc).watch(
    "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices",
    {},
    (
      _type: string,
      obj: {
        metadata: { name: string };
        status?: { twins?: Array<{ propertyName: string; reported?: { value: string } }> };
      },
    ) => {
      const value = obj.status?.twins?.find((t) => t.propertyName === "temperature")?.reported?.value;
      if (value === undefined) return;
      const list = seen.get(obj.metadata.name) ?? [];
      list.push({ value: Number(value), at: performance.now() });
      seen.set(obj.metadata.name, list);
    },
    () => {},
  );

  const client = await mqtt.connectAsync(brokerUrl.replace(/^tcp:/, "mqtt:"), { clientId: "bench-twin" });
  // Wait until the edge holds every device.
  await client.subscribeAsync(`$hw/events/node/${NODE}/membership/get/result`);
  const members = new Promise<void>((resolve) => {
    client.on("message", (_topic, payload) => {
      const devices = JSON.parse(payload.toString()).devices ?? [];
      if (devices.length >= DEVICES) resolve();
    });
  });
  let joinedAll = false;
  void members.then(() => joinedAll = true);
  for (let i = 0; !joinedAll; i++) {
    if (i > 300) throw new Error("Cannot benchmark: the edge never held every device");
    await client.publishAsync(
      `$hw/events/node/${NODE}/membership/get`,
      JSON.stringify({ event_id: `m${i}` }),
    );
    await sleep(100);
  }

  const publish = (name: string, value: number) =>
    client.publishAsync(
      `$hw/events/device/default/${name}/twin/update`,
      JSON.stringify({
        event_id: `e${value}`,
        timestamp: Date.now(),
        twin: { temperature: { actual: { value: String(value) } } },
      }),
    );
  const visible = async (name: string, value: number, since: number, timeoutMs = 15_000): Promise<number> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = seen.get(name)?.find((s) => s.value >= value && s.at >= since);
      if (hit) return hit.at - since;
      if (performance.now() > deadline) throw new Error(`Cannot see ${name}=${value} in Device.status`);
      await sleep(2);
    }
  };

  // Spaced.
  const spaced: number[] = [];
  const lastSent = new Map<string, number>();
  for (let i = 0; i < UPDATES; i++) {
    const name = names[i % DEVICES]!;
    const wait = (lastSent.get(name) ?? -Infinity) + 1050 - performance.now();
    if (wait > 0) await sleep(wait);
    const value = 1000 + i;
    const started = performance.now();
    lastSent.set(name, started);
    await publish(name, value);
    spaced.push(await visible(name, value, started));
  }

  // Burst.
  const writesBefore =
    (await metric(cloud.ports.metrics, 'kedge_cloud_device_status_writes_total{result="ok"}')) ?? 0;
  const burst: Array<Promise<number>> = [];
  await sleep(1100);
  for (let i = 0; i < UPDATES; i++) {
    const value = 100_000 + i;
    const started = performance.now();
    await publish(names[0]!, value);
    burst.push(visible(names[0]!, value, started));
    await sleep(BURST_MS);
  }
  const burstMs = await Promise.all(burst);
  await sleep(1500);
  const text = await (await fetch(`http://127.0.0.1:${cloud.ports.metrics}/metrics`)).text();
  const writes = Number(/kedge_cloud_device_status_writes_total\{result="ok"\} (\d+)/.exec(text)?.[1] ?? 0);

  const row = (label: string, v: number[]) =>
    `| ${label} | ${v.length} | ${percentile(v, 50).toFixed(1)} | ${percentile(v, 99).toFixed(1)} | ${
      Math.max(...v).toFixed(1)
    } |`;
  console.log(`\nTwin update on the box -> Device.status (watch), ${DEVICES} devices, loopback, 2 cores\n`);
  console.log("| run | updates | p50 ms | p99 ms | max ms |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(row(`spaced (each device <= 1/1.05 s)`, spaced));
  console.log(row(`burst (1 device, every ${BURST_MS} ms)`, burstMs));
  console.log(`\nburst: ${UPDATES} reports -> ${writes - writesBefore} status writes`);
  watch.abort();
  await client.endAsync();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await run.remove();
}
