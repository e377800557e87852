/**
 * Simulated edge nodes for bench/nodes_pods.ts (part 3): one process holding N `ws` clients, each with its own
 * client certificate from the KubeEdge CA (DIR/edges.json: [{name, certPem, keyPem}], DIR/ca.pem), doing what a
 * kedge edgecore does on the wire without running anything:
 *
 * - on connect: the holdings report (`update null/objectsync/<n>`, no objects), then `insert default/node/<n>`
 *   (the Node, with the edge role labels, as edge/node/node_agent.ts sends it);
 * - every 10 s (random phase): the Lease (`update kube-node-lease/lease/<n>`) and the node status
 *   (`patch default/nodepatch/<n>`); the KubeEdge keepalive every 15 s;
 * - every delivery from the cloud (insert/update/patch/delete) is acked (`response`, parent_msg_id, "OK");
 * - each pod delivered by `insert` gets one `patch <ns>/podpatch/<pod>` with phase Running (and Ready).
 *
 *   deno run --frozen --allow-all bench/nodes_pods_edges.ts --port P --dir DIR [--max-seconds S]
 *
 * Prints JSON lines: `{"event":"registered",...}` once every node registered, `{"event":"nodesSeen"}` once every
 * node got its own Node back from the cloud (so the cloud counts it as an edge node). stdin: `mark` (start a
 * window), `report` (the window's counts), `quit`. Exits by itself after --max-seconds (default 1200) or when
 * stdin closes.
 */
import process from "node:process";
import { WebSocket } from "ws";
import { ackOf, encode, keepaliveMessage, type Message, newMessage } from "../lib/protocol/mod.ts";

