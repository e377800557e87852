// Loading the kubeconfig cloudcore talks to the apiserver with. @kubernetes/client-node is imported lazily so
// `--help`, `--version` and runs without a kubeconfig do not pay for loading it.
import type { Cluster, DispatcherOptions, KubeConfig } from "@kubernetes/client-node";
import type { AgentOptions } from "node:https";
import { ConfigError } from "../../lib/errors.ts";

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** The current cluster's server URL. */
  readonly server: string;
}

/**
 * Loads the kubeconfig named by `kubeAPIConfig.kubeConfig`. One that cannot be used is a problem of the
 * cloudcore config `configFile`, so it throws ConfigError (exit 78). Every request made with it shares one
 * connection pool (see {@link shareDispatcher}).
 */
export async function loadKubeConfig(path: string, configFile: string): Promise<LoadedKubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  try {
    // "" is in-cluster (the pod's service account) or, outside a cluster, $KUBECONFIG / ~/.kube/config.
    if (path === "") kubeConfig.loadFromDefault();
    else kubeConfig.loadFromFile(path);
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new TypeError("Cannot use kubeconfig: it has no current cluster");
    shareDispatcher(kubeConfig);
    return { kubeConfig, server: cluster.server };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError(configFile, [
      `kubeAPIConfig.kubeConfig: cannot load ${path || "the in-cluster or default kubeconfig"}: ${reason}`,
    ], {
      cause: err,
    });
  }
}

/** What {@link shareDispatcher} needs of an undici dispatcher. */
interface Dispatcher {
  close(): Promise<void>;
}

/** KubeConfig's own dispatcher factory (a private method in client-node's typings). */
interface DispatcherFactory {
  createDispatcherOptions(cluster: Cluster | null, agentOptions: AgentOptions): DispatcherOptions;
  createDispatcher(cluster: Cluster | null, agentOptions: AgentOptions): Dispatcher | undefined;
}

const SHARED = Symbol("kedge.sharedDispatcher");

/**
 * Makes every request of `kubeConfig` go through one undici dispatcher (connection pool) for as long as the
 * TLS material stays the same.
 *
 * client-node 2.0.1 builds a new undici Agent for every request (applySecurityAuthentication ->
 * createDispatcher) and never closes it: each API call opened its own TLS (HTTP/2) connection to the
 * apiserver, and even once that connection went idle its Agent, Pool, Client, socket and session stayed
 * reachable (from the HTTP/2 session's handle, a GC root under Deno): about 75 KiB of heap per request, so
 * cloudcore grew by 7.5 MiB per 10 s with 100 edges renewing Leases and node status.
 * The TLS options are still read per request as client-node does (a client certificate file replaced on
 * disk takes effect): when they differ from the shared dispatcher's, a new one replaces it and the old one
 * is closed once its requests (watches included) have finished.
 *
 * Idempotent (returns the same handle). `close` closes the current dispatcher, waiting for its requests; a
 * later request opens a new one.
 */
export function shareDispatcher(kubeConfig: KubeConfig): { close(): Promise<void> } {
  const target = kubeConfig as unknown as DispatcherFactory & { [SHARED]?: { close(): Promise<void> } };
  const existing = target[SHARED];
  if (existing) return existing;
  const create = target.createDispatcher;
  if (typeof create !== "function" || typeof target.createDispatcherOptions !== "function") {
    throw new TypeError("Cannot share the apiserver connections: this client-node has no createDispatcher");
  }
  let current: { options: DispatcherOptions; dispatcher: Dispatcher } | undefined;
  const retire = (dispatcher: Dispatcher) => void dispatcher.close().catch(() => {/* already closed */});
  target.createDispatcher = (cluster, agentOptions) => {
    const options = target.createDispatcherOptions(cluster, agentOptions);
    if (options.type === "none") return undefined;
    if (current && sameValue(current.options, options)) return current.dispatcher;
    const dispatcher = create.call(target, cluster, agentOptions);
    if (current) retire(current.dispatcher);
    current = dispatcher ? { options, dispatcher } : undefined;
    return dispatcher;
  };
  const shared = {
    close: async () => {
      const last = current;
      current = undefined;
      await last?.dispatcher.close();
    },
  };
  target[SHARED] = shared;
  return shared;
}

/** Deep equality of dispatcher options: plain objects, arrays, bytes (Buffers) and primitives. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => sameValue(x, b[i]));
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length &&
    ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
