// Helpers for pod manager tests: a manager with test timings on the harness's containerd, an in-memory
// ConfigMap/Secret lookup, a status recorder, and polling.
import { join } from "node:path";
import { createCriClient, type CriClient } from "../../edge/cri/mod.ts";
import {
  type ConfigMapData,
  type ObjectKind,
  type ObjectLookup,
  type Pod,
  type PodManager,
  type PodManagerOptions,
  type PodStatus,
  type PodStatusSink,
  type SecretData,
  startPodManager,
} from "../../edge/pods/mod.ts";
import { createLogger } from "../../lib/log.ts";
import type { TestRuntime } from "./mod.ts";

export interface MemoryObjects extends ObjectLookup {
  setConfigMap(namespace: string, name: string, data: ConfigMapData): void;
  setSecret(namespace: string, name: string, data: SecretData): void;
}

export function memoryObjects(): MemoryObjects {
  const store = new Map<string, ConfigMapData | SecretData>();
  const listeners = new Set<(kind: ObjectKind, ns: string, name: string) => void>();
  const set = (kind: ObjectKind, ns: string, name: string, data: ConfigMapData | SecretData) => {
    store.set(`${kind}/${ns}/${name}`, data);
    for (const l of listeners) l(kind, ns, name);
  };
  return {
    configMap: (ns, name) =>
      Promise.resolve(store.get(`ConfigMap/${ns}/${name}`) as ConfigMapData | undefined),
    secret: (ns, name) => Promise.resolve(store.get(`Secret/${ns}/${name}`) as SecretData | undefined),
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setConfigMap: (ns, name, data) => set("ConfigMap", ns, name, data),
    setSecret: (ns, name, data) => set("Secret", ns, name, data),
  };
}

/** Records every status the manager reports, per pod UID. */
export class StatusRecorder implements PodStatusSink {
  readonly history = new Map<string, PodStatus[]>();
  readonly removed = new Set<string>();
  podStatusChanged(pod: { uid: string }, status: PodStatus): void {
    const list = this.history.get(pod.uid) ?? [];
    list.push(structuredClone(status));
    this.history.set(pod.uid, list);
  }
  podRemoved(pod: { uid: string }): void {
    this.removed.add(pod.uid);
  }
}

export interface TestManager {
  readonly manager: PodManager;
  readonly cri: CriClient;
  readonly statuses: StatusRecorder;
  stop(): Promise<void>;
}

export async function startTestManager(
  rt: TestRuntime,
  overrides: Partial<PodManagerOptions> = {},
  criTimeoutMs = 30_000,
): Promise<TestManager> {
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: criTimeoutMs });
  const statuses = new StatusRecorder();
  const manager = await startPodManager({
    cri,
    nodeName: "edge-test",
    rootDirectory: join(rt.run.path, "edged"),
    podLogsDirectory: join(rt.run.path, "pod-logs"),
    podSandboxImage: rt.images.pause,
    statusSink: statuses,
    log: createLogger({
      level: Deno.env.get("KEDGE_TEST_LOG") === "1" ? "debug" : "error",
      component: "pods",
    }),
    hostIP: "127.0.0.1",
    relistPeriodMs: 300,
    resyncPeriodMs: 2000,
    crashLoopBackoff: { initialMs: 1000, maxMs: 8000 },
    imagePullBackoff: { initialMs: 1000, maxMs: 8000 },
    gcPeriodMs: 3_600_000,
    ...overrides,
  });
  return {
    manager,
    cri,
    statuses,
    async stop() {
      await manager.stop();
      cri.close();
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** A pod named `name` with a fresh UID in namespace default. */
export function testPod(name: string, spec: Pod["spec"], meta: Partial<Pod["metadata"]> = {}): Pod {
  return { metadata: { name, namespace: "default", uid: crypto.randomUUID(), ...meta }, spec };
}

export function containerId(status: PodStatus | undefined, name: string): string | undefined {
  return status?.containerStatuses.find((c) => c.name === name)?.containerID?.replace("containerd://", "");
}

export async function exec(cri: CriClient, id: string, script: string): Promise<string> {
  const reply = await cri.execSync(id, ["sh", "-c", script], 10);
  return new TextDecoder().decode(reply.stdout);
}
