/**
 * The work bench/edge_footprint.ts gives an edge through its cloud: hostNetwork busybox pods bound to the
 * node, Devices of one DeviceModel whose twins a local MQTT client reports every second, and pod
 * create/delete cycles.
 */
import mqtt from "mqtt";
import type { Stack } from "./edge_footprint_stacks.ts";

const PODS = "/api/v1/namespaces/default/pods";
const DEVICES = "/apis/devices.kubeedge.io/v1beta1/namespaces/default";

export function podManifest(name: string, node: string, image: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "footprint" } },
    spec: {
      nodeName: node,
      hostNetwork: true,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "c", image, command: ["sh", "-c", "exec sleep 3600"] }],
    },
  };
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Creates pods fp-<from> .. fp-<to - 1> and resolves with the ms until all `to` pods of the node run. */
export async function addPods(stack: Stack, from: number, to: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const names = Array.from({ length: to - from }, (_, i) => `fp-${from + i}`);
  await pool(names, 5, async (name) => {
    await stack.kube.json("POST", PODS, podManifest(name, stack.node, stack.rt.images.busybox));
  });
  await stack.kube.until(
    `${to} pods Running on ${stack.label}`,
    async () => {
      const pods = await stack.kube.list(`${PODS}?labelSelector=app%3Dfootprint`);
      return pods.filter((p) => p.status?.phase === "Running").length >= to;
    },
    timeoutMs,
    1_000,
  );
  return Date.now() - started;
}

/** One pod created, Running, deleted and gone from the apiserver. */
export async function podCycle(stack: Stack, n: number, timeoutMs: number): Promise<void> {
  const name = `cycle-${n}`;
  const manifest = podManifest(name, stack.node, stack.rt.images.busybox);
  manifest.metadata.labels.app = "cycle";
  await stack.kube.json("POST", PODS, manifest);
  await stack.kube.until(
    `${name} Running`,
    async () => {
      const pod = await stack.kube.json<{ status?: { phase?: string } }>("GET", `${PODS}/${name}`);
      return pod.status?.phase === "Running";
    },
    timeoutMs,
    200,
  );
  await stack.kube.json("DELETE", `${PODS}/${name}`);
  await stack.kube.until(
    `${name} gone`,
    async () => (await stack.kube.raw("GET", `${PODS}/${name}`)).status === 404,
    timeoutMs,
    200,
  );
}

export const deviceName = (i: number) => `thermo-${i}`;

/** A DeviceModel and `count` Devices bound to the node, each with one INT property "temperature". */
export async function addDevices(stack: Stack, count: number): Promise<void> {
  await stack.kube.json("POST", `${DEVICES}/devicemodels`, {
    apiVersion: "devices.kubeedge.io/v1beta1",
    kind: "DeviceModel",
    metadata: { name: "thermometer", namespace: "default" },
    spec: { protocol: "modbus", properties: [{ name: "temperature", type: "INT", accessMode: "ReadWrite" }] },
  });
  const indexes = Array.from({ length: count }, (_, i) => i);
  await pool(indexes, 5, async (i) => {
    await stack.kube.json("POST", `${DEVICES}/devices`, {
      apiVersion: "devices.kubeedge.io/v1beta1",
      kind: "Device",
      metadata: { name: deviceName(i), namespace: "default" },
      spec: {
        deviceModelRef: { name: "thermometer" },
        nodeName: stack.node,
        protocol: { protocolName: "modbus" },
        properties: [{ name: "temperature", desired: { value: "20" }, reportToCloud: true }],
      },
    });
  });
}

/**
 * Publishes a reported temperature for each device once every `everyMs`, spread evenly over the period,
 * QoS 0, on the edge's built-in broker (`$hw/events/device/default/<name>/twin/update`); each value differs
 * from the one before.
 */
export class TwinReporter {
  #timer?: ReturnType<typeof setInterval>;
  #sent = 0;
  #failed = 0;
  private constructor(private readonly client: mqtt.MqttClient) {}

  static async start(stack: Stack, count: number, everyMs = 1_000): Promise<TwinReporter> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.mqttPort}`, {
      clientId: `footprint-${stack.label}`,
      reconnectPeriod: 1_000,
    });
    const reporter = new TwinReporter(client);
    let i = 0;
    reporter.#timer = setInterval(() => {
      const device = i % count;
      const value = String(20 + Math.floor(i / count) % 1000);
      i++;
      const body = JSON.stringify({
        event_id: crypto.randomUUID(),
        timestamp: Date.now(),
        twin: { temperature: { actual: { value }, metadata: { type: "int" } } },
      });
      client.publishAsync(`$hw/events/device/default/${deviceName(device)}/twin/update`, body, { qos: 0 })
        .then(() => reporter.#sent++, () => reporter.#failed++);
    }, everyMs / count);
    return reporter;
  }

  get sent(): number {
    return this.#sent;
  }

  get failed(): number {
    return this.#failed;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.client.endAsync(true).catch(() => {});
  }
}
