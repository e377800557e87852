// kubectl port-forward to an edge pod with the real kubectl, apiserver, cloudcore, edgecore and containerd:
// apiserver -> cloudcore's stream port (kubelet-client certificate, SubjectAccessReview) -> the node's tunnel
// -> edgecore's kubelet-style server -> CRI PortForward -> containerd's streaming server, which dials the
// port inside the pod's network namespace (docs/streaming.md).
import assert from "node:assert/strict";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import { WebSocket } from "ws";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import { controlPlaneBinaries, freePort } from "./cluster/mod.ts";
import { waitFor } from "./containerd/pod_helpers.ts";
import { HOST_IP, startStreamEdge } from "./harness/stream_edge.ts";

const NODE = "edge-pf";
/** What the pod serves at /big: 1 MiB of a 16-byte line. */
const BIG = "0123456789abcde\n".repeat(65536);

/** A running `kubectl port-forward`: the local port it listens on, and its output so far. */
interface Forward {
  readonly port: number;
  readonly out: () => string;
  readonly err: () => string;
  /** Resolves with the exit code when kubectl ends. */
  readonly exited: Promise<number>;
  stop(): Promise<void>;
}

/**
 * kubectl 1.31+ tunnels SPDY through a WebSocket to the apiserver (which hands the kubelet plain SPDY);
 * `spdy` makes it speak SPDY to the apiserver as older ones do (KUBECTL_PORT_FORWARD_WEBSOCKETS=false).
 */
async function startForward(kubeconfig: string, args: string[], spdy = false): Promise<Forward> {
  const { kubectl } = await controlPlaneBinaries();
  const child = new Deno.Command(kubectl, {
    args: [`--kubeconfig=${kubeconfig}`, "port-forward", "--address=127.0.0.1", ...args],
    env: spdy ? { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" } : {},
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const drain = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) add(text);
  };
  const drained = Promise.all([drain(child.stdout, (t) => out += t), drain(child.stderr, (t) => err += t)]);
  const exited = child.status.then(async (status) => {
    await drained;
    return status.code;
  });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await exited;
  };
  try {
    const port = await Promise.race([
      waitFor("kubectl port-forward listening", () => {
        const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
        return match ? Number(match[1]) : undefined;
      }, 30_000),
      exited.then((code) => {
        throw new Error(`kubectl port-forward exited (${code}): ${err}`);
      }),
    ]);
    return { port, out: () => out, err: () => err, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * An HTTP/1.0 GET on a fresh TCP connection (or `socket`); resolves with the whole reply once the server closes
 * it. The request is followed by a half-close: containerd 1.6 ends a forwarded connection when both directions
 * have ended, or 1 s after the first did (as socat does), so without it every reply would take a second.
 */
function get(port: number, path: string, socket?: net.Socket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = socket ?? net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    s.on("data", (chunk: Buffer) => chunks.push(chunk));
    s.on("error", reject);
    s.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d+)/.exec(text)?.[1] ?? 0);
      resolve({ status, body: end < 0 ? "" : text.slice(end + 4) });
    });
    s.end(`GET ${path} HTTP/1.0\r\nHost: pod\r\n\r\n`);
  });
}

