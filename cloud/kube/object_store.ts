/**
 * The objects a reflector holds, by namespace and name: what its handlers and the controllers read instead of
 * asking the apiserver. Shaped like client-node's ObjectCache so callers need not know which fills it.
 */
import type { KubernetesObject, ObjectCache } from "@kubernetes/client-node";

export interface ReplaceResult<T> {
  readonly added: T[];
  /** Present before with another resourceVersion. */
  readonly updated: T[];
  readonly deleted: T[];
}

export class ObjectStore<T extends KubernetesObject> implements ObjectCache<T> {
  #byNamespace = new Map<string, Map<string, T>>();

  get(name: string, namespace?: string): T | undefined {
    return this.#byNamespace.get(namespace ?? "")?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined && namespace !== "") {
      return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
    }
    const all: T[] = [];
    for (const objects of this.#byNamespace.values()) all.push(...objects.values());
    return all;
  }

  get size(): number {
    let n = 0;
    for (const objects of this.#byNamespace.values()) n += objects.size;
    return n;
  }

  /** Stores `object`; says whether it is new or replaced one of the same name. */
  upsert(object: T): "added" | "updated" {
    const { namespace, name } = keyOf(object);
    let objects = this.#byNamespace.get(namespace);
    if (!objects) this.#byNamespace.set(namespace, objects = new Map());
    const had = objects.has(name);
    objects.set(name, object);
    return had ? "updated" : "added";
  }

  remove(object: T): void {
    const { namespace, name } = keyOf(object);
    const objects = this.#byNamespace.get(namespace);
    objects?.delete(name);
    if (objects?.size === 0) this.#byNamespace.delete(namespace);
  }

  /** Replaces everything with a fresh list and says what changed (unchanged resourceVersions are left out). */
  replace(items: readonly T[]): ReplaceResult<T> {
    const old = this.#byNamespace;
    this.#byNamespace = new Map();
    const added: T[] = [];
    const updated: T[] = [];
    for (const item of items) {
      const { namespace, name } = keyOf(item);
      const before = old.get(namespace)?.get(name);
      old.get(namespace)?.delete(name);
      this.upsert(item);
      if (!before) added.push(item);
      else if (before.metadata?.resourceVersion !== item.metadata?.resourceVersion) updated.push(item);
    }
    const deleted: T[] = [];
    for (const objects of old.values()) deleted.push(...objects.values());
    return { added, updated, deleted };
  }
}

function keyOf(object: KubernetesObject): { namespace: string; name: string } {
  return { namespace: object.metadata?.namespace ?? "", name: object.metadata?.name ?? "" };
}
