// kubectl logs of ~10 MB through the tunnel (apiserver -> cloud stream server -> tunnel -> edge kubelet
// server) against reading the same log on the box (GET on the kubelet-style server, and kubectl-free), as
// MB/s and a ratio; and `kubectl exec -- true` round-trip latency p50/p99 over N runs (default 30).
// Everything real: containerd, pod manager, kube-apiserver, tunnel and stream servers on loopback.
//   bin/deno run --frozen --allow-all bench/logs_exec.ts [N]
import { KubeConfig } from "@kubernetes/client-node";
import { startStreamCoordinator, startStreamServer, startTunnelServer } from "../cloud/stream/mod.ts";
import { startKubeletServer } from "../edge/server/mod.ts";
import { startStreamTunnel } from "../edge/stream/mod.ts";
import { createLogger } from "../lib/log.ts";
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import { controlPlaneBinaries, startControlPlane } from "../tests/cluster/mod.ts";
import { startTestRuntime } from "../tests/containerd/mod.ts";
import { startTestManager, testPod, waitFor } from "../tests/containerd/pod_helpers.ts";

const N = Number(Deno.args[0] ?? 30);
const NODE = "edge-bench";
const log = createLogger({ level: "error" });
const MB = 1e6;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
async function run(cmd: string, args: string[]): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return { ms: performance.now() - started, bytes: out.stdout.length };
}
const pemOf = async (issued: Awaited<ReturnType<typeof issueCertificate>>) => ({
  certPem: certificateToPem(issued.cert),
  keyPem: await privateKeyToPem(issued.keys!.privateKey),
});

const rt = await startTestRuntime("bench-logs");
const stops: Array<() => Promise<unknown>> = [];
try {
  const tm = await startTestManager(rt);
  stops.push(() => tm.stop());
  const spec = {
    containers: [{
      name: "app",
      image: rt.images.busybox,
      command: ["sh", "-c", "head -c 7500000 /dev/urandom | base64; echo done-writing; exec sleep 3600"],
    }],
  };
  tm.manager.handle({ op: "add", pod: testPod("big", spec) });
  const kubelet = await startKubeletServer({ port: 0, nodeName: NODE, cri: tm.cri, pods: tm.manager, log });
  stops.push(() => kubelet.close());
  const local = `http://127.0.0.1:${kubelet.port}/containerLogs/default/big/app`;
  await waitFor(
    "10 MB written",
    async () => (await (await fetch(`${local}?tailLines=1`)).text()) === "done-writing\n",
    60_000,
  );

  const cp = await startControlPlane();
  stops.push(() => cp.stop());
  const ca = await createCa({ commonName: "KubeEdge" });
  const caPem = certificateToPem(ca.cert);
  const tunnels = await startTunnelServer({
    address: "127.0.0.1",
    port: 0,
    tls: {
      caPem,
      ...await pemOf(
        await issueCertificate({
          ca,
          commonName: "KubeEdge",
          usages: ["server"],
          ipAddresses: ["127.0.0.1"],
        }),
      ),
    },
    log,
  });
  stops.push(() => tunnels.close());
  const streams = await startStreamServer({
    address: "127.0.0.1",
    tls: {
      ...await pemOf(
        await issueCertificate({
          ca: cp.pki.ca,
          commonName: "s",
          usages: ["server"],
          ipAddresses: ["127.0.0.1"],
        }),
      ),
      clientCaPem: cp.caPem,
    },
    tunnels,
    log,
  });
  stops.push(() => streams.close());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const { kubectl } = await controlPlaneBinaries();
  const k = (args: string[]) => run(kubectl, [`--kubeconfig=${cp.kubeconfigPath}`, ...args]);
  await k(["create", "namespace", "kubeedge"]);
  await k(["create", "serviceaccount", "default"]);
  await run("sh", [
    "-c",
    `echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"${NODE}"}}' | ${kubectl} --kubeconfig=${cp.kubeconfigPath} create -f -`,
  ]);
  const coordinator = startStreamCoordinator({
    kc,
    replica: "127.0.0.1:1",
    advertiseAddress: "127.0.0.1",
    portRange: { min: 31000, max: 31999 },
    streamServer: streams,
    log,
  });
  stops.push(() => coordinator.stop());
  const tunnel = startStreamTunnel({
    server: `127.0.0.1:${tunnels.port}`,
    tls: {
      caPem,
      ...await pemOf(await issueCertificate({ ca, commonName: `system:node:${NODE}`, usages: ["client"] })),
    },
    kubelet: { port: kubelet.port },
    log,
  });
  stops.push(() => tunnel.close());
  await tunnel.waitConnected(10_000);
  await coordinator.nodeConnected(NODE);
  await run("sh", [
    "-c",
    `echo '${
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "big", namespace: "default" },
        spec: { nodeName: NODE, ...spec },
      })
    }' | ${kubectl} --kubeconfig=${cp.kubeconfigPath} create -f -`,
  ]);

  const best = async (fn: () => Promise<{ ms: number; bytes: number }>) => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await fn());
    return runs.sort((a, b) => a.ms - b.ms)[0]!;
  };
  const direct = await best(() => run("curl", ["-s", local]));
  const tunnelled = await best(() => k(["logs", "big", "-c", "app"]));
  const kubectlFloor = await best(() => k(["logs", "big", "-c", "app", "--tail=1"]));
  const rate = (r: { ms: number; bytes: number }) => r.bytes / MB / (r.ms / 1000);
  console.log(`log size: ${(direct.bytes / MB).toFixed(1)} MB`);
  console.log(
    `on the box (curl 127.0.0.1:10350): ${rate(direct).toFixed(0)} MB/s (${direct.ms.toFixed(0)} ms)`,
  );
  console.log(
    `kubectl logs through the tunnel:   ${rate(tunnelled).toFixed(0)} MB/s (${
      tunnelled.ms.toFixed(0)
    } ms, of which ~${kubectlFloor.ms.toFixed(0)} ms is kubectl + apiserver for a 1-line log)`,
  );
  console.log(`ratio tunnel/direct: ${(rate(tunnelled) / rate(direct)).toFixed(2)}`);

  const latencies: number[] = [];
  for (let i = 0; i < N; i++) latencies.push((await k(["exec", "big", "-c", "app", "--", "true"])).ms);
  console.log(
    `kubectl exec -- true (process start to exit), N=${N}: p50 ${
      percentile(latencies, 50).toFixed(0)
    } ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`,
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await rt.stop();
}
