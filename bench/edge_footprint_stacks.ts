/**
 * The two stacks bench/edge_footprint.ts compares, each on its own control plane (with controllers and
 * scheduler) and its own containerd: kedge's cloudcore + edgecore (tests/harness: bin/cloudcore, `edgecore
 * join`, bin/edgecore run with the real permission flags), and KubeEdge v1.23.1's cloudcore + edgecore
 * (tests/kubeedge). Both edges run their built-in MQTT broker (mqttMode 0), device twin and MetaServer;
 * neither runs the stream tunnel.
 */
import { parse } from "yaml";
import { createRunDir, freePort, startControlPlane } from "../tests/cluster/mod.ts";
import type { ControlPlane, RunDir, Spawned } from "../tests/cluster/mod.ts";
import { startTestRuntime, type TestRuntime } from "../tests/containerd/mod.ts";
import { joinEdge, startCloud, startEdge } from "../tests/harness/kedge.ts";
import { type KubeEdgeBinaries, startKubeEdgeCloud } from "../tests/kubeedge/cloud.ts";
import { startKubeEdgeEdge } from "../tests/kubeedge/edge.ts";
import { Kube } from "./soak_kube.ts";
import { scrape } from "./soak_sampler.ts";

export interface Stack {
  readonly label: string;
  readonly node: string;
  readonly kube: Kube;
  readonly rt: TestRuntime;
  readonly mqttPort: number;
  /** The running agent's pid (for kedge the deno process: bin/edgecore and bin/deno exec it). */
  agentPid(): number;
  /** Starts the agent; resolves with the ms from its process start to the log line saying it connected. */
  startAgent(): Promise<number>;
  stopAgent(): Promise<void>;
  /** The file the agent's log goes to (each start appends). */
  readonly agentLog: string;
  /** kedge only: V8 heap in use now and its lowest value since the previous call (its /metrics). */
  heap?(): Promise<
    { used: number; min: number; spaces: Record<string, number>; gcSeconds?: number } | undefined
  >;
  /** Devices whose reported twin reached the apiserver (KubeEdge v1.23: in their DeviceStatus). */
  reportedDevices(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Wall-clock ms at which a process started (its exec'd images keep the time of the fork): its start in
 * clock ticks since boot, plus the boot time. The boot time is now minus /proc/uptime (10 ms steps), not
 * /proc/stat's btime: btime is whole seconds, cut down, so every start looked later by the fraction of a
 * second the machine booted at (0.99 s on the machine of the 2026-12-06 runs: bench/README.md).
 */
export function startedAt(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  const uptimeS = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
  const bootMs = Date.now() - uptimeS * 1000;
  return bootMs + ticks * 10; // USER_HZ
}

const fileSize = (path: string) => {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
};

/** The wall-clock ms of the first line after byte `offset` of `file` that `parseTime` dates (it matched). */
async function lineTime(
  file: string,
  offset: number,
  parseTime: (line: string) => number | undefined,
  exited: () => boolean,
  timeoutMs = 120_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = new TextDecoder().decode(
      (await Deno.readFile(file).catch(() => new Uint8Array())).slice(offset),
    );
    for (const line of text.split("\n")) {
      const at = parseTime(line);
      if (at !== undefined) return at;
    }
    if (exited()) throw new Error(`Cannot time the connection: the agent exited (see ${file})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Cannot time the connection: no such line in ${file} within ${timeoutMs} ms`);
}

/** klog's "I1206 03:31:00.130446 ..." in local time, this year. */
function klogTime(line: string): number {
  const m = /^[IWE](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line)!;
  const [mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(new Date().getFullYear(), mo - 1, d, h, mi, s, ms).getTime();
}

/** An agent process that can be started again: its connection timed from its log, which each start appends to. */
function agent(
  logFile: string,
  spawn: () => Promise<Spawned>,
  connectedAt: (line: string) => number | undefined,
): Pick<Stack, "agentPid" | "startAgent" | "stopAgent" | "agentLog"> {
  let process: Spawned | undefined;
  return {
    agentLog: logFile,
    agentPid: () => process!.pid,
    async startAgent() {
      const offset = fileSize(logFile);
      const started = await spawn();
      process = started;
      let exited = false;
      started.status.then(() => exited = true);
      return await lineTime(logFile, offset, connectedAt, () => exited) - startedAt(started.pid);
    },
    async stopAgent() {
      await process?.stop();
    },
  };
}

async function base(label: string): Promise<{ cp: ControlPlane; rt: TestRuntime; run: RunDir; kube: Kube }> {
  const cp = await startControlPlane({ controllers: true });
  const rt = await startTestRuntime(`footprint-${label}`).catch(async (error) => {
    await cp.stop();
    throw error;
  });
  const run = await createRunDir(`footprint-${label}`);
  return { cp, rt, run, kube: new Kube(cp) };
}

function teardown(
  parts: { cp: ControlPlane; rt: TestRuntime; run: RunDir; kube: Kube },
  stops: Array<() => Promise<void>>,
) {
  return async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    parts.kube.close();
    await parts.run.remove();
    await parts.rt.stop();
    await parts.cp.stop();
  };
}

export async function startKedgeStack(node: string): Promise<Stack> {
  const parts = await base("kedge");
  const { cp, rt, run, kube } = parts;
  const stops: Array<() => Promise<void>> = [];
  const stop = teardown(parts, stops);
  try {
    const cloud = await startCloud(run, cp);
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, node, (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
      config.modules!.edged!.podSandboxImage = rt.images.pause;
    });
    const config = parse(await Deno.readTextFile(joined.configFile));
    const mqttPort = Number(/:(\d+)$/.exec(config.modules.eventBus.mqttServerInternal)![1]);
    const kubeletPort = Number(String(config.modules.edgeStream.server).split(":").pop());
    const edge = agent(
      `${run.path}/${node}-run.log`,
      () => startEdge(run, joined),
      (line) => line.includes('"connected to cloudcore"') ? Date.parse(JSON.parse(line).time) : undefined,
    );
    stops.push(() => edge.stopAgent());
    return {
      label: "kedge",
      node,
      kube,
      rt,
      mqttPort,
      ...edge,
      async heap() {
        const metrics = await scrape(kubeletPort);
        const used = metrics?.get("kedge_edge_js_heap_used_bytes");
        const min = metrics?.get("kedge_edge_js_heap_used_min_bytes");
        if (used === undefined || min === undefined) return undefined;
        const spaces = metrics ? heapSpaces(metrics) : {};
        return { used, min, spaces, gcSeconds: metrics?.get("kedge_edge_forced_gc_seconds") };
      },
      async reportedDevices() {
        const devices = await kube.list("/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices");
        return devices.filter((d) => hasReported(d.status)).length;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startKubeEdgeStack(node: string, bins: KubeEdgeBinaries): Promise<Stack> {
  const parts = await base("kubeedge");
  const { cp, rt, run, kube } = parts;
  const stops: Array<() => Promise<void>> = [];
  const stop = teardown(parts, stops);
  try {
    const cloud = await startKubeEdgeCloud(run, cp, bins, { deviceController: true });
    stops.push(() => cloud.stop());
    const mqttPort = freePort();
    const metaPort = freePort();
    const edge = agent(
      `${run.path}/kubeedge-${node}.log`,
      // Verbosity 0, as KubeEdge's edgecore.service runs it (the tests use 2).
      () =>
        startKubeEdgeEdge(run, bins, { ...cloud.ports, token: cloud.token }, rt, node, {
          verbosity: 0,
          overrides: (m) => {
            m.eventBus = {
              ...m.eventBus,
              enable: true,
              mqttMode: 0,
              mqttServerInternal: `tcp://127.0.0.1:${mqttPort}`,
            };
            m.deviceTwin = { ...m.deviceTwin, enable: true };
            m.metaManager = {
              ...m.metaManager,
              metaServer: { enable: true, server: `127.0.0.1:${metaPort}` },
            };
          },
        }),
      (line) => line.includes("Websocket connect to cloud access successful") ? klogTime(line) : undefined,
    );
    stops.push(() => edge.stopAgent());
    return {
      label: "KubeEdge",
      node,
      kube,
      rt,
      mqttPort,
      ...edge,
      async reportedDevices() {
        const statuses = await kube.list(
          "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devicestatuses",
        );
        return statuses.filter((d) => hasReported(d.status)).length;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function hasReported(status: Record<string, unknown> | undefined): boolean {
  const twins = (status?.twins ?? []) as Array<{ reported?: { value?: string } }>;
  return twins.some((t) => t.reported?.value !== undefined && t.reported.value !== "");
}

/** Bytes V8 holds per heap space (kedge_edge_js_heap_space_bytes of="size"), keyed by space name. */
function heapSpaces(metrics: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of metrics) {
    if (!series.startsWith("kedge_edge_js_heap_space_bytes{") || !series.includes('of="size"')) continue;
    const space = /space="([^"]*)"/.exec(series)?.[1];
    if (space) out[space] = value;
  }
  return out;
}

/** Resolves once the stack's Node is Ready in its apiserver (3 minutes at most). */
export const nodeReady = (s: Stack) =>
  s.kube.until(
    `${s.node} Ready`,
    async () => {
      const node = await s.kube.json<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        "GET",
        `/api/v1/nodes/${s.node}`,
      );
      return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    },
    180_000,
    500,
  );