function connected(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** One sample of edgecore's /metrics (name with its labels, as printed), or undefined. */
async function edgeMetric(server: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${server}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

Deno.test({
  name: "kubectl port-forward reaches an edge pod's port through cloudcore's tunnel and ends with the pod",
  ignore: HOST_IP === undefined,
  fn: async (t) => {
    await using env = await startStreamEdge("portfwd-e2e", NODE);
    const kc = env.cp.kubeconfigPath;
    const pod = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${env.rt.images.busybox}
    command: ["sh", "-c", "mkdir /www && echo hello-from-edge > /www/index.html && yes 0123456789abcde | head -c 1048576 > /www/big && exec httpd -f -p 8080 -h /www"]
`;
    // The default ServiceAccount comes from the controller manager, shortly after the namespace.
    await waitFor(
      "pod created",
      async () => (await env.kubectl(["apply", "-f", "-"], pod)).code === 0,
      30_000,
    );
    await waitFor(
      "web Running",
      async () =>
        (await env.kubectl(["get", "pod", "web", "-o", "jsonpath={.status.phase}"])).stdout === "Running",
      90_000,
      500,
    );

    await t.step("the forwarded port serves the pod's HTTP answers, two connections at once", async () => {
      const forward = await startForward(kc, ["pod/web", ":8080"]);
      try {
        const index = await waitFor(
          "index through the forward",
          async () => {
            const reply = await get(forward.port, "/").catch(() => undefined);
            return reply?.status === 200 && reply;
          },
          20_000,
          500,
        );
        assert.equal(index.body, "hello-from-edge\n");
        // Two TCP connections open at once: the second is served while the first waits for its request.
        const first = await connected(forward.port);
        const second = await connected(forward.port);
        const secondReply = await get(forward.port, "/big", second);
        const firstReply = await get(forward.port, "/index.html", first);
        assert.equal(secondReply.status, 200);
        assert.equal(secondReply.body.length, BIG.length);
        assert.ok(secondReply.body === BIG, "1 MiB arrives unchanged");
        assert.equal(firstReply.body, "hello-from-edge\n");
        const started = performance.now();
        const both = await Promise.all([get(forward.port, "/big"), get(forward.port, "/big")]);
        const ms = performance.now() - started;
        for (const reply of both) assert.ok(reply.body === BIG, "parallel downloads arrive unchanged");
        console.log(`two parallel 1 MiB downloads through the forward: ${ms.toFixed(0)} ms`);
        assert.ok((forward.out().match(/Handling connection for \d+/g) ?? []).length >= 5, forward.out());
        // 130 more connections, ten at a time, on the same SPDY connection: each takes two streams, so the
        // edge's limit of 256 open streams would cut it here unless every finished pair is counted closed.
        const many = performance.now();
        for (let round = 0; round < 13; round++) {
          const replies = await Promise.all(Array.from({ length: 10 }, () => get(forward.port, "/")));
          for (const reply of replies) assert.equal(reply.body, "hello-from-edge\n", `round ${round}`);
        }
        console.log(`130 connections through one forward: ${(performance.now() - many).toFixed(0)} ms`);
      } finally {
        await forward.stop();
      }
      const spdy = await startForward(kc, ["pod/web", ":8080"], true);
      try {
        const index = await get(spdy.port, "/");
        assert.equal(index.body, "hello-from-edge\n", "kubectl speaking SPDY to the apiserver");
        const started = performance.now();
        const both = await Promise.all([get(spdy.port, "/big"), get(spdy.port, "/big")]);
        const ms = performance.now() - started;
        for (const reply of both) assert.ok(reply.body === BIG, "parallel downloads arrive unchanged");
        console.log(`the same with kubectl speaking SPDY to the apiserver: ${ms.toFixed(0)} ms`);
      } finally {
        await spdy.stop();
      }
    });

    await t.step("a hostNetwork pod's port is forwarded from the node's network", async () => {
      const hostPort = freePort();
      const applied = await env.kubectl(
        ["apply", "-f", "-"],
        `
apiVersion: v1
kind: Pod
metadata: {name: hostweb, namespace: default}
spec:
  nodeName: ${NODE}
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${env.rt.images.busybox}
    command: ["sh", "-c", "mkdir /www && echo host-network > /www/index.html && exec httpd -f -p 127.0.0.1:${hostPort} -h /www"]
`,
      );
      assert.equal(applied.code, 0, applied.stderr);
      await waitFor(
        "hostweb Running",
        async () =>
          (await env.kubectl(["get", "pod", "hostweb", "-o", "jsonpath={.status.phase}"])).stdout ===
            "Running",
        60_000,
        500,
      );
      const forward = await startForward(kc, ["pod/hostweb", `:${hostPort}`]);
      try {
        const reply = await waitFor(
          "hostweb through the forward",
          async () => {
            const r = await get(forward.port, "/").catch(() => undefined);
            return r?.status === 200 && r;
          },
          20_000,
          500,
        );
        assert.equal(reply.body, "host-network\n");
      } finally {
        await forward.stop();
      }
      await env.kubectl(["delete", "pod", "hostweb", "--wait=false"]);
    });

    await t.step("a port nothing listens on is an error kubectl reports, and it exits", async () => {
      const forward = await startForward(kc, ["pod/web", ":9999"]);
      try {
        const reply = await get(forward.port, "/");
        assert.equal(reply.status, 0, "no HTTP answer through a refused port");
        const code = await Promise.race([
          forward.exited,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error("kubectl still runs")), 20_000)
          ),
        ]);
        assert.notEqual(code, 0);
        assert.match(forward.err(), /an error occurred forwarding \d+ -> 9999/);
        assert.match(
          forward.err(),
          /failed to connect to localhost:9999 inside namespace|connection refused/,
        );
      } finally {
        await forward.stop();
      }
    });

    await t.step(
      "without pods/portforward the apiserver refuses; without nodes/proxy the stream port does",
      async () => {
        const rbac = await env.kubectl(
          ["apply", "-f", "-"],
          `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules: [{apiGroups: [""], resources: ["pods"], verbs: ["get", "list"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: carol-pod-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
`,
        );
        assert.equal(rbac.code, 0, rbac.stderr);
        const issue = async (user: string) => {
          const leaf = await issueCertificate({ ca: env.cp.pki.ca, commonName: user, usages: ["client"] });
          return { cert: certificateToPem(leaf.cert), key: await privateKeyToPem(leaf.keys!.privateKey) };
        };
        const carol = await issue("carol");
        const files = { cert: join(env.run.path, "carol.crt"), key: join(env.run.path, "carol.key") };
        await Deno.writeTextFile(files.cert, carol.cert);
        await Deno.writeTextFile(files.key, carol.key, { mode: 0o600 });
        const ca = join(env.run.path, "apiserver-ca.crt");
        await Deno.writeTextFile(ca, env.cp.caPem);
        const { kubectl } = await controlPlaneBinaries();
        const denied = await new Deno.Command(kubectl, {
          args: [
            `--server=${env.cp.server}`,
            `--certificate-authority=${ca}`,
            `--client-certificate=${files.cert}`,
            `--client-key=${files.key}`,
            "port-forward",
            "pod/web",
            ":8080",
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(denied.stderr);
        assert.notEqual(denied.code, 0);
        assert.match(stderr, /User "carol" cannot (get|create) resource "pods\/portforward"/);

        // The stream port itself: a kubelet-client-CA certificate whose user has no nodes/proxy.
        const alice = await issue("alice");
        const port = Number(
          (await env.kubectl([
            "get",
            "node",
            NODE,
            "-o",
            "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
          ])).stdout,
        );
        const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = https.request({
            host: HOST_IP,
            port,
            method: "POST",
            path: "/portForward/default/web",
            headers: {
              connection: "Upgrade",
              upgrade: "SPDY/3.1",
              "x-stream-protocol-version": "portforward.k8s.io",
            },
            ...alice,
            ca: env.cp.caPem,
            timeout: 10_000,
          });
          req.on("response", (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => body += chunk);
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on("upgrade", () => reject(new Error("alice was let through")));
          req.on("error", reject);
          req.end();
        });
        assert.equal(refused.status, 403, refused.body);
        assert.match(refused.body, /user=alice, verb=create, resource=nodes, subresource=proxy/);
      },
    );

    await t.step(
      "the edge's kubelet server: a WebSocket forward, clear refusals, a SPDY frame over its limit cut",
      async () => {
        const port = Number(new URL(env.kubeletServer).port);
        /** Sends an upgrade request; resolves with the reply head (101), or the whole reply once closed. */
        const upgrade = async (path: string, headers: string) => {
          const socket = await connected(port);
          const head = await new Promise<string>((resolve, reject) => {
            let text = "";
            socket.on("data", (chunk: Buffer) => {
              text += chunk.toString("latin1");
              if (/^HTTP\/1\.1 101 [^]*\r\n\r\n/.test(text)) resolve(text);
            });
            socket.on("close", () => resolve(text));
            socket.on("error", reject);
            socket.write(`POST ${path} HTTP/1.1\r\nHost: edge\r\nConnection: Upgrade\r\n${headers}\r\n`);
          });
          return { socket, head };
        };
        const spdy = "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n";
        const unknown = await upgrade("/portForward/default/nope", spdy);
        assert.match(unknown.head, /^HTTP\/1\.1 404 [^]*pod "default\/nope" does not run on this node/);
        const noPorts = await upgrade("/portForward/default/web", "Upgrade: websocket\r\n");
        assert.match(noPorts.head, /^HTTP\/1\.1 400 [^]*query parameter "port" is required/);
        const manyPorts = await upgrade(
          `/portForward/default/web?port=${Array.from({ length: 65 }, (_, i) => 8000 + i).join(",")}`,
          "Upgrade: websocket\r\n",
        );
        assert.match(manyPorts.head, /^HTTP\/1\.1 400 [^]*more than 64 ports/);
        const h2c = await upgrade("/portForward/default/web", "Upgrade: h2c\r\n");
        assert.match(h2c.head, /^HTTP\/1\.1 400 [^]*neither SPDY nor WebSocket/);

        // WebSocket (what a client talking to a kubelet directly may use; the apiserver always sends SPDY): the
        // ports are in the query, each channel starts with its port, little-endian.
        const ws = new WebSocket(`ws://127.0.0.1:${port}/portForward/default/web?port=8080`, [
          "v4.channel.k8s.io",
        ]);
        const channels = await new Promise<Buffer[]>((resolve, reject) => {
          const seen = [Buffer.alloc(0), Buffer.alloc(0)];
          const timer = setTimeout(() => resolve(seen), 10_000);
          ws.on("open", () => ws.send(Buffer.from("\x00GET / HTTP/1.0\r\n\r\n", "latin1")));
          ws.on("message", (message: Buffer) => {
            const channel = message[0] ?? 9;
            if (channel < 2) seen[channel] = Buffer.concat([seen[channel]!, message.subarray(1)]);
            if (seen[0]!.includes("hello-from-edge")) {
              clearTimeout(timer);
              resolve(seen);
            }
          });
          ws.on("error", reject);
        });
        ws.terminate();
        assert.deepEqual(
          [...channels[1]!],
          [0x90, 0x1f],
          "the error channel names port 8080 and nothing else",
        );
        assert.deepEqual([...channels[0]!.subarray(0, 2)], [0x90, 0x1f]);
        assert.match(
          channels[0]!.subarray(2).toString("latin1"),
          /^HTTP\/1\.[01] 200 [^]*\r\n\r\nhello-from-edge\n$/,
        );

        const { socket, head } = await upgrade("/portForward/default/web", spdy);
        assert.match(head, /^HTTP\/1\.1 101 /, head);
        const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
        // A DATA frame header announcing 2 MiB (the limit is 1 MiB).
        socket.write(new Uint8Array([0, 0, 0, 1, 0, 0x20, 0, 0]));
        await closed;
        assert.equal(
          await edgeMetric(env.kubeletServer, 'kedge_edge_port_forward_cut_total{reason="limit"}'),
          1,
          "only this connection was cut for a limit (none of kubectl's)",
        );
      },
    );

    await t.step(
      "deleting the pod ends every forward to it: kubectl reports the lost connection",
      async () => {
        const tunnelled = await startForward(kc, ["pod/web", ":8080"]);
        const spdy = await startForward(kc, ["pod/web", ":8080"], true);
        try {
          for (const forward of [tunnelled, spdy]) {
            assert.equal((await get(forward.port, "/")).body, "hello-from-edge\n");
          }
          // A connection held open through the forward is closed too.
          const idle = await connected(tunnelled.port);
          idle.on("error", () => {});
          const idleClosed = new Promise<void>((resolve) => idle.on("close", () => resolve()));
          await waitFor(
            "two forwards open on the edge",
            async () => await edgeMetric(env.kubeletServer, "kedge_edge_port_forwards") === 2,
          );
          const deleted = await env.kubectl(["delete", "pod", "web", "--wait=false"]);
          assert.equal(deleted.code, 0, deleted.stderr);
          const started = performance.now();
          const ended = async (forward: Forward) => {
            const code = await forward.exited;
            return { code, ms: performance.now() - started };
          };
          // Through the WebSocket tunnel the apiserver passes the end on only once kubectl sends again: its
          // SPDY ping, every 10 s (docs/streaming.md).
          const [viaTunnel, viaSpdy] = await Promise.race([
            Promise.all([ended(tunnelled), ended(spdy)]),
            new Promise<never>((_, reject) =>
              setTimeout(
                () => reject(new Error(`kubectl still runs: ${tunnelled.err()} ${spdy.err()}`)),
                45_000,
              )
            ),
          ]);
          console.log(
            `after the delete, the forwards ended in ${viaSpdy.ms.toFixed(0)} ms (SPDY) and ` +
              `${viaTunnel.ms.toFixed(0)} ms (WebSocket tunnel)`,
          );
          for (const [forward, end] of [[tunnelled, viaTunnel], [spdy, viaSpdy]] as const) {
            assert.equal(end.code, 1);
            assert.match(forward.err(), /lost connection to pod/);
          }
          await idleClosed;
          await waitFor(
            "no forward open on the edge",
            async () => await edgeMetric(env.kubeletServer, "kedge_edge_port_forwards") === 0,
            5_000,
          );
          assert.ok(
            (await edgeMetric(env.kubeletServer, 'kedge_edge_port_forward_cut_total{reason="pod_gone"}') ??
              0) >= 2,
          );
        } finally {
          await tunnelled.stop();
          await spdy.stop();
        }
      },
    );
  },
});