interface Credentials {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const argv = Deno.args;
const get = (name: string, fallback?: string): string => {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? argv[at + 1] : fallback;
  if (value === undefined) throw new Error(`Cannot start: --${name} is required`);
  return value;
};
const port = Number(get("port"));
const dir = get("dir");
const maxSeconds = Number(get("max-seconds", "1200"));
const LEASE_EVERY_MS = 10_000;
const STATUS_EVERY_MS = 10_000;
const KEEPALIVE_EVERY_MS = 15_000;
const REQUEST_TIMEOUT_MS = 30_000;

const caPem = Deno.readTextFileSync(`${dir}/ca.pem`);
const all = JSON.parse(Deno.readTextFileSync(`${dir}/edges.json`)) as Credentials[];
const encoder = new TextEncoder();

function print(value: unknown): void {
  const bytes = encoder.encode(`${JSON.stringify(value)}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

type Kind = "lease" | "nodepatch" | "podpatch" | "register" | "report";
/** msg_id -> what and when, for requests waiting for the cloud's reply. */
const pending = new Map<string, { kind: Kind; at: number; resolve?: (m: RawMessage) => void }>();
const sockets = new Set<WebSocket>();
const timers = new Set<ReturnType<typeof setInterval>>();
let stopping = false;

function newWindow() {
  return {
    startedAt: performance.now(),
    cpu: process.cpuUsage(),
    deliveries: {} as Record<string, number>,
    acks: 0,
    sent: { lease: 0, nodepatch: 0, podpatch: 0, register: 0, report: 0 } as Record<Kind, number>,
    ok: { lease: 0, nodepatch: 0, podpatch: 0, register: 0, report: 0 } as Record<Kind, number>,
    errors: { lease: 0, nodepatch: 0, podpatch: 0, register: 0, report: 0 } as Record<Kind, number>,
    errorSamples: [] as string[],
    latencies: { lease: [], nodepatch: [], podpatch: [], register: [], report: [] } as Record<Kind, number[]>,
    disconnects: 0,
    bytesIn: 0,
  };
}
let win = newWindow();

interface RawMessage {
  header?: { msg_id?: string; parent_msg_id?: string };
  route?: { source?: string; group?: string; operation?: string; resource?: string };
  content?: unknown;
}

const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function nodeStatus() {
  const now = seconds(new Date());
  return {
    capacity: { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "50Gi" },
    allocatable: { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "50Gi" },
    addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
    nodeInfo: {
      machineID: "",
      systemUUID: "",
      bootID: "",
      kernelVersion: "6.1.0",
      osImage: "Debian GNU/Linux 12 (bookworm)",
      containerRuntimeVersion: "containerd://1.6.20",
      kubeletVersion: "v1.34.4-kedge",
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
    conditions: [{
      type: "Ready",
      status: "True",
      reason: "EdgeReady",
      message: "edgecore is posting ready status",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    }],
  };
}

function runningStatus(uid: string, index: number) {
  const now = seconds(new Date());
  const condition = (type: string) => ({
    type,
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: now,
  });
  const podIP = `10.${88 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
  return {
    metadata: { uid },
    status: {
      phase: "Running",
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .map(
          condition,
        ),
      hostIP: "127.0.0.1",
      hostIPs: [{ ip: "127.0.0.1" }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: now,
      containerStatuses: [{
        name: "c",
        ready: true,
        started: true,
        restartCount: 0,
        image: "kedge/pause:1",
        imageID: "",
        containerID: `containerd://${crypto.randomUUID().replaceAll("-", "")}`,
        state: { running: { startedAt: now } },
      }],
    },
  };
}

let podIndex = 0;

function edge(creds: Credentials, ws: WebSocket, onNodeSeen: () => void): Promise<void> {
  const node = creds.name;
  let nodeSeen = false;
  const send = (message: Message) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encode(message));
  };
  const request = (kind: Kind, message: Message): Promise<RawMessage> => {
    win.sent[kind]++;
    return new Promise((resolve) => {
      pending.set(message.header.msg_id, { kind, at: performance.now(), resolve });
      send(message);
    });
  };
  const fire = (kind: Kind, message: Message) => {
    win.sent[kind]++;
    pending.set(message.header.msg_id, { kind, at: performance.now() });
    send(message);
  };
  ws.on("message", (data: Uint8Array) => {
    win.bytesIn += data.length;
    let m: RawMessage;
    try {
      m = JSON.parse(new TextDecoder().decode(data));
    } catch {
      return;
    }
    const op = m.route?.operation;
    const parent = m.header?.parent_msg_id;
    if ((op === "response" || op === "error") && parent) {
      const waiting = pending.get(parent);
      if (!waiting) return;
      pending.delete(parent);
      if (op === "error") {
        win.errors[waiting.kind]++;
        if (win.errorSamples.length < 5) {
          win.errorSamples.push(`${waiting.kind}: ${JSON.stringify(m.content)}`);
        }
      } else {
        win.ok[waiting.kind]++;
        win.latencies[waiting.kind].push(Math.round((performance.now() - waiting.at) * 100) / 100);
      }
      waiting.resolve?.(m);
      return;
    }
    if (op === "insert" || op === "update" || op === "patch" || op === "delete") {
      const resource = m.route?.resource ?? "";
      const type = resource.split("/")[1] ?? "?";
      win.deliveries[`${op} ${type}`] = (win.deliveries[`${op} ${type}`] ?? 0) + 1;
      send(ackOf(m as Message));
      win.acks++;
      if (type === "node" && !nodeSeen) {
        nodeSeen = true;
        onNodeSeen();
      }
      if (type === "pod" && op === "insert") {
        const pod = m.content as { metadata?: { name?: string; namespace?: string; uid?: string } };
        const { name, namespace, uid } = pod.metadata ?? {};
        if (name && namespace && uid) {
          const res = `${namespace}/podpatch/${name}`;
          fire(
            "podpatch",
            newMessage({
              source: "edged",
              group: "meta",
              operation: "patch",
              resource: res,
              content: JSON.stringify(runningStatus(uid, podIndex++)),
            }),
          );
        }
      }
    }
  });
  const every = (ms: number, fn: () => void) => {
    const first = setTimeout(() => {
      timers.delete(first);
      if (ws.readyState !== WebSocket.OPEN) return;
      fn();
      const interval = setInterval(fn, ms);
      timers.add(interval);
      ws.once("close", () => {
        clearInterval(interval);
        timers.delete(interval);
      });
    }, Math.random() * ms);
    timers.add(first);
  };
  const lease = () =>
    fire(
      "lease",
      newMessage({
        source: "edged",
        group: "meta",
        operation: "update",
        resource: `kube-node-lease/lease/${node}`,
        content: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: node, namespace: "kube-node-lease" },
          spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: microTime(new Date()) },
        },
      }),
    );
  const status = () =>
    fire(
      "nodepatch",
      newMessage({
        source: "edged",
        group: "meta",
        operation: "patch",
        resource: `default/nodepatch/${node}`,
        content: JSON.stringify({ status: nodeStatus() }),
      }),
    );
  return (async () => {
    await request(
      "report",
      newMessage({
        source: "edgehub",
        group: "resource",
        operation: "update",
        resource: `null/objectsync/${node}`,
        content: { objects: [] },
      }),
    );
    const reply = await request(
      "register",
      newMessage({
        source: "edged",
        group: "meta",
        operation: "insert",
        resource: `default/node/${node}`,
        content: {
          apiVersion: "v1",
          kind: "Node",
          metadata: {
            name: node,
            labels: { "node-role.kubernetes.io/edge": "", "node-role.kubernetes.io/agent": "" },
          },
          spec: {},
          status: nodeStatus(),
        },
      }),
    );
    if (reply.route?.operation === "error") {
      throw new Error(`register ${node}: ${JSON.stringify(reply.content)}`);
    }
    every(LEASE_EVERY_MS, lease);
    every(STATUS_EVERY_MS, status);
    every(KEEPALIVE_EVERY_MS, () => send(keepaliveMessage()));
  })();
}

