/**
 * One simulated edge node: a `ws` client with the node's own certificate that does on the wire what kedge's
 * edgecore does, without running containers:
 *
 * - keeps what it holds exactly as edge/store does (one entry per wire resource: uid, resourceVersion;
 *   newest resourceVersion wins per uid, another uid under the same resource replaces it, a delete removes
 *   it only when the uid matches) and acks every delivery after applying it; devices from `membership`;
 * - on every (re)connect: the holdings report (not awaited), the Node registration (AlreadyExists is
 *   registered), then Lease and node status at once and every 10 s, keepalive every 15 s; deletes of
 *   terminating pods it still holds go up again. The Lease as edge/node renews it: a query when its
 *   resourceVersion is unknown, an insert on NotFound, then updates with the version of the last answer;
 * - replies read in both dialects (lib/protocol replyOutcome);
 * - one Running `podpatch` per new pod, whose reply's pod it stores (as edge/meta/patch_replies.ts); a pod with a deletionTimestamp is reported deleted (`delete
 *   <ns>/pod/<name>`, as edge/meta/pod_status.ts does once its containers are gone);
 * - optionally a twin report per held device every `twinEveryMs`;
 * - reconnects with full-jitter backoff (1 s to 30 s, as edge/hub) when the socket drops.
 */
import { WebSocket } from "ws";
import {
  ackOf,
  encode,
  keepaliveMessage,
  type Message,
  parseResource,
  type ReplyOutcome,
  replyOutcome,
  responseTo,
} from "../lib/protocol/mod.ts";
import {
  dialEdge,
  type EdgeCredentials,
  everyWhileOpen,
  type HeldObject,
  holdingsReport,
  leaseMessage,
  nodeStatusPatch,
  podDeleted,
  podRunningPatch,
  registerNode,
  twinReport,
} from "./edge_sim_messages.ts";
import { HeldStore } from "./edge_sim_store.ts";
import type { Kind, SimCounters } from "./edge_sim_counters.ts";

export interface SimEdgeOptions {
  readonly port: number;
  readonly caPem: string;
  readonly creds: EdgeCredentials;
  readonly counters: () => SimCounters;
  readonly twinEveryMs?: number;
  readonly onNodeSeen?: () => void;
  /** A process-wide counter for distinct pod IPs. */
  readonly nextPodIndex: () => number;
}

/** Object types edge/meta/apply.ts stores; others are acked and dropped. */
// As edge/store: Devices and DeviceModels are stored too, for DMI mappers.
const STORED_TYPES = new Set([
  "pod",
  "configmap",
  "secret",
  "node",
  "service",
  "endpoints",
  "device",
  "devicemodel",
]);
const LEASE_EVERY_MS = 10_000;
const STATUS_EVERY_MS = 10_000;
const KEEPALIVE_EVERY_MS = 15_000;
const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;

interface RawMessage {
  header?: { msg_id?: string; parent_msg_id?: string; resourceversion?: string };
  route?: { source?: string; group?: string; operation?: string; resource?: string };
  content?: unknown;
}
/** A reply in either dialect (kedge's `error`, KubeEdge's `response` with an Err status). */
function replyOf(m: RawMessage): ReplyOutcome {
  return replyOutcome({ route: {}, ...m } as Message);
}

interface Waiting {
  kind: Kind;
  at: number;
  resolve: (m: RawMessage) => void;
}

export class SimEdge {
  readonly name: string;
  readonly #o: SimEdgeOptions;
  /** wire resource -> what is held under it, as edge/store's meta table. */
  readonly #held = new HeldStore();
  readonly #devices = new Set<string>();
  /** device -> the last reported value the cloud answered "OK" to. */
  readonly #twinAcked = new Map<string, string>();
  readonly #twinInFlight = new Set<string>();
  readonly #runningSent = new Set<string>();
  readonly #deleteSent = new Set<string>();
  readonly #pending = new Map<string, Waiting>();
  #ws: WebSocket | undefined;
  #attempt = 0;
  #stopped = false;
  #nodeSeen = false;
  #twinValue = 0;
  #twinsPaused = false;
  /** The Lease's resourceVersion from the cloud's last answer (kept across reconnects, as edge/node does). */
  #leaseVersion: string | undefined;

  constructor(options: SimEdgeOptions) {
    this.#o = options;
    this.name = options.creds.name;
  }

  /** First connection: resolves once registered; rejects when that attempt fails (the edge keeps trying). */
  start(): Promise<void> {
    return this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#ws?.terminate();
  }

  /** Stops (or resumes) the twin reports, so the cloud's view can settle before a comparison. */
  pauseTwins(paused: boolean): void {
    this.#twinsPaused = paused;
  }

