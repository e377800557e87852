// The node's voice in the cloud: registers the Node on every connect, looks at its status every
// nodeStatusUpdateFrequency and patches it when it changed or nodeStatusReportFrequency has passed (as the
// kubelet does once Leases carry the heartbeat), and renews its Lease, so kube-controller-manager sees it
// Ready within seconds of a reconnect (KubeEdge #6184: NotReady after reconnect).
import type { Logger } from "../../lib/log.ts";
import { buildResource, newMessage, replyOutcome } from "../../lib/protocol/mod.ts";
import type { Uplink, UpstreamSender } from "../meta/upstream.ts";
import type { NodeFacts } from "./node_info.ts";

export interface NodeAgentOptions {
  nodeName: string;
  labels: Record<string, string>;
  facts: () => NodeFacts;
  kubeletPort: number;
  /**
   * What the node reports of its own endpoints: addresses and kubelet port (true), nothing (false: kedge's
   * cloud publishes both for its stream tunnel), or asked at each report: "addresses" (the InternalIP) on a
   * KubeEdge cloud, which publishes only the port (docs/streaming.md).
   */
  reportEndpoints: boolean | (() => "all" | "addresses" | "none");
  statusEveryMs: number;
  /** An unchanged status is still reported this often (the kubelet's nodeStatusReportFrequency). */
  reportEveryMs: number;
  leaseDurationSeconds: number;
  uplink: Uplink;
  upstream: UpstreamSender;
  log: Logger;
  signal: AbortSignal;
}

export const EDGE_ROLE_LABELS = { "node-role.kubernetes.io/edge": "", "node-role.kubernetes.io/agent": "" };

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Go's names for the machine's architecture, as the kubelet puts them in kubernetes.io/arch. */
const GO_ARCH: Readonly<Record<string, string>> = { x86_64: "amd64", aarch64: "arm64" };

/**
 * The labels a kubelet sets on its own Node (hostname, os, arch, and their beta forms): the scheduler's
 * nodeSelectors and topology spreads, and many conformance tests, select nodes by them.
 */
export function kubeletLabels(nodeName: string): Record<string, string> {
  const arch = GO_ARCH[Deno.build.arch] ?? Deno.build.arch;
  const os = Deno.build.os;
  return {
    "kubernetes.io/hostname": nodeName,
    "kubernetes.io/os": os,
    "kubernetes.io/arch": arch,
    "beta.kubernetes.io/os": os,
    "beta.kubernetes.io/arch": arch,
  };
}

