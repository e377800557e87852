/**
 * Which node should hold what: edge nodes, pods by node, and per edge node a count of the pods that refer
 * to each ConfigMap and Secret (plus the reverse map, so a ConfigMap event finds its nodes without a scan).
 * Pure state, updated per event in O(what the event touches); the sync decides what to send.
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { ObjectKey, ReferenceKey } from "./types.ts";

export interface PodEntry {
  readonly uid: string;
  /** spec.nodeName. */
  readonly node: string;
  readonly pod: V1Pod;
  readonly refs: ReadonlySet<ReferenceKey>;
}

export class EdgeIndex {
  readonly #edgeNodes = new Map<string, V1Node>();
  readonly #pods = new Map<ObjectKey, PodEntry>();
  readonly #podsByNode = new Map<string, Set<ObjectKey>>();
  /** Edge nodes only: how many of the node's pods refer to each object. */
  readonly #refCounts = new Map<string, Map<ReferenceKey, number>>();
  readonly #refNodes = new Map<ReferenceKey, Set<string>>();

  edgeNode(name: string): V1Node | undefined {
    return this.#edgeNodes.get(name);
  }

  isEdgeNode(name: string): boolean {
    return this.#edgeNodes.has(name);
  }

  edgeNodeNames(): string[] {
    return [...this.#edgeNodes.keys()];
  }

  setEdgeNode(node: V1Node): void {
    const name = node.metadata?.name;
    if (name) this.#edgeNodes.set(name, node);
  }

  /** Forgets an edge node and its reference counts; returns the objects its pods referred to. */
  removeEdgeNode(name: string): ReferenceKey[] {
    this.#edgeNodes.delete(name);
    const counts = this.#refCounts.get(name);
    this.#refCounts.delete(name);
    if (!counts) return [];
    for (const key of counts.keys()) this.#unlinkNode(key, name);
    return [...counts.keys()];
  }

  pod(key: ObjectKey): PodEntry | undefined {
    return this.#pods.get(key);
  }

  podsOn(node: string): PodEntry[] {
    const keys = this.#podsByNode.get(node);
    if (!keys) return [];
    const entries: PodEntry[] = [];
    for (const key of keys) {
      const entry = this.#pods.get(key);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /** True while a pod of `namespace` is bound to `node`: O(pods of the node). */
  hasPodIn(node: string, namespace: string): boolean {
    for (const key of this.#podsByNode.get(node) ?? []) {
      if (this.#pods.get(key)?.pod.metadata?.namespace === namespace) return true;
    }
    return false;
  }

  /** Records a bound pod; returns the entry it replaced. Reference counts are the caller's (see addRefs). */
  setPod(key: ObjectKey, entry: PodEntry): PodEntry | undefined {
    const previous = this.removePod(key);
    this.#pods.set(key, entry);
    let keys = this.#podsByNode.get(entry.node);
    if (!keys) {
      keys = new Set();
      this.#podsByNode.set(entry.node, keys);
    }
    keys.add(key);
    return previous;
  }

  removePod(key: ObjectKey): PodEntry | undefined {
    const entry = this.#pods.get(key);
    if (!entry) return undefined;
    this.#pods.delete(key);
    const keys = this.#podsByNode.get(entry.node);
    keys?.delete(key);
    if (keys?.size === 0) this.#podsByNode.delete(entry.node);
    return entry;
  }

  /** Counts one more referring pod for each of `refs` on `node`; returns those that went from 0 to 1. */
  addRefs(node: string, refs: Iterable<ReferenceKey>): ReferenceKey[] {
    let counts = this.#refCounts.get(node);
    if (!counts) {
      counts = new Map();
      this.#refCounts.set(node, counts);
    }
    const added: ReferenceKey[] = [];
    for (const key of refs) {
      const count = counts.get(key) ?? 0;
      counts.set(key, count + 1);
      if (count > 0) continue;
      added.push(key);
      let nodes = this.#refNodes.get(key);
      if (!nodes) {
        nodes = new Set();
        this.#refNodes.set(key, nodes);
      }
      nodes.add(node);
    }
    return added;
  }

  /** Counts one fewer referring pod for each of `refs` on `node`; returns those that reached 0. */
  removeRefs(node: string, refs: Iterable<ReferenceKey>): ReferenceKey[] {
    const counts = this.#refCounts.get(node);
    if (!counts) return [];
    const removed: ReferenceKey[] = [];
    for (const key of refs) {
      const count = counts.get(key);
      if (count === undefined) continue;
      if (count > 1) {
        counts.set(key, count - 1);
        continue;
      }
      counts.delete(key);
      this.#unlinkNode(key, node);
      removed.push(key);
    }
    if (counts.size === 0) this.#refCounts.delete(node);
    return removed;
  }

  /** True while a pod bound to edge node `node` refers to `key`. */
  references(node: string, key: ReferenceKey): boolean {
    return (this.#refCounts.get(node)?.get(key) ?? 0) > 0;
  }

  refsOf(node: string): ReferenceKey[] {
    return [...(this.#refCounts.get(node)?.keys() ?? [])];
  }

  nodesReferencing(key: ReferenceKey): string[] {
    return [...(this.#refNodes.get(key) ?? [])];
  }

  #unlinkNode(key: ReferenceKey, node: string): void {
    const nodes = this.#refNodes.get(key);
    nodes?.delete(node);
    if (nodes?.size === 0) this.#refNodes.delete(key);
  }
}
