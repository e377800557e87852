/**
 * The Services a pod's service environment variables come from (edge/pods/service_env.ts). The kubelet
 * lists them from an informer; this edge asks its cloud when a container is built, with the request KubeEdge's
 * MetaServer sends for a `services` read (a MetaServer Application, lib/protocol/application.ts): list of
 * /core/v1/services/<ns>, get of /core/v1/services/default/kubernetes. Each answer is kept in the store's
 * `service` table, so with the cloud away (or a cloud that does not answer: KubeEdge's cloudcore with its
 * dynamicController off, the default) containers get the variables of the last answer, as KubeEdge's
 * MetaServer serves a list from its local store offline. A cloud that lets a request time out is not asked
 * again for a while, so pods do not wait on it each time.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Logger } from "../../lib/log.ts";
import {
  applicationKey,
  applicationOutcome,
  applicationRequest,
  type Message,
} from "../../lib/protocol/mod.ts";
import { type ServiceInfo, serviceInfoOf } from "../pods/mod.ts";

export interface ServiceUplink {
  readonly connected: boolean;
  request(message: Message, timeoutMs: number): Promise<Message>;
}

/** How long the edge waits for an answer (upstream's MetaServer agent waits 10 s). */
export const SERVICE_QUERY_TIMEOUT_MS = 5_000;
/** After a request timed out, how long the cloud is not asked (it most likely does not serve Applications). */
export const SERVICE_QUERY_HOLD_MS = 5 * 60_000;
/** An answer younger than this is reused: the containers of one pod start within it. */
export const SERVICE_ANSWER_REUSE_MS = 2_000;
/** Most Services kept per namespace (the rest are left out, and a warning says so). */
export const MAX_SERVICES_PER_NAMESPACE = 5_000;

const MASTER = { namespace: "default", name: "kubernetes" } as const;

export class ServiceLister {
  readonly #db: DatabaseSync;
  readonly #rows: StatementSync;
  readonly #row: StatementSync;
  readonly #put: StatementSync;
  readonly #deleteOne: StatementSync;
  readonly #deleteNamespace: StatementSync;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #answeredAt = new Map<string, number>();
  #heldUntil = 0;
  #uplink?: { readonly hub: ServiceUplink; readonly node: string };

  readonly #timeoutMs: number;
  readonly #holdMs: number;

  constructor(
    db: DatabaseSync,
    private readonly log: Logger,
    timing: { readonly timeoutMs?: number; readonly holdMs?: number } = {},
  ) {
    this.#timeoutMs = timing.timeoutMs ?? SERVICE_QUERY_TIMEOUT_MS;
    this.#holdMs = timing.holdMs ?? SERVICE_QUERY_HOLD_MS;
    this.#db = db;
    this.#rows = db.prepare("SELECT value FROM service WHERE namespace = ? ORDER BY name");
    this.#row = db.prepare("SELECT value FROM service WHERE namespace = ? AND name = ?");
    this.#put = db.prepare(
      `INSERT INTO service (namespace, name, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(namespace, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#deleteOne = db.prepare("DELETE FROM service WHERE namespace = ? AND name = ?");
    this.#deleteNamespace = db.prepare("DELETE FROM service WHERE namespace = ?");
  }

  /** Where to ask (edgecore sets it once its hub exists). */
  connect(hub: ServiceUplink, node: string): void {
    this.#uplink = { hub, node };
  }

  /** The Services for a pod in `namespace`: asked of the cloud when it answers, else the last answer. */
  async services(namespace: string, enableServiceLinks: boolean): Promise<ServiceInfo[]> {
    const asks: Promise<void>[] = [];
    if (enableServiceLinks) asks.push(this.#ask(namespace, ""));
    const master = !enableServiceLinks || namespace !== MASTER.namespace;
    if (master) asks.push(this.#ask(MASTER.namespace, MASTER.name));
    await Promise.all(asks);
    const out = enableServiceLinks ? this.#read(this.#rows.all(namespace)) : [];
    const row = master ? this.#row.get(MASTER.namespace, MASTER.name) : undefined;
    if (row) out.push(...this.#read([row]));
    return out;
  }

  #ask(namespace: string, name: string): Promise<void> {
    const key = applicationKey("", "v1", "services", namespace, name);
    const now = Date.now();
    const uplink = this.#uplink;
    if (!uplink?.hub.connected || now < this.#heldUntil) return Promise.resolve();
    if (now - (this.#answeredAt.get(key) ?? 0) < SERVICE_ANSWER_REUSE_MS) return Promise.resolve();
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#request(uplink, key, namespace, name).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  async #request(
    uplink: { readonly hub: ServiceUplink; readonly node: string },
    key: string,
    namespace: string,
    name: string,
  ): Promise<void> {
    let reply: Message;
    try {
      reply = await uplink.hub.request(
        applicationRequest(uplink.node, name ? "get" : "list", key),
        this.#timeoutMs,
      );
    } catch (error) {
      if (uplink.hub.connected) this.#heldUntil = Date.now() + this.#holdMs;
      this.log.warn("services not answered, using the last answer", {
        key,
        error,
        askAgainInMs: uplink.hub.connected ? this.#holdMs : 0,
      });
      return;
    }
    const outcome = applicationOutcome(reply);
    if (!outcome.ok) {
      if (outcome.code === 404 && name) {
        this.#deleteOne.run(namespace, name);
        this.#answered(key);
        return;
      }
      this.log.warn("services refused, using the last answer", { key, reason: outcome.reason });
      return;
    }
    try {
      if (name) this.#storeOne(namespace, name, outcome.body);
      else this.#storeList(namespace, outcome.body);
      this.#answered(key);
    } catch (error) {
      this.log.warn("services not stored, using the last answer", { key, error });
    }
  }

  #answered(key: string): void {
    const now = Date.now();
    this.#answeredAt.set(key, now);
    if (this.#answeredAt.size > 1_000) {
      for (const [k, at] of this.#answeredAt) {
        if (now - at >= SERVICE_ANSWER_REUSE_MS) this.#answeredAt.delete(k);
      }
    }
  }

  #storeOne(namespace: string, name: string, body: unknown): void {
    const info = serviceInfoOf(body);
    if (!info || info.namespace !== namespace || info.name !== name) {
      throw new TypeError(`Cannot store service ${namespace}/${name}: the answer is another object`);
    }
    this.#put.run(namespace, name, JSON.stringify(info), Date.now());
  }

  #storeList(namespace: string, body: unknown): void {
    const items = (body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) {
      throw new TypeError(`Cannot store services of ${namespace}: the answer is no list`);
    }
    const infos = items.map(serviceInfoOf).filter((info): info is ServiceInfo =>
      info?.namespace === namespace
    );
    if (infos.length > MAX_SERVICES_PER_NAMESPACE) {
      this.log.warn("services left out", {
        namespace,
        count: infos.length,
        kept: MAX_SERVICES_PER_NAMESPACE,
      });
      infos.length = MAX_SERVICES_PER_NAMESPACE;
    }
    const now = Date.now();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#deleteNamespace.run(namespace);
      for (const info of infos) this.#put.run(namespace, info.name, JSON.stringify(info), now);
      this.#db.exec("COMMIT");
    } catch (error) {
      // SQLite rolls back by itself on some errors (a full disk); a second ROLLBACK would hide the cause.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #read(rows: unknown[]): ServiceInfo[] {
    const out: ServiceInfo[] = [];
    for (const row of rows) {
      try {
        out.push(JSON.parse((row as { value: string }).value) as ServiceInfo);
      } catch { /* checkStore refuses a file with broken JSON rows at start */ }
    }
    return out;
  }
}
