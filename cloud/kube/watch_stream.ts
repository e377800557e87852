/**
 * One watch request to the apiserver, read to its end: newline-separated JSON events, each handed on as it
 * arrives. It resolves (never rejects) with why it ended, so the caller decides how to resume.
 *
 * Deno's own fetch carries it (one HTTP/2 connection for every watch, as client-go does), with the TLS
 * material and the Authorization header the kubeconfig gives client-node's requests.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { RestartReason } from "./reflector.ts";

export interface WatchRequest {
  /** The collection's path, e.g. /api/v1/pods. */
  readonly path: string;
  /** Query parameters besides watch=true (resourceVersion, allowWatchBookmarks, labelSelector). */
  readonly params: Record<string, string>;
  /** No byte for this long ends the watch as "stale". */
  readonly staleAfterMs: number;
  /** Aborting it ends the watch as "closed". */
  readonly signal: AbortSignal;
  /** The apiserver accepted the watch (200). */
  onOpen(): void;
  /** One event; false ends the watch as "gone" (an ERROR event with 410). */
  onEvent(type: string, object: unknown): boolean;
}

export interface WatchStreamEnd {
  readonly reason: RestartReason;
  readonly error?: unknown;
  /** At least one event (bookmarks count) arrived before the end. */
  readonly delivered?: boolean;
}

export type WatchOpener = (request: WatchRequest) => Promise<WatchStreamEnd>;

/** One event larger than this is refused (etcd keeps objects under 1.5 MiB by default). */
export const MAX_WATCH_EVENT_BYTES = 16 * 1024 * 1024;

class StaleWatch extends Error {}

/** Opens watches with the kubeconfig's server, TLS material and credentials. */
export function kubeWatchOpener(kc: KubeConfig): WatchOpener {
  const connection = watchConnection(kc);
  return async (request) => {
    let delivered = false;
    const abort = new AbortController();
    const stop = () => abort.abort();
    request.signal.addEventListener("abort", stop);
    let stale: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(stale);
      stale = setTimeout(() => abort.abort(new StaleWatch()), request.staleAfterMs);
    };
    try {
      const { url, init } = await connection(request.path, { ...request.params, watch: "true" });
      arm();
      const response = await fetch(url, { ...init, signal: abort.signal });
      if (response.status !== 200) {
        const body = (await response.text()).slice(0, 512);
        const reason = response.status === 410 ? "gone" : "error";
        return { reason, error: new Error(`Cannot watch ${request.path}: ${response.status} ${body}`) };
      }
      request.onOpen();
      const lines = splitLines(response.body!, MAX_WATCH_EVENT_BYTES);
      for await (const line of lines) {
        arm();
        if (line.trim() === "") continue;
        const event = JSON.parse(line) as { type?: unknown; object?: unknown };
        if (typeof event.type !== "string" || typeof event.object !== "object" || event.object === null) {
          throw new TypeError(`Cannot read watch event of ${request.path}: no type or object`);
        }
        delivered = true;
        if (!request.onEvent(event.type, event.object)) return { reason: "gone", delivered };
      }
      return { reason: "closed", delivered };
    } catch (error) {
      if (abort.signal.reason instanceof StaleWatch) {
        // The connection may be half-open, and every watch shares it: the next request opens a new one.
        connection.reset();
        return {
          reason: "stale",
          error: new Error(`no event or bookmark for ${request.staleAfterMs} ms`),
          delivered,
        };
      }
      if (request.signal.aborted) return { reason: "closed", delivered };
      return { reason: "error", error, delivered };
    } finally {
      clearTimeout(stale);
      request.signal.removeEventListener("abort", stop);
      abort.abort();
    }
  };
}

/** Lines of a byte stream; a line longer than `maxBytes` is an error. */
async function* splitLines(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
    if (pending.length > maxBytes) throw new RangeError(`Cannot read watch event: over ${maxBytes} bytes`);
  }
  pending += decoder.decode();
  if (pending.trim() !== "") yield pending;
}

/** What the kubeconfig puts on a request: TLS material for the client, headers for the credentials. */
interface KubeOptions {
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  headers?: Record<string, string>;
}

/**
 * URL and fetch options for a path; the HTTP client is built once and kept while the kubeconfig's TLS
 * material stays the same (a rotated client certificate builds a new one).
 */
function watchConnection(kc: KubeConfig) {
  let current: { material: string; client: Deno.HttpClient } | undefined;
  const open = async (path: string, params: Record<string, string>) => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new TypeError("Cannot watch: the kubeconfig has no current cluster");
    const options: KubeOptions = {};
    await (kc as unknown as { applyOptions(o: KubeOptions): Promise<void> }).applyOptions(options);
    const text = (v: Uint8Array | string | undefined) =>
      v === undefined ? undefined : typeof v === "string" ? v : new TextDecoder().decode(v);
    const tls = { ca: text(options.ca), cert: text(options.cert), key: text(options.key) };
    const material = JSON.stringify(tls);
    if (current?.material !== material) {
      current?.client.close();
      const client = Deno.createHttpClient({
        ...(tls.ca ? { caCerts: [tls.ca] } : {}),
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      });
      current = { material, client };
    }
    const user = kc.getCurrentUser();
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (user?.username) headers.Authorization = `Basic ${btoa(`${user.username}:${user.password ?? ""}`)}`;
    const url = new URL(cluster.server.replace(/\/$/, "") + path);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return { url, init: { client: current.client, headers } };
  };
  const reset = () => {
    current?.client.close();
    current = undefined;
  };
  return Object.assign(open, { reset });
}
