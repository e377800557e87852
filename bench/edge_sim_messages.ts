/**
 * What a simulated edge puts on the wire, built as kedge's edgecore builds it (edge/node/node_agent.ts,
 * edge/meta/pod_status.ts, edge/meta/resync.ts, edge/devices/report_uplink.ts), and the socket helpers the
 * simulated-edge processes share (bench/edge_sim.ts, bench/cloudhub_client.ts).
 */
import { WebSocket } from "ws";
import { buildTwinResource, type Message, newMessage, TWIN_EDGE_UPDATED } from "../lib/protocol/mod.ts";

export interface EdgeCredentials {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface HeldObject {
  readonly uid: string;
  readonly resourceVersion: string;
  readonly resource: string;
}

/**
 * Opens the edge's WebSocket as edge/hub does: its client certificate, the node_id/project_id headers, and
 * ConnectionUse: msg (which KubeEdge's cloudhub needs to read frames).
 */
export function dialEdge(
  port: number,
  caPem: string,
  node: string,
  creds: Pick<EdgeCredentials, "certPem" | "keyPem">,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/p/${node}/events`, {
      ca: caPem,
      cert: creds.certPem,
      key: creds.keyPem,
      headers: { node_id: node, project_id: "p", ConnectionUse: "msg" },
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
      resolve(ws);
    });
  });
}

/** Runs `fn` every `ms` from a random phase while `ws` is open; stops when it closes. */
export function everyWhileOpen(ws: WebSocket, ms: number, fn: () => void): void {
  let interval: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    fn();
    interval = setInterval(fn, ms);
  }, Math.random() * ms);
  ws.once("close", () => {
    clearTimeout(first);
    clearInterval(interval);
  });
}

const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** `update null/objectsync/<node>`: what the edge holds, sent first on every connect (docs/resync.md). */
export function holdingsReport(node: string, objects: HeldObject[]): Message {
  return newMessage({
    source: "edgehub",
    group: "resource",
    operation: "update",
    resource: `null/objectsync/${node}`,
    content: { objects },
  });
}

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

/** `insert null/node/<node>`: the Node with the edge role labels, sent on every connect. */
export function registerNode(node: string): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "insert",
    resource: `null/node/${node}`,
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
  });
}

/**
 * `query`, `insert` or `update kube-node-lease/lease/<node>` as the kubelet renews it (edge/node): 40 s
 * duration, renewed now, with the resourceVersion of the cloud's last answer.
 */
export function leaseMessage(
  node: string,
  operation: "query" | "insert" | "update",
  resourceVersion?: string,
): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation,
    resource: `kube-node-lease/lease/${node}`,
    content: operation === "query" ? null : {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: node, namespace: "kube-node-lease", ...(resourceVersion ? { resourceVersion } : {}) },
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: microTime(new Date()) },
    },
  });
}

/** `patch null/nodepatch/<node>`: the node status, a JSON string as upstream sends it. */
export function nodeStatusPatch(node: string): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "patch",
    resource: `null/nodepatch/${node}`,
    content: JSON.stringify({ status: nodeStatus() }),
  });
}

/** `patch <ns>/podpatch/<name>`: phase Running, every condition True; `index` makes a distinct pod IP. */
export function podRunningPatch(namespace: string, name: string, uid: string, index: number): Message {
  const now = seconds(new Date());
  const condition = (type: string) => ({
    type,
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: now,
  });
  const podIP = `10.${88 + ((index >> 16) & 7)}.${(index >> 8) & 255}.${index & 255}`;
  const status = {
    phase: "Running",
    conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(
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
  };
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "patch",
    resource: `${namespace}/podpatch/${name}`,
    content: JSON.stringify({ metadata: { uid }, status }),
  });
}

/**
 * `delete <ns>/pod/<name>`: the pod whose deletion the cloud asked for is gone from the node; DeleteOptions
 * with the uid precondition and grace 0, as edge/meta/pod_status.ts (and KubeEdge's edged) sends them.
 */
export function podDeleted(namespace: string, name: string, uid: string): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "delete",
    resource: `${namespace}/pod/${name}`,
    content: { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0, preconditions: { uid } },
  });
}

/** `update device/<ns>/<name>/twin/edge_updated`: a reported (actual) value of one property. */
export function twinReport(deviceId: string, property: string, value: string, type = "int"): Message {
  const slash = deviceId.indexOf("/");
  const namespace = deviceId.slice(0, slash);
  const name = deviceId.slice(slash + 1);
  const timestamp = Date.now();
  return newMessage({
    source: "twin",
    group: "resource",
    operation: "update",
    resource: buildTwinResource({ namespace, name, event: TWIN_EDGE_UPDATED }),
    content: {
      event_id: crypto.randomUUID(),
      timestamp,
      twin: { [property]: { actual: { value, metadata: { timestamp } }, metadata: { type } } },
    },
  });
}