/** RFC 3339 in whole seconds, as the apiserver writes metav1.Time. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class NodeAgent {
  #timers: Array<ReturnType<typeof setInterval>> = [];
  /** The Lease's resourceVersion from the cloud's last answer; unknown until queried. */
  #leaseVersion: string | undefined;
  /** The last status sent, without its heartbeat time, and when. */
  #reported: { readonly json: string; readonly at: number } | undefined;
  /** Ready has been True since the agent started: its transition time does not move. */
  readonly #readySince = rfc3339(new Date());

  constructor(private readonly options: NodeAgentOptions) {
    options.signal.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** Starts the periodic status and lease updates. */
  start(): void {
    const { statusEveryMs, leaseDurationSeconds } = this.options;
    this.#timers.push(setInterval(() => this.patchStatus(false), statusEveryMs));
    // The kubelet renews at a quarter of the lease duration.
    this.#timers.push(setInterval(() => void this.renewLease(), (leaseDurationSeconds * 1000) / 4));
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  /** On every (re)connect: the Node, then fresh status and lease at once. */
  async onConnected(): Promise<void> {
    try {
      await this.register();
    } catch (error) {
      this.options.log.warn("node registration failed", { error });
    }
    this.patchStatus(true);
    await this.renewLease();
  }

  async register(): Promise<void> {
    const { nodeName, uplink } = this.options;
    // Cluster-scoped: namespace "null" on the wire, as KubeEdge's edged sends it.
    const resource = buildResource({ namespace: null, type: "node", name: nodeName });
    const node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: nodeName,
        labels: { ...kubeletLabels(nodeName), ...this.options.labels, ...EDGE_ROLE_LABELS },
      },
      spec: {},
      status: this.#status(),
    };
    const reply = await uplink.request(
      newMessage({ source: "edged", group: "meta", operation: "insert", resource, content: node }),
      10_000,
    );
    const outcome = replyOutcome(reply);
    // An existing Node is registered already (KubeEdge's cloud answers AlreadyExists).
    if (!outcome.ok && outcome.statusReason !== "AlreadyExists") {
      throw new Error(`Cannot register node: ${outcome.reason}`);
    }
    this.options.log.info("node registered", { node: nodeName });
  }

  /** Sends the status when `always`, when it changed, or when the last report is reportEveryMs old. */
  patchStatus(always: boolean): void {
    const { nodeName, upstream, reportEveryMs } = this.options;
    const status = this.#status();
    const json = JSON.stringify(status, (key, value) => key === "lastHeartbeatTime" ? undefined : value);
    const now = performance.now();
    const last = this.#reported;
    if (!always && last?.json === json && now - last.at < reportEveryMs) return;
    this.#reported = { json, at: now };
    const resource = buildResource({ namespace: null, type: "nodepatch", name: nodeName });
    const content = JSON.stringify({ status });
    upstream.send(
      resource,
      newMessage({ source: "edged", group: "meta", operation: "patch", resource, content }),
    );
  }

  /**
   * Renews the Lease as the kubelet does: its resourceVersion from the last answer (a query first when
   * unknown, an insert when there is none), then an update with it; a refused update forgets the version so
   * the next renewal asks again. KubeEdge's cloud updates exactly what it is given, so the version matters.
   */
  async renewLease(): Promise<void> {
    const { nodeName, uplink, leaseDurationSeconds, log } = this.options;
    // A lease renewed late is worthless, so it never waits in the outbox.
    if (!uplink.connected) return;
    const resource = buildResource({ namespace: "kube-node-lease", type: "lease", name: nodeName });
    const lease = (resourceVersion?: string) => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: nodeName,
        namespace: "kube-node-lease",
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      spec: { holderIdentity: nodeName, leaseDurationSeconds, renewTime: microTime(new Date()) },
    });
    const ask = async (operation: "query" | "insert" | "update", content: unknown) =>
      replyOutcome(
        await uplink.request(
          newMessage({ source: "edged", group: "meta", operation, resource, content }),
          10_000,
        ),
      );
    const versionOf = (object: unknown) =>
      (object as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
    try {
      if (this.#leaseVersion === undefined) {
        const found = await ask("query", null);
        if (found.ok) this.#leaseVersion = versionOf(found.object);
        else if (found.statusReason === "NotFound") {
          const created = await ask("insert", lease());
          if (!created.ok) throw new Error(`Cannot create lease: ${created.reason}`);
          this.#leaseVersion = versionOf(created.object);
          return;
        } else throw new Error(`Cannot read lease: ${found.reason}`);
      }
      const renewed = await ask("update", lease(this.#leaseVersion));
      this.#leaseVersion = renewed.ok ? versionOf(renewed.object) : undefined;
      if (!renewed.ok) log.warn("lease renewal refused", { reason: renewed.reason });
    } catch (error) {
      this.#leaseVersion = undefined;
      log.info("lease renewal failed", { error });
    }
  }

  #status() {
    const facts = this.options.facts();
    const now = rfc3339(new Date());
    const option = this.options.reportEndpoints;
    const report = typeof option === "function" ? option() : option ? "all" : "none";
    const endpoints = report === "all"
      ? {
        addresses: facts.addresses,
        daemonEndpoints: { kubeletEndpoint: { Port: this.options.kubeletPort } },
      }
      : report === "addresses"
      // The InternalIP only: kube-apiserver prefers a Hostname address, which the cloud cannot resolve.
      ? { addresses: facts.addresses.filter((a) => a.type === "InternalIP") }
      : {};
    return {
      capacity: facts.capacity,
      allocatable: facts.capacity,
      ...endpoints,
      nodeInfo: facts.nodeInfo,
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "EdgeReady",
        message: "edgecore is posting ready status",
        lastHeartbeatTime: now,
        lastTransitionTime: this.#readySince,
      }],
    };
  }
}