  get open(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** What this edge holds: its objects (as it reports them), devices, and acknowledged twin values. */
  holdings(): { objects: HeldObject[]; devices: string[]; twins: Record<string, string> } {
    return {
      objects: this.#held.objects(),
      devices: [...this.#devices].sort(),
      twins: Object.fromEntries(this.#twinAcked),
    };
  }

  /** Fails requests sent before `cutoff` (performance.now()) that got no reply. */
  sweep(cutoff: number): void {
    for (const [id, waiting] of this.#pending) {
      if (waiting.at >= cutoff) break;
      this.#fail(id, waiting, "no reply in time");
    }
  }

  async #connect(): Promise<void> {
    let ws: WebSocket;
    try {
      ws = await dialEdge(this.#o.port, this.#o.caPem, this.name, this.#o.creds);
    } catch (error) {
      this.#retry();
      throw error;
    }
    if (this.#stopped) return void ws.terminate();
    this.#ws = ws;
    this.#o.counters().connects++;
    ws.on("message", (data: Uint8Array) => this.#receive(data));
    ws.once("close", () => {
      for (const [id, waiting] of this.#pending) this.#fail(id, waiting, "disconnected");
      this.#deleteSent.clear();
      this.#twinInFlight.clear();
      if (this.#stopped) return;
      this.#o.counters().disconnects++;
      this.#retry();
    });
    // As edgecore's onConnected: holdings first, not awaited (the cloud sends the difference), then the Node,
    // then the status and lease at once; a refused registration is logged there and the edge goes on.
    this.#fire("report", holdingsReport(this.name, this.holdings().objects));
    const registered = replyOf(await this.#request("register", registerNode(this.name)));
    if (ws.readyState !== WebSocket.OPEN) throw new Error(`Cannot register ${this.name}: disconnected`);
    this.#attempt = 0;
    this.#patchNodeStatus();
    void this.#renewLease();
    for (const [resource, held] of this.#held.entries()) {
      if (held.terminating) this.#reportDeleted(resource, held.uid);
    }
    everyWhileOpen(ws, LEASE_EVERY_MS, () => void this.#renewLease());
    everyWhileOpen(ws, STATUS_EVERY_MS, () => this.#patchNodeStatus());
    everyWhileOpen(ws, KEEPALIVE_EVERY_MS, () => this.#send(keepaliveMessage()));
    if (this.#o.twinEveryMs) everyWhileOpen(ws, this.#o.twinEveryMs, () => this.#reportTwins());
    if (!registered.ok && registered.statusReason !== "AlreadyExists") {
      throw new Error(`Cannot register ${this.name}: ${registered.reason}`);
    }
  }

  /** edge/node/node_agent.ts renewLease: query when the version is unknown, insert on NotFound, else update. */
  async #renewLease(): Promise<void> {
    const versionOf = (o: ReplyOutcome) =>
      o.ok
        ? (o.object as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion
        : undefined;
    if (this.#leaseVersion === undefined) {
      const found = replyOf(await this.#request("leasequery", leaseMessage(this.name, "query")));
      if (found.ok) this.#leaseVersion = versionOf(found);
      else if (found.statusReason === "NotFound") {
        this.#leaseVersion = versionOf(
          replyOf(await this.#request("leasecreate", leaseMessage(this.name, "insert"))),
        );
        return;
      } else return;
    }
    const renewed = replyOf(
      await this.#request("lease", leaseMessage(this.name, "update", this.#leaseVersion)),
    );
    this.#leaseVersion = versionOf(renewed);
  }

  #retry(): void {
    if (this.#stopped) return;
    const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_INITIAL_MS * 2 ** this.#attempt++);
    setTimeout(() => void this.#connect().catch(() => {}), delay);
  }

  #send(message: Message): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(encode(message));
  }

  #request(kind: Kind, message: Message): Promise<RawMessage> {
    this.#o.counters().sent[kind]++;
    return new Promise((resolve) => {
      const waiting = { kind, at: performance.now(), resolve };
      this.#pending.set(message.header.msg_id, waiting);
      if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(encode(message));
      else this.#fail(message.header.msg_id, waiting, "not connected");
    });
  }

  #fire(kind: Kind, message: Message, onReply?: (ok: boolean) => void): void {
    void this.#request(kind, message).then((m) => onReply?.(replyOf(m).ok));
  }

  #fail(id: string, waiting: Waiting, why: string): void {
    this.#pending.delete(id);
    const c = this.#o.counters();
    c.errors[waiting.kind]++;
    if (c.errorSamples.length < 5) c.errorSamples.push(`${this.name} ${waiting.kind}: ${why}`);
    waiting.resolve({ route: { operation: "error" }, content: why });
  }

  #receive(data: Uint8Array): void {
    const c = this.#o.counters();
    c.bytesIn += data.length;
    let m: RawMessage;
    try {
      m = JSON.parse(new TextDecoder().decode(data));
    } catch {
      return;
    }
    const op = m.route?.operation ?? "";
    const parent = m.header?.parent_msg_id;
    if ((op === "response" || op === "error") && parent) {
      const waiting = this.#pending.get(parent);
      if (!waiting) return;
      this.#pending.delete(parent);
      const outcome = replyOf(m);
      if (!outcome.ok) {
        c.errors[waiting.kind]++;
        if (c.errorSamples.length < 5) c.errorSamples.push(`${this.name} ${waiting.kind}: ${outcome.reason}`);
      } else {
        c.ok[waiting.kind]++;
        c.latencies[waiting.kind].push(Math.round((performance.now() - waiting.at) * 100) / 100);
      }
      waiting.resolve(m);
      return;
    }
    if (op === "ping" || op === "pong" || op === "config") return this.#send(responseTo(m as Message, "ack"));
    if (op === "keepalive" || op === "response" || op === "error" || !m.header?.msg_id) return;
    const resource = m.route?.resource ?? "";
    const parsed = parseResource(resource);
    const what = parsed.ok ? (parsed.value.kind === "object" ? parsed.value.type : parsed.value.kind) : "?";
    c.deliveries[`${op} ${what}`] = (c.deliveries[`${op} ${what}`] ?? 0) + 1;
    if (parsed.ok && parsed.value.kind === "object" && m.route?.group === "resource") {
      if (STORED_TYPES.has(parsed.value.type)) this.#apply(op, resource.replace(/^node\/[^/]+\//, ""), m);
    } else if (parsed.ok && parsed.value.kind === "membership") {
      this.#membership(parsed.value.subresource, m.content);
    }
    // edgecore acks every delivery once applied (the hub for objects, edge/devices for the rest).
    this.#send(ackOf(m as Message));
    c.acks++;
  }

  /** Node status at KubeEdge's rate; the reply's Node is stored, as edge/meta/patch_replies.ts does. */
  #patchNodeStatus(): void {
    const key = `null/node/${this.name}`;
    void this.#request("nodepatch", nodeStatusPatch(this.name)).then((m) => {
      const outcome = replyOf(m);
      if (outcome.ok && this.#held.get(key)) this.#apply("update", key, { content: outcome.object });
    });
  }

  /** edge/meta/apply.ts: insert and update store (newest resourceVersion wins), delete by uid; patch is ignored. */
  /** Stores the delivery; a new pod gets its Running patch, a terminating one its delete. */
  #apply(op: string, key: string, m: RawMessage): void {
    const result = this.#held.apply(op, key, m.content, m.header?.resourceversion);
    if (result.outcome === "deleted") this.#runningSent.delete(result.uid);
    if (result.outcome !== "stored") return;
    if (result.replacedUid) this.#runningSent.delete(result.replacedUid);
    const { uid, terminating } = result.entry;
    const type = key.split("/")[1];
    if (type === "node" && !this.#nodeSeen) {
      this.#nodeSeen = true;
      this.#o.onNodeSeen?.();
    }
    if (type !== "pod") return;
    if (terminating) this.#reportDeleted(key, uid);
    else if (!this.#runningSent.has(uid)) {
      this.#runningSent.add(uid);
      const [namespace = "", , name = ""] = key.split("/");
      // As edge/meta/patch_replies.ts: the reply's pod is stored (the cloud sends no echo of it).
      void this.#request("podpatch", podRunningPatch(namespace, name, uid, this.#o.nextPodIndex())).then(
        (m) => {
          const outcome = replyOf(m);
          if (!outcome.ok || this.#held.get(key)?.uid !== uid) return;
          this.#apply("update", key, { content: outcome.object });
        },
      );
    }
  }

  #reportDeleted(key: string, uid: string): void {
    if (this.#deleteSent.has(uid)) return;
    this.#deleteSent.add(uid);
    const [namespace = "", , name = ""] = key.split("/");
    // Not before the containers would be gone: a moment later, as a kubelet with a short grace period.
    setTimeout(() => {
      if (this.#held.get(key)?.uid !== uid) return;
      this.#fire("poddelete", podDeleted(namespace, name, uid), (ok) => {
        if (!ok) this.#deleteSent.delete(uid);
      });
    }, 200 + Math.random() * 800);
  }

  /** edge/devices/cloud_messages.ts: `membership` adds/removes, `membership/detail` is the whole set. */
  #membership(subresource: string | undefined, raw: unknown): void {
    const content = (typeof raw === "string" ? JSON.parse(raw) : raw) as {
      added_devices?: Array<{ id: string }> | null;
      removed_devices?: Array<{ id: string }> | null;
      devices?: Array<{ id: string }> | null;
    };
    if (subresource === "detail") {
      this.#devices.clear();
      for (const d of content.devices ?? []) this.#devices.add(d.id);
    } else if (subresource === undefined) {
      for (const d of content.removed_devices ?? []) this.#devices.delete(d.id);
      for (const d of content.added_devices ?? []) this.#devices.add(d.id);
    }
    for (const id of this.#twinAcked.keys()) if (!this.#devices.has(id)) this.#twinAcked.delete(id);
  }

  #reportTwins(): void {
    if (this.#twinsPaused) return;
    for (const id of this.#devices) {
      if (this.#twinInFlight.has(id)) continue;
      this.#twinInFlight.add(id);
      const value = String(++this.#twinValue);
      this.#fire("twin", twinReport(id, "temperature", value), (ok) => {
        this.#twinInFlight.delete(id);
        if (ok && this.#devices.has(id)) this.#twinAcked.set(id, value);
      });
    }
  }
}
