// Pod start latency (pod accepted -> status Running) through the pod manager, against `ctr run -d` of the
// same image on the same containerd, p50/p99 over N pods (default 50), and the manager's RSS with 0, 10
// and N pods running. Uses the test harness: its own containerd, a loopback registry, local images.
//   bin/deno run --frozen --allow-all bench/pod_start.ts [N]
import { join } from "node:path";
import { createCriClient } from "../edge/cri/mod.ts";
import { startPodManager } from "../edge/pods/mod.ts";
import { createLogger } from "../lib/log.ts";
import { startTestRuntime } from "../tests/containerd/mod.ts";

const N = Number(Deno.args[0] ?? 50);
const MiB = 1024 * 1024;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

const rt = await startTestRuntime("bench-pods");
const cri = createCriClient({ endpoint: rt.containerd.endpoint });
try {
  await cri.pullImage(rt.images.busybox);
  await cri.pullImage(rt.images.pause);
  const running = new Map<string, (t: number) => void>();
  const manager = await startPodManager({
    cri,
    nodeName: "bench",
    rootDirectory: join(rt.run.path, "edged"),
    podLogsDirectory: join(rt.run.path, "logs"),
    podSandboxImage: rt.images.pause,
    hostIP: "127.0.0.1",
    log: createLogger({ level: "error" }),
    statusSink: {
      podStatusChanged(pod, status) {
        if (status.phase === "Running") running.get(pod.uid)?.(performance.now());
      },
      podRemoved() {},
    },
  });
  const rss = (): number => Deno.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, 1000));
  const rssAt: Record<string, number> = { 0: rss() };

  const runPods = async (hostNetwork: boolean) => {
    const latencies: number[] = [];
    for (let i = 0; i < N; i++) {
      const uid = crypto.randomUUID();
      const done = new Promise<number>((resolve) => running.set(uid, resolve));
      const started = performance.now();
      manager.handle({
        op: "add",
        pod: {
          metadata: { name: `bench-${hostNetwork ? "host" : "cni"}-${i}`, namespace: "default", uid },
          spec: {
            hostNetwork,
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "c", image: rt.images.busybox, command: ["sleep", "3600"] }],
          },
        },
      });
      latencies.push((await done) - started);
      running.delete(uid);
      if (hostNetwork && i + 1 === 10) rssAt[10] = rss();
    }
    return latencies;
  };
  const host = await runPods(true);
  rssAt[N] = rss();
  const cni = await runPods(false);
  rssAt[2 * N] = rss();

  const ctr: number[] = [];
  for (let i = 0; i < N; i++) {
    const started = performance.now();
    await rt.containerd.ctr([
      "run",
      "-d",
      "--net-host",
      rt.images.busybox,
      `ctr-bench-${i}`,
      "sleep",
      "3600",
    ]);
    ctr.push(performance.now() - started);
  }

  const row = (name: string, v: number[]) =>
    `${name.padEnd(34)} p50 ${fmt(percentile(v, 50)).padStart(8)}  p99 ${fmt(percentile(v, 99)).padStart(8)}`;
  console.log(`pod start latency, ${N} pods each, sequential, image present:`);
  console.log(row("pod manager, hostNetwork pod", host));
  console.log(row("pod manager, CNI (bridge) pod", cni));
  console.log(row("ctr run -d --net-host", ctr));
  console.log(
    `ratio manager/ctr: hostNetwork p50 ${(percentile(host, 50) / percentile(ctr, 50)).toFixed(2)} p99 ${
      (percentile(host, 99) / percentile(ctr, 99)).toFixed(2)
    }; CNI p50 ${(percentile(cni, 50) / percentile(ctr, 50)).toFixed(2)} p99 ${
      (percentile(cni, 99) / percentile(ctr, 99)).toFixed(2)
    }`,
  );
  console.log(
    `manager process RSS: ${
      Object.entries(rssAt).map(([n, b]) => `${n} pods ${(b / MiB).toFixed(1)} MiB`).join(", ")
    }`,
  );
  for (let i = 0; i < N; i++) {
    await rt.containerd.ctr(["tasks", "kill", "-s", "SIGKILL", `ctr-bench-${i}`]).catch(() => "");
  }
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < N; i++) {
    await rt.containerd.ctr(["tasks", "delete", `ctr-bench-${i}`]).catch(() => "");
    await rt.containerd.ctr(["containers", "delete", `ctr-bench-${i}`]).catch(() => "");
  }
  await manager.stop();
} finally {
  cri.close();
  await rt.stop();
}
