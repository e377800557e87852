/**
 * The soak's own Kubernetes client: fetch with the test control plane's admin certificate (user kedge-admin,
 * which the audit policy leaves out, so the soak's requests never count as cloudcore's).
 */
import type { ControlPlane } from "../tests/cluster/mod.ts";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
}

export interface KubeObject {
  metadata: ObjectMeta;
  spec?: Record<string, unknown> & { nodeName?: string };
  status?: Record<string, unknown> & { phase?: string };
}

export class Kube {
  readonly #client: Deno.HttpClient;
  constructor(private readonly cp: ControlPlane) {
    this.#client = Deno.createHttpClient({
      caCerts: [cp.caPem],
      cert: cp.pki.adminCertPem,
      key: cp.pki.adminKeyPem,
    });
  }

  async raw(method: string, path: string, body?: unknown): Promise<Response> {
    return await fetch(`${this.cp.server}${path}`, {
      method,
      client: this.#client,
      headers: {
        "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
        "user-agent": "kedge-soak",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  }

  /** The reply's JSON; throws "Cannot METHOD path: HTTP status ..." for an error status. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    if (!res.ok) throw new Error(`Cannot ${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  async list(path: string): Promise<KubeObject[]> {
    return (await this.json<{ items: KubeObject[] }>("GET", path)).items;
  }

  /** Tries `fn` every `everyMs` until it returns true; throws "Cannot wait for WHAT" after `timeoutMs`. */
  async until(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        if (await fn()) return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(
      `Cannot wait for ${what}: not true after ${timeoutMs} ms${last ? ` (last error: ${last})` : ""}`,
    );
  }

  close(): void {
    this.#client.close();
  }
}
