// kubectl logs, exec and attach to edge pods end to end: a real containerd runs the pod through the pod
// manager, edgecore's kubelet-style server serves it, the edge dials cloudcore's tunnel server, and a real
// kube-apiserver reaches the cloud stream server on the port the Node advertises. Two cloudcore replicas:
// a request that lands on the one without the tunnel is forwarded.
import assert from "node:assert/strict";
import {
  startStreamCoordinator,
  startStreamServer,
  startTunnelServer,
  type StreamCoordinator,
  type StreamServer,
  type TunnelServer,
} from "../cloud/stream/mod.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { startKubeletServer } from "../edge/server/mod.ts";
import { startStreamTunnel, type StreamTunnel } from "../edge/stream/mod.ts";
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import { createLogger } from "../lib/log.ts";
import { controlPlaneBinaries, startControlPlane } from "./cluster/mod.ts";
import { type KubectlResult, runKubectl } from "./harness/kubectl.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { startTestManager, testPod, waitFor } from "./containerd/pod_helpers.ts";

const NODE = "edge-logs";
/** The apiserver's node proxy refuses loopback addresses, so replica A serves on the machine's own address. */
const HOST_IP =
  Deno.networkInterfaces().find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.") && i.name.startsWith("e")
  )?.address ?? "127.0.0.1";
const log = createLogger({
  level: Deno.env.get("KEDGE_TEST_LOG") === "1" ? "debug" : "error",
  component: "test",
});

function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<KubectlResult> {
  return runKubectl([`--kubeconfig=${kubeconfig}`, ...args], stdin);
}

