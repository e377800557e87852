/**
 * Garbage collection, as the kubelet's container and image GC. Dead containers: per pod and container name
 * only the newest `maxDeadPerContainer` exited instances stay (the newest is what lastState and restart
 * decisions read), and sandboxes that are neither the newest nor used by a container go. Images: when the
 * image filesystem is above `highPercent` used, images no container uses are removed, least recently used
 * first, until it is below `lowPercent`. The sandbox image is never removed.
 */
import { statfs } from "node:fs/promises";
import type { CriClient } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { RuntimePod } from "./runtime_state.ts";

export interface GcOptions {
  /** Exited instances kept per (pod, container name); at least 1. Default 1. */
  readonly maxDeadPerContainer: number;
  /** Start removing images above this percentage of the image filesystem used. Default 80. */
  readonly imageHighPercent: number;
  /** Stop once usage is below this percentage. Default 40. */
  readonly imageLowPercent: number;
  /** Image names never removed (the sandbox image). */
  readonly pinnedImages: readonly string[];
}

export interface GcReport {
  containers: number;
  sandboxes: number;
  images: string[];
}

/** Used and total bytes of the filesystem holding `path`. */
export type DiskUsage = (path: string) => Promise<{ used: number; capacity: number }>;

export const statfsUsage: DiskUsage = async (path) => {
  const s = await statfs(path);
  return { used: (s.blocks - s.bavail) * s.bsize, capacity: s.blocks * s.bsize };
};

export class GarbageCollector {
  readonly #lastUsed = new Map<string, number>();

  constructor(
    private readonly cri: CriClient,
    private readonly log: Logger,
    private readonly options: GcOptions,
    private readonly diskUsage: DiskUsage = statfsUsage,
  ) {}

  /** One pass over `pods` (every managed pod in CRI); pods being deleted are left to their worker. */
  async collect(pods: Map<string, RuntimePod>, known: (uid: string) => boolean): Promise<GcReport> {
    const report: GcReport = { containers: 0, sandboxes: 0, images: [] };
    for (const pod of pods.values()) {
      if (!known(pod.uid)) continue;
      await this.#containers(pod, report);
    }
    report.images = await this.#images(pods);
    if (report.containers || report.sandboxes || report.images.length) {
      this.log.info("garbage collected", { ...report });
    }
    return report;
  }

  async #containers(pod: RuntimePod, report: GcReport): Promise<void> {
    const keep = Math.max(1, this.options.maxDeadPerContainer);
    const seen = new Map<string, number>();
    const kept = new Set<string>();
    for (const c of pod.containers) {
      const key = `${c.type}/${c.name}`;
      if (c.state !== "CONTAINER_EXITED") {
        kept.add(c.sandboxId);
        continue;
      }
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n <= keep) {
        kept.add(c.sandboxId);
        continue;
      }
      await this.cri.removeContainer(c.id);
      report.containers++;
    }
    for (const [i, s] of pod.sandboxes.entries()) {
      if (i === 0 || s.ready || kept.has(s.id)) continue;
      await this.cri.removePodSandbox(s.id);
      report.sandboxes++;
    }
  }

  async #images(pods: Map<string, RuntimePod>): Promise<string[]> {
    const now = Date.now();
    const refs = new Set<string>();
    for (const pod of pods.values()) for (const c of pod.containers) refs.add(c.imageRef).add(c.image);
    const images = await this.cri.listImages();
    // A container names its image by ID, repo digest or tag, depending on the runtime.
    const inUse = new Set(
      images.filter((i) => refs.has(i.id) || [...i.repoDigests, ...i.repoTags].some((r) => refs.has(r))).map((
        i,
      ) => i.id),
    );
    for (const image of images) {
      if (inUse.has(image.id) || !this.#lastUsed.has(image.id)) this.#lastUsed.set(image.id, now);
    }
    for (const id of this.#lastUsed.keys()) if (!images.some((i) => i.id === id)) this.#lastUsed.delete(id);
    const fs = (await this.cri.imageFsInfo())[0];
    const mountpoint = fs?.fsId?.mountpoint;
    if (!mountpoint) return [];
    const { used, capacity } = await this.diskUsage(mountpoint);
    if (capacity <= 0 || (used * 100) / capacity < this.options.imageHighPercent) return [];
    let toFree = used - (capacity * this.options.imageLowPercent) / 100;
    const pinned = new Set(this.options.pinnedImages);
    const candidates = images
      .filter((i) => !inUse.has(i.id) && !i.pinned && !i.repoTags.some((t) => pinned.has(t)))
      .sort((a, b) => (this.#lastUsed.get(a.id) ?? 0) - (this.#lastUsed.get(b.id) ?? 0));
    const removed: string[] = [];
    for (const image of candidates) {
      if (toFree <= 0) break;
      try {
        await this.cri.removeImage(image.id);
        removed.push(image.repoTags[0] ?? image.id);
        toFree -= image.size;
        this.#lastUsed.delete(image.id);
      } catch (err) {
        this.log.warn("image removal failed", { image: image.id, error: err });
      }
    }
    return removed;
  }
}
