/**
 * The pod and node status writes cloudcore made for edges, by the resourceVersion the apiserver gave them,
 * so the watch event each one causes is not sent back down to the edge that wrote it (the "status echo").
 * The edge already holds that object: the reply to its patch carries it, and the edge stores it. At most one
 * entry per pod or node; an event that races ahead of the write's reply is simply sent, as before.
 */

export class OwnStatusWrites {
  readonly #versions = new Map<string, string>();

  /** `key` is namespace/name for a pod, node/name for a node. */
  record(key: string, resourceVersion: string | undefined): void {
    if (resourceVersion) this.#versions.set(key, resourceVersion);
  }

  /** True (once) when `resourceVersion` is the one our write for `key` produced. */
  take(key: string, resourceVersion: string | undefined): boolean {
    if (!resourceVersion || this.#versions.get(key) !== resourceVersion) return false;
    this.#versions.delete(key);
    return true;
  }

  forget(key: string): void {
    this.#versions.delete(key);
  }

  get size(): number {
    return this.#versions.size;
  }
}

interface WithStatus {
  readonly metadata?: { readonly resourceVersion?: string; readonly managedFields?: unknown };
  readonly status?: unknown;
}

/** True when `next` differs from `previous` only in status, resourceVersion and managedFields. */
export function onlyStatusChanged(previous: WithStatus, next: WithStatus): boolean {
  return JSON.stringify(withoutStatus(previous)) === JSON.stringify(withoutStatus(next));
}

function withoutStatus(object: WithStatus): unknown {
  const { status: _status, metadata, ...rest } = object;
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}
