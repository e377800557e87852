// /stats/summary (the kubelet's stats/v1alpha1 Summary) and /metrics/resource (its Prometheus form), from
// CRI ListContainerStats for containers and pods, and /proc for the node.
import type { ContainerStats, CriClient } from "../cri/mod.ts";
import type { LocalPods } from "./pod_lookup.ts";

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}
export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}
export interface ContainerSummary {
  name: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
  rootfs?: { time: string; usedBytes?: number; inodesUsed?: number };
}
export interface PodSummary {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerSummary[];
  cpu?: CpuStats;
  memory?: MemoryStats;
}
export interface Summary {
  node: { nodeName: string; startTime: string; cpu: CpuStats; memory: MemoryStats };
  pods: PodSummary[];
}

const POD_UID = "io.kubernetes.pod.uid";
const USER_HZ_NS = 1e9 / 100;

/** Node CPU and memory from /proc; usageNanoCores from the change since the previous call. */
export class NodeStatsReader {
  #last?: { at: number; usage: number };
  readonly bootTime: string;
  constructor() {
    const btime = /^btime (\d+)$/m.exec(readOr("/proc/stat"))?.[1];
    this.bootTime = new Date(btime ? Number(btime) * 1000 : Date.now()).toISOString();
  }
  read(): { cpu: CpuStats; memory: MemoryStats } {
    const now = Date.now();
    const time = new Date(now).toISOString();
    const fields = (/^cpu\s+(.*)$/m.exec(readOr("/proc/stat"))?.[1] ?? "").trim().split(/\s+/).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const usage = (total - idle) * USER_HZ_NS;
    const cpu: CpuStats = { time, usageCoreNanoSeconds: usage };
    if (this.#last && now > this.#last.at) {
      cpu.usageNanoCores = Math.max(
        0,
        Math.round((usage - this.#last.usage) / ((now - this.#last.at) / 1000)),
      );
    }
    this.#last = { at: now, usage };
    const info = readOr("/proc/meminfo");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(info)?.[1] ?? 0) * 1024;
    const totalBytes = kib("MemTotal");
    const available = kib("MemAvailable");
    const memory: MemoryStats = {
      time,
      availableBytes: available,
      usageBytes: totalBytes - kib("MemFree"),
      workingSetBytes: totalBytes - available,
    };
    return { cpu, memory };
  }
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

const iso = (ns: number) => new Date(Math.floor(ns / 1e6)).toISOString();

function containerSummary(stats: ContainerStats, startTime: string): ContainerSummary {
  const summary: ContainerSummary = { name: stats.attributes?.metadata?.name ?? "", startTime };
  if (stats.cpu) {
    summary.cpu = {
      time: iso(stats.cpu.timestamp),
      usageCoreNanoSeconds: stats.cpu.usageCoreNanoSeconds?.value,
      usageNanoCores: stats.cpu.usageNanoCores?.value,
    };
  }
  if (stats.memory) {
    const m = stats.memory;
    summary.memory = {
      time: iso(m.timestamp),
      availableBytes: m.availableBytes?.value,
      usageBytes: m.usageBytes?.value,
      workingSetBytes: m.workingSetBytes?.value,
      rssBytes: m.rssBytes?.value,
      pageFaults: m.pageFaults?.value,
      majorPageFaults: m.majorPageFaults?.value,
    };
  }
  if (stats.writableLayer) {
    summary.rootfs = {
      time: iso(stats.writableLayer.timestamp),
      usedBytes: stats.writableLayer.usedBytes?.value,
      inodesUsed: stats.writableLayer.inodesUsed?.value,
    };
  }
  return summary;
}

const sum = (values: (number | undefined)[]) =>
  values.some((v) => v !== undefined) ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : undefined;

export async function collectSummary(
  cri: CriClient,
  pods: LocalPods,
  nodeName: string,
  node: NodeStatsReader,
): Promise<Summary> {
  const [all, containers] = await Promise.all([cri.listContainerStats(), cri.listContainers()]);
  const created = new Map(containers.map((c) => [c.id, iso(c.createdAt)]));
  const byPod = new Map<string, ContainerStats[]>();
  for (const stats of all) {
    const uid = stats.attributes?.labels[POD_UID];
    if (!uid) continue;
    byPod.set(uid, [...(byPod.get(uid) ?? []), stats]);
  }
  const out: PodSummary[] = [];
  for (const pod of pods.pods()) {
    const uid = pod.metadata.uid ?? "";
    const status = pods.status(uid);
    const startTime = status?.startTime ?? new Date().toISOString();
    const list = (byPod.get(uid) ?? []).map((s) =>
      containerSummary(s, created.get(s.attributes?.id ?? "") ?? startTime)
    );
    const time = new Date().toISOString();
    out.push({
      podRef: { name: pod.metadata.name, namespace: pod.metadata.namespace ?? "default", uid },
      startTime,
      containers: list,
      cpu: {
        time,
        usageCoreNanoSeconds: sum(list.map((c) => c.cpu?.usageCoreNanoSeconds)),
        usageNanoCores: sum(list.map((c) => c.cpu?.usageNanoCores)),
      },
      memory: {
        time,
        usageBytes: sum(list.map((c) => c.memory?.usageBytes)),
        workingSetBytes: sum(list.map((c) => c.memory?.workingSetBytes)),
        rssBytes: sum(list.map((c) => c.memory?.rssBytes)),
      },
    });
  }
  const nodeStats = node.read();
  return { node: { nodeName, startTime: node.bootTime, ...nodeStats }, pods: out };
}

/** The Summary as the kubelet's /metrics/resource (Prometheus text). */
export function renderResourceMetrics(summary: Summary): string {
  const lines: string[] = [];
  const family = (
    name: string,
    type: string,
    help: string,
    samples: [Record<string, string>, number | undefined][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      if (value === undefined) continue;
      const body = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",");
      lines.push(`${name}${body ? `{${body}}` : ""} ${value}`);
    }
  };
  const seconds = (ns: number | undefined) => ns === undefined ? undefined : ns / 1e9;
  const node = summary.node;
  family(
    "node_cpu_usage_seconds_total",
    "counter",
    "Cumulative cpu time consumed by the node in core-seconds",
    [[
      {},
      seconds(node.cpu.usageCoreNanoSeconds),
    ]],
  );
  family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes", [[
    {},
    node.memory.workingSetBytes,
  ]]);
  const containers = summary.pods.flatMap((p) =>
    p.containers.map((c) =>
      [{ container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name }, c] as const
    )
  );
  family(
    "container_cpu_usage_seconds_total",
    "counter",
    "Cumulative cpu time consumed by the container in core-seconds",
    containers.map(([l, c]) => [l, seconds(c.cpu?.usageCoreNanoSeconds)]),
  );
  family(
    "container_memory_working_set_bytes",
    "gauge",
    "Current working set of the container in bytes",
    containers.map(([l, c]) => [l, c.memory?.workingSetBytes]),
  );
  family(
    "container_start_time_seconds",
    "gauge",
    "Start time of the container since unix epoch in seconds",
    containers.map(([l, c]) => [l, Date.parse(c.startTime) / 1000]),
  );
  const pods = summary.pods.map((p) => [{ namespace: p.podRef.namespace, pod: p.podRef.name }, p] as const);
  family(
    "pod_cpu_usage_seconds_total",
    "counter",
    "Cumulative cpu time consumed by the pod in core-seconds",
    pods.map(([l, p]) => [l, seconds(p.cpu?.usageCoreNanoSeconds)]),
  );
  family(
    "pod_memory_working_set_bytes",
    "gauge",
    "Current working set of the pod in bytes",
    pods.map(([l, p]) => [l, p.memory?.workingSetBytes]),
  );
  family(
    "resource_scrape_error",
    "gauge",
    "1 if there was an error while getting container metrics, 0 otherwise",
    [[
      {},
      0,
    ]],
  );
  return lines.join("\n") + "\n";
}