async function ok(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  const out = await kubectl(kubeconfig, args, stdin);
  if (out.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${out.code}): ${out.stderr}`);
  return out.stdout;
}

async function pem(issued: { cert: { toString(f: "pem"): string }; keys?: CryptoKeyPair }) {
  return {
    certPem: certificateToPem(issued.cert as Parameters<typeof certificateToPem>[0]),
    keyPem: await privateKeyToPem(issued.keys!.privateKey),
  };
}

const POD_SPEC = (busybox: string) => ({
  containers: [
    {
      name: "app",
      image: busybox,
      command: [
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line-$i; done; sleep 0.3; echo to-stderr >&2; exec sleep 3600",
      ],
    },
    {
      name: "ticker",
      image: busybox,
      command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"],
    },
    {
      name: "crasher",
      image: busybox,
      command: ["sh", "-c", 'echo run-at-$(cut -d" " -f1 /proc/uptime); sleep 1; exit 3'],
    },
  ],
});

Deno.test("kubectl logs, exec and attach reach an edge pod through cloudcore's tunnel", async (t) => {
  const rt = await startTestRuntime("logs-exec");
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const tm = await startTestManager(rt);
    cleanups.push(() => tm.stop());
    const pod = testPod("web", POD_SPEC(rt.images.busybox));
    tm.manager.handle({ op: "add", pod });
    const kubelet = await startKubeletServer({ port: 0, nodeName: NODE, cri: tm.cri, pods: tm.manager, log });
    cleanups.push(() => kubelet.close());
    const base = `http://127.0.0.1:${kubelet.port}`;
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, text: await res.text() };
    };
    await waitFor(
      "app logged",
      async () => (await get("/containerLogs/default/web/app")).text.includes("to-stderr"),
    );

    await t.step(
      "the kubelet server serves logs with tailLines, timestamps, limitBytes and sinceSeconds",
      async () => {
        const all = await get("/containerLogs/default/web/app");
        assert.equal(all.status, 200);
        assert.equal(all.text, "line-1\nline-2\nline-3\nline-4\nline-5\nto-stderr\n");
        assert.equal((await get("/containerLogs/default/web/app?tailLines=2")).text, "line-5\nto-stderr\n");
        const stamped = (await get("/containerLogs/default/web/app?tailLines=1&timestamps=true")).text;
        assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z to-stderr\n$/);
        assert.equal((await get("/containerLogs/default/web/app?limitBytes=9")).text, "line-1\nli");
        const since = Date.parse(stamped.split(" ")[0] ?? "");
        const ago = Math.ceil((Date.now() - since) / 1000);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(
          (await get(`/containerLogs/default/web/app?sinceSeconds=${ago - 1 > 0 ? ago - 1 : 0}`)).text,
          "",
        );
        assert.match((await get(`/containerLogs/default/web/app?sinceSeconds=${ago + 5}`)).text, /line-1/);
      },
    );

    await t.step("previous serves the container instance before the current one", async () => {
      await waitFor(
        "crasher restarted",
        async () => (await get("/containerLogs/default/web/crasher?previous=true")).status === 200,
        60_000,
      );
      const previous = (await get("/containerLogs/default/web/crasher?previous=true")).text;
      const current = (await get("/containerLogs/default/web/crasher")).text;
      assert.match(previous, /^run-at-[\d.]+\n$/);
      assert.match(current, /^(run-at-[\d.]+\n)?$/);
      assert.notEqual(previous, current);
    });

    await t.step("follow streams new lines as the container writes them", async () => {
      const controller = new AbortController();
      const res = await fetch(`${base}/containerLogs/default/web/ticker?follow=true&tailLines=1`, {
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let seen = "";
      const started = Date.now();
      while ((seen.match(/tick-/g) ?? []).length < 4 && Date.now() - started < 10_000) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      controller.abort();
      await reader.cancel().catch(() => {});
      const ticks = [...seen.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
      assert.ok(ticks.length >= 4, `followed ${seen}`);
      for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i], (ticks[i - 1] ?? 0) + 1);
    });

    await t.step("bad input gets clear errors and the server keeps serving", async () => {
      const unknownPod = await get("/containerLogs/default/nope/app");
      assert.equal(unknownPod.status, 404);
      assert.match(unknownPod.text, /pod "default\/nope" does not run on this node/);
      const unknownContainer = await get("/containerLogs/default/web/nope");
      assert.equal(unknownContainer.status, 404);
      assert.match(unknownContainer.text, /"nope" is not a container of pod "web"/);
      const outside = await get("/etc/passwd");
      assert.equal(outside.status, 404);
      assert.match(outside.text, /not part of the kubelet API/);
      const badQuery = await get("/containerLogs/default/web/app?tailLines=-1");
      assert.equal(badQuery.status, 400);
      const notUpgrade = await get("/exec/default/web/app?command=ls&output=1");
      assert.equal(notUpgrade.status, 400);
      assert.equal((await get("/healthz")).text, "ok");
    });

    await t.step(
      "/pods lists the node's pods and /stats/summary reports CRI stats per container",
      async () => {
        const pods = JSON.parse((await get("/pods")).text);
        assert.equal(pods.kind, "PodList");
        assert.deepEqual(pods.items.map((p: { metadata: { name: string } }) => p.metadata.name), ["web"]);
        const summary = await waitFor("stats for app", async () => {
          const s = JSON.parse((await get("/stats/summary")).text);
          const app = s.pods[0]?.containers.find((c: { name: string }) => c.name === "app");
          return app?.memory?.workingSetBytes > 0 && s;
        });
        assert.equal(summary.node.nodeName, NODE);
        assert.ok(summary.node.memory.workingSetBytes > 0);
        assert.equal(summary.pods[0].podRef.name, "web");
        assert.ok(summary.pods[0].cpu.usageCoreNanoSeconds > 0);
        const metrics = (await get("/metrics/resource")).text;
        assert.match(
          metrics,
          /container_memory_working_set_bytes\{container="app",namespace="default",pod="web"\} \d+/,
        );
      },
    );

    // The cloud: a control plane, the KubeEdge CA, a tunnel server and a stream server.
    const cp = await startControlPlane();
    cleanups.push(() => cp.stop());
    const kubeedgeCa = await createCa({ commonName: "KubeEdge" });
    const caPem = certificateToPem(kubeedgeCa.cert);
    const cloudCert = await pem(
      await issueCertificate({
        ca: kubeedgeCa,
        commonName: "KubeEdge",
        usages: ["server"],
        ipAddresses: ["127.0.0.1"],
      }),
    );
    const edgeCert = await pem(
      await issueCertificate({ ca: kubeedgeCa, commonName: `system:node:${NODE}`, usages: ["client"] }),
    );
    const streamCert = await pem(
      await issueCertificate({
        ca: cp.pki.ca,
        commonName: "kedge-stream",
        usages: ["server"],
        ipAddresses: [HOST_IP, "127.0.0.3"],
      }),
    );
    const kc = cp.kubeconfigPath;

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kc);
    await ok(kc, ["create", "namespace", "kubeedge"]);
    await ok(
      kc,
      ["create", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: NODE } }),
    );
    const replica = async (name: string, nodeAddress: string, peerAddress: string) => {
      const peerCert = await pem(
        await issueCertificate({
          ca: kubeedgeCa,
          commonName: "kedge-cloudcore",
          usages: ["server", "client"],
          ipAddresses: [peerAddress],
        }),
      );
      const late: { coordinator?: StreamCoordinator } = {};
      const tunnels: TunnelServer = await startTunnelServer({
        address: "127.0.0.1",
        port: 0,
        tls: { caPem, ...cloudCert },
        log: log.child({ replica: name }),
        onConnect: (node) =>
          void late.coordinator?.nodeConnected(node).catch((e) => log.error("connect failed", { e })),
        onDisconnect: (node) => void late.coordinator?.nodeDisconnected(node),
      });
      cleanups.push(() => tunnels.close());
      const streams: StreamServer = await startStreamServer({
        address: nodeAddress,
        tls: { ...streamCert, clientCaPem: cp.caPem },
        tunnels,
        holderOf: (node) => late.coordinator?.holderOf(node) ?? Promise.resolve(undefined),
        peer: { address: peerAddress, port: 0, caPem, ...peerCert },
        log: log.child({ replica: name }),
      });
      cleanups.push(() => streams.close());
      const coordinator = startStreamCoordinator({
        kc: kubeConfig,
        replica: `${peerAddress}:${streams.peerPort}`,
        advertiseAddress: nodeAddress,
        portRange: { min: 20000 + Math.floor(Math.random() * 20000), max: 45000 },
        streamServer: streams,
        log: log.child({ replica: name }),
        syncMs: 500,
      });
      late.coordinator = coordinator;
      cleanups.push(() => coordinator.stop());
      return { tunnels, streams, coordinator };
    };
    const a = await replica("a", HOST_IP, "127.0.0.2");
    const tunnel: StreamTunnel = startStreamTunnel({
      server: `127.0.0.1:${a.tunnels.port}`,
      tls: { caPem, ...edgeCert },
      kubelet: { port: kubelet.port },
      log,
      backoff: { minMs: 100, maxMs: 1000 },
    });
    cleanups.push(() => tunnel.close());
    await tunnel.waitConnected(10_000);
    const nodePort = await waitFor("node stream endpoint", async () => {
      const node = JSON.parse(await ok(kc, ["get", "node", NODE, "-o", "json"]));
      return node.status?.addresses?.[0]?.address === HOST_IP &&
        node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    });
    assert.equal(a.streams.ports().get(NODE), nodePort);

    // The objects the apiserver reads: the Node (address and port of the stream server) and the Pod.
    await ok(kc, ["create", "serviceaccount", "default"]);
    await ok(
      kc,
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web", namespace: "default" },
        spec: { nodeName: NODE, ...POD_SPEC(rt.images.busybox) },
      }),
    );

    await t.step("kubectl logs reads an edge pod's log through the apiserver and the tunnel", async () => {
      assert.equal(
        await ok(kc, ["logs", "web", "-c", "app"]),
        "line-1\nline-2\nline-3\nline-4\nline-5\nto-stderr\n",
      );
      assert.equal(await ok(kc, ["logs", "web", "-c", "app", "--tail=1"]), "to-stderr\n");
    });

    await t.step("kubectl logs -f streams new lines through the tunnel", async () => {
      const { kubectl: bin } = await controlPlaneBinaries();
      const child = new Deno.Command(bin, {
        args: [`--kubeconfig=${kc}`, "logs", "-f", "web", "-c", "ticker", "--tail=1"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      let seen = "";
      const started = Date.now();
      while ((seen.match(/tick-/g) ?? []).length < 4 && Date.now() - started < 15_000) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.status;
      await child.stderr.cancel().catch(() => {});
      const ticks = [...seen.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
      assert.ok(ticks.length >= 4, `followed: ${seen}`);
      for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i], (ticks[i - 1] ?? 0) + 1);
    });

    await t.step("kubectl exec runs a command, and exec -i passes stdin, through the tunnel", async () => {
      assert.equal(
        await ok(kc, ["exec", "web", "-c", "app", "--", "sh", "-c", "echo hello-$((6*7)); echo err >&2"]),
        "hello-42\n",
      );
      const stdin = "first line\nsecond line\n";
      assert.equal(
        await ok(kc, ["exec", "-i", "web", "-c", "app", "--", "sh", "-c", "tr a-z A-Z"], stdin),
        "FIRST LINE\nSECOND LINE\n",
      );
      const failed = await kubectl(kc, ["exec", "web", "-c", "app", "--", "sh", "-c", "exit 7"]);
      assert.equal(failed.code, 7, failed.stderr);
    });

    await t.step("kubectl attach streams the output of a running container", async () => {
      const { kubectl: bin } = await controlPlaneBinaries();
      const child = new Deno.Command(bin, {
        args: [`--kubeconfig=${kc}`, "attach", "web", "-c", "ticker"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      const started = Date.now();
      while ((seen.match(/tick-/g) ?? []).length < 3 && Date.now() - started < 15_000) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.status;
      await child.stderr.cancel().catch(() => {});
      assert.ok((seen.match(/tick-\d+\n/g) ?? []).length >= 3, `attached: ${seen}`);
    });

    await t.step("kubectl get --raw .../proxy/stats/summary answers through the tunnel", async () => {
      const summary = JSON.parse(await ok(kc, ["get", "--raw", `/api/v1/nodes/${NODE}/proxy/stats/summary`]));
      assert.equal(summary.node.nodeName, NODE);
      assert.equal(summary.pods[0].podRef.name, "web");
    });

    await t.step(
      "bad input through the apiserver: unknown pod, unknown container, path outside the kubelet API",
      async () => {
        const unknownPod = await kubectl(kc, ["logs", "nope"]);
        assert.notEqual(unknownPod.code, 0);
        assert.match(unknownPod.stderr, /not found/);
        const unknownContainer = await kubectl(kc, ["logs", "web", "-c", "nope"]);
        assert.notEqual(unknownContainer.code, 0);
        assert.match(unknownContainer.stderr, /nope/);
        const outside = await kubectl(kc, ["get", "--raw", `/api/v1/nodes/${NODE}/proxy/etc/passwd`]);
        assert.notEqual(outside.code, 0);
        assert.match(outside.stderr + outside.stdout, /NotFound|not found|404/i);
        assert.equal(await ok(kc, ["logs", "web", "-c", "app", "--tail=1"]), "to-stderr\n");
      },
    );

    await t.step(
      "with two replicas, kubectl logs works whichever replica the apiserver reaches",
      async () => {
        const b = await replica("b", "127.0.0.3", "127.0.0.4");
        await b.coordinator.sync();
        assert.equal(b.streams.ports().get(NODE), nodePort, "replica b serves the node's port too");
        assert.equal(b.tunnels.tunnel(NODE), undefined, "the tunnel is on replica a");
        const pointAt = (address: string) =>
          ok(kc, [
            "patch",
            "node",
            NODE,
            "--subresource=status",
            "--type=merge",
            "-p",
            JSON.stringify({ status: { addresses: [{ type: "InternalIP", address }] } }),
          ]);
        await pointAt("127.0.0.3");
        assert.equal(await ok(kc, ["logs", "web", "-c", "app", "--tail=2"]), "line-5\nto-stderr\n");
        assert.equal(await ok(kc, ["exec", "web", "-c", "app", "--", "echo", "via-b"]), "via-b\n");
        await pointAt(HOST_IP);
        assert.equal(await ok(kc, ["logs", "web", "-c", "app", "--tail=2"]), "line-5\nto-stderr\n");
      },
    );
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await rt.stop();
  }
});
