/**
 * Resync without ObjectSync CRDs. On every (re)connect the edge reports what it holds (sync_report.ts) and
 * gets the difference from what it should hold: inserts for what it lacks, updates for what it holds at an
 * older resourceVersion, deletes for what it holds that it should not. An edge that never reports (an
 * unmodified KubeEdge edgecore) gets everything after a grace period instead.
 */
import { compareResourceVersion, isResourceVersion, parseResource } from "../../lib/protocol/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { deleteDelivery, upsertDelivery } from "./deliveries.ts";
import type { DesiredObject, DownstreamSync } from "./downstream_sync.ts";
import type { HeldObject } from "./sync_report.ts";
import type { Delivery, EdgeObjectKind } from "./types.ts";

/** Default wait after a connect for the report before a full sync. */
export const DEFAULT_FULL_SYNC_GRACE_MS = 10_000;

const MANAGED: ReadonlySet<string> = new Set<EdgeObjectKind>(["pod", "configmap", "secret", "node"]);

export interface ResyncOutcome {
  readonly upserts: number;
  readonly deletes: number;
}

/**
 * The deliveries that turn `held` into `desired`, deletes first (an object recreated under the same name
 * has a new uid: the old one goes before the new one comes). Held objects of types these controllers do
 * not manage are left alone.
 */
export function resyncDeliveries(desired: readonly DesiredObject[], held: readonly HeldObject[]): Delivery[] {
  const heldByUid = new Map(held.map((h) => [h.uid, h]));
  const desiredUids = new Set(desired.map((d) => d.ref.uid));
  const deletes: Delivery[] = [];
  for (const h of heldByUid.values()) {
    if (desiredUids.has(h.uid)) continue;
    const parsed = parseResource(h.resource);
    if (!parsed.ok || parsed.value.kind !== "object" || !parsed.value.name) continue;
    const { namespace, type, name } = parsed.value;
    if (!MANAGED.has(type)) continue;
    const kind = type as EdgeObjectKind;
    if (kind !== "node" && namespace === null) continue;
    deletes.push(deleteDelivery({ kind, name, uid: h.uid, ...(namespace ? { namespace } : {}) }));
  }
  const upserts: Delivery[] = [];
  for (const d of desired) {
    const h = heldByUid.get(d.ref.uid);
    if (h && !isOlder(h.resourceVersion, d.object.metadata?.resourceVersion)) continue;
    const delivery = upsertDelivery(d.ref.kind, d.object, h ? "update" : "insert");
    if (delivery) upserts.push(delivery);
  }
  return [...deletes, ...upserts];
}

/** Everything `desired` as for an edge whose holdings are unknown. Nodes go as "update", as upstream sends them. */
export function fullSyncDeliveries(desired: readonly DesiredObject[]): Delivery[] {
  const out: Delivery[] = [];
  for (const d of desired) {
    const delivery = upsertDelivery(d.ref.kind, d.object, d.ref.kind === "node" ? "update" : "insert");
    if (delivery) out.push(delivery);
  }
  return out;
}

function isOlder(held: string, current: string | undefined): boolean {
  if (!current) return false;
  if (!isResourceVersion(current)) return held !== current;
  return compareResourceVersion(held, current) < 0;
}

export interface ResyncOptions {
  readonly sync: DownstreamSync;
  readonly log: Logger;
  readonly graceMs: number;
  /** Resolves true once the informers have listed, false if the controllers stop first. */
  readonly synced: () => Promise<boolean>;
}

/** Per-connection state: the grace timer for edges that do not report. */
export class Resync {
  readonly #o: ResyncOptions;
  readonly #pending = new Map<string, ReturnType<typeof setTimeout>>();
  #stopped = false;

  constructor(options: ResyncOptions) {
    this.#o = options;
  }

  /** A session for `node` opened: expect a report within the grace period, else send everything. */
  onConnected(node: string): void {
    if (this.#stopped) return;
    this.#cancel(node);
    const id = setTimeout(() => {
      this.#pending.delete(node);
      void this.#fullSync(node);
    }, this.#o.graceMs);
    this.#pending.set(node, id);
  }

  onDisconnected(node: string): void {
    this.#cancel(node);
  }

  /** Applies a report from `node`: sends the difference and returns its size. */
  async report(node: string, held: readonly HeldObject[]): Promise<ResyncOutcome | undefined> {
    this.#cancel(node);
    if (!await this.#o.synced()) return undefined;
    const deliveries = resyncDeliveries(this.#o.sync.desired(node), held);
    for (const d of deliveries) this.#o.sync.send(node, d);
    const deletes = deliveries.filter((d) => d.isDelete).length;
    const outcome = { upserts: deliveries.length - deletes, deletes };
    this.#o.log.info("edge resynced", { node, held: held.length, ...outcome });
    return outcome;
  }

  stop(): void {
    this.#stopped = true;
    for (const node of [...this.#pending.keys()]) this.#cancel(node);
  }

  async #fullSync(node: string): Promise<void> {
    if (!await this.#o.synced() || this.#stopped) return;
    const deliveries = fullSyncDeliveries(this.#o.sync.desired(node));
    for (const d of deliveries) this.#o.sync.send(node, d);
    this.#o.log.info("edge full sync", { node, objects: deliveries.length });
  }

  #cancel(node: string): void {
    const id = this.#pending.get(node);
    if (id === undefined) return;
    clearTimeout(id);
    this.#pending.delete(node);
  }
}
