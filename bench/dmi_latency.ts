// Report latency, DMI against MQTT in the same run: a reported value from a mapper (DMI ReportDeviceStatus on
// edgecore's dmi.sock, gRPC over a unix socket) and from an MQTT client (`$hw/events/device/<ns>/<name>/twin/update`
// on edgecore's built-in broker) -> Device.status.twins[].reported in the apiserver, seen by a watch; p50/p99.
// Real processes: a test control plane, bin/cloudcore, a joined bin/edgecore. The mapper side is a grpc-js
// client speaking DMI v1beta1 (the same messages the mapper-framework sends), so that the time of each report
// is known.
//
//   bin/deno run --frozen --allow-all bench/dmi_latency.ts [--updates 100] [--devices 5]
//
// Updates alternate between the two paths, round-robin over --devices devices per path, each device at most
// once per 1.05 s, so no report waits for the cloud's one-write-per-second-per-device coalescing.
import { join } from "node:path";
import { parse } from "yaml";
import mqtt from "mqtt";
import { CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { createRunDir, startControlPlane } from "../tests/cluster/mod.ts";
import { joinEdge, startCloud, startEdge } from "../tests/harness/kedge.ts";
import { dmiServicesForTests } from "../tests/mapper/dmi_client.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const UPDATES = flag("updates", 100);
const DEVICES = flag("devices", 5);
const NODE = "bench-edge";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await using cp = await startControlPlane();
const run = await createRunDir("bench-dmi");
const stops: Array<() => Promise<void>> = [];
try {
  const cloud = await startCloud(run, cp);
  stops.push(() => cloud.stop());
  const joined = await joinEdge(run, cloud, NODE);
  const config = parse(await Deno.readTextFile(joined.configFile));
  const brokerUrl = config.modules.eventBus.mqttServerInternal;
  const dmiSock = join(config.modules.deviceTwin.dmiSockPath, "dmi.sock");
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
      spec: { protocol: "bench", properties: [{ name: "temperature", type: "INT", accessMode: "ReadOnly" }] },
    },
  });
  const paths = ["dmi", "mqtt"] as const;
  const names = (path: string) => Array.from({ length: DEVICES }, (_, i) => `${path}-${i}`);
  for (const path of paths) {
    for (const name of names(path)) {
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
            protocol: { protocolName: "bench" },
            properties: [{ name: "temperature", reportToCloud: true }],
          },
        },
      });
    }
  }

  // The test control plane ends watches after a short while on purpose: the watch is started again.
  const seen = new Map<string, Array<{ value: number; at: number }>>();
  let watching = true;
  let current: AbortController | undefined;
  const startWatch = async (): Promise<void> => {
    current = await new Watch(kc).watch(
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
      () => void (watching && startWatch()),
    );
  };
  await startWatch();

  const client = await mqtt.connectAsync(brokerUrl.replace(/^tcp:/, "mqtt:"), { clientId: "bench-dmi" });
  const dmi = dmiServicesForTests(dmiSock);
  const send = {
    mqtt: async (name: string, value: number) => {
      await client.publishAsync(
        `$hw/events/device/default/${name}/twin/update`,
        JSON.stringify({
          event_id: `e${value}`,
          timestamp: Date.now(),
          twin: { temperature: { actual: { value: String(value) } } },
        }),
      );
    },
    dmi: async (name: string, value: number) => {
      const error = await dmi.reportStatus({
        deviceName: name,
        deviceNamespace: "default",
        reportedDevice: {
          twins: [{ propertyName: "temperature", reported: { value: String(value), metadata: {} } }],
        },
      });
      if (error) throw new Error(`Cannot report ${name}: ${error.details}`);
    },
  };
  // Every device a member of the edge (the DMI report is refused until then).
  for (const path of paths) {
    for (const name of names(path)) {
      for (let i = 0;; i++) {
        const ok = await send.dmi(name, 1).then(() => true, () => false);
        if (ok) break;
        if (i > 300) throw new Error(`Cannot benchmark: the edge never held ${name}`);
        await sleep(100);
      }
    }
  }
  await sleep(1500);

  const visible = async (name: string, value: number, since: number, timeoutMs = 15_000): Promise<number> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = seen.get(name)?.find((s) => s.value >= value && s.at >= since);
      if (hit) return hit.at - since;
      if (performance.now() > deadline) throw new Error(`Cannot see ${name}=${value} in Device.status`);
      await sleep(2);
    }
  };

  const results: Record<(typeof paths)[number], number[]> = { dmi: [], mqtt: [] };
  const lastSent = new Map<string, number>();
  for (let i = 0; i < UPDATES * 2; i++) {
    const path = paths[i % 2]!;
    const name = names(path)[Math.floor(i / 2) % DEVICES]!;
    const wait = (lastSent.get(name) ?? -Infinity) + 1050 - performance.now();
    if (wait > 0) await sleep(wait);
    const value = 1000 + i;
    const started = performance.now();
    lastSent.set(name, started);
    await send[path](name, value);
    results[path].push(await visible(name, value, started));
  }

  const row = (label: string, v: number[]) =>
    `| ${label} | ${v.length} | ${percentile(v, 50).toFixed(1)} | ${percentile(v, 99).toFixed(1)} | ${
      Math.max(...v).toFixed(1)
    } |`;
  console.log(
    `\nReport on the box -> Device.status (watch), ${DEVICES} devices per path, alternating, loopback, 2 cores\n`,
  );
  console.log("| path | updates | p50 ms | p99 ms | max ms |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(row("DMI ReportDeviceStatus (gRPC, unix socket)", results.dmi));
  console.log(row("MQTT twin/update (built-in broker)", results.mqtt));
  watching = false;
  current?.abort();
  dmi.close();
  await client.endAsync();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await run.remove();
}