function dial(creds: Credentials): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/p/${creds.name}/events`, {
      ca: caPem,
      cert: creds.certPem,
      key: creds.keyPem,
      headers: { node_id: creds.name, project_id: "p" },
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    let opened = false;
    ws.on("error", (err) => {
      if (!opened) reject(err);
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      ws.terminate();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.once("open", () => {
      opened = true;
      sockets.add(ws);
      ws.once("close", () => {
        sockets.delete(ws);
        if (!stopping) win.disconnects++;
      });
      resolve(ws);
    });
  });
}

async function connectAll(): Promise<void> {
  const started = performance.now();
  let seen = 0;
  const onNodeSeen = () => {
    if (++seen === all.length) print({ event: "nodesSeen", ms: Math.round(performance.now() - started) });
  };
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < all.length && !stopping) {
      const creds = all[next++]!;
      try {
        const ws = await dial(creds);
        await edge(creds, ws, onNodeSeen);
      } catch (err) {
        failures.push(`${creds.name}: ${err instanceof Error ? err.message : err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  print({
    event: "registered",
    ok: all.length - failures.length,
    failed: failures.length,
    failures: failures.slice(0, 5),
    ms: Math.round(performance.now() - started),
  });
}

// Requests the cloud never answered count as errors after REQUEST_TIMEOUT_MS.
const sweeper = setInterval(() => {
  const cutoff = performance.now() - REQUEST_TIMEOUT_MS;
  for (const [id, p] of pending) {
    if (p.at >= cutoff) break;
    pending.delete(id);
    win.errors[p.kind]++;
    if (win.errorSamples.length < 5) win.errorSamples.push(`${p.kind}: no reply in ${REQUEST_TIMEOUT_MS} ms`);
    p.resolve?.({ route: { operation: "error" }, content: "timeout" });
  }
}, 1_000);

const lag = { max: 0 };
let tickAt = performance.now();
const lagTimer = setInterval(() => {
  const now = performance.now();
  lag.max = Math.max(lag.max, now - tickAt - 100);
  tickAt = now;
}, 100);

let exited = false;
function exit(code: number): void {
  if (exited) return;
  exited = true;
  stopping = true;
  clearTimeout(deadline);
  clearInterval(sweeper);
  clearInterval(lagTimer);
  for (const t of timers) clearTimeout(t);
  for (const ws of sockets) ws.terminate();
  Deno.exit(code);
}
const deadline = setTimeout(() => {
  console.error(`nodes_pods_edges: ran past --max-seconds ${maxSeconds}, exiting`);
  exit(2);
}, maxSeconds * 1000);

void connectAll().catch((err) => {
  console.error(`nodes_pods_edges: ${err instanceof Error ? err.message : err}`);
  exit(1);
});

const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const command = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (command === "mark") {
      win = newWindow();
      lag.max = 0;
      print({ event: "marked" });
    } else if (command === "report") {
      const cpu = process.cpuUsage(win.cpu);
      print({
        event: "report",
        windowMs: performance.now() - win.startedAt,
        open: sockets.size,
        deliveries: win.deliveries,
        acks: win.acks,
        sent: win.sent,
        ok: win.ok,
        errors: win.errors,
        errorSamples: win.errorSamples,
        latencies: win.latencies,
        inFlight: pending.size,
        disconnects: win.disconnects,
        bytesIn: win.bytesIn,
        cpuUs: cpu.user + cpu.system,
        rss: Deno.memoryUsage().rss,
        loopLagMaxMs: Math.round(lag.max),
      });
    } else if (command === "quit") exit(0);
  }
}
exit(0);
