/**
 * Images for containers, as the kubelet's image manager: imagePullPolicy (Always / IfNotPresent / Never,
 * defaulting to Always for `:latest` or untagged names), pulls through CRI, and pull failures reported as
 * ErrImagePull, then ImagePullBackOff while a per-image backoff runs. Events as the kubelet's image manager
 * records them: Pulling, Pulled, Failed, BackOff, ErrImageNeverPull.
 */
import type { CriClient, PodSandboxConfig } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { Backoff } from "./backoff.ts";
import { type ContainerEvents, NO_EVENTS } from "./events.ts";
import type { ContainerSpec } from "./pod_schema.ts";

export type ImageResult =
  | { ok: true; imageRef: string }
  | {
    ok: false;
    reason: "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull";
    message: string;
    retryMs: number;
  };

export type PullPolicy = "Always" | "IfNotPresent" | "Never";

export function pullPolicyOf(spec: ContainerSpec): PullPolicy {
  if (spec.imagePullPolicy) return spec.imagePullPolicy;
  const image = spec.image;
  if (image.includes("@")) return "IfNotPresent";
  const last = image.slice(image.lastIndexOf("/") + 1);
  const tag = last.includes(":") ? last.slice(last.lastIndexOf(":") + 1) : "";
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

export class ImagePuller {
  constructor(
    private readonly cri: CriClient,
    private readonly backoff: Backoff,
    private readonly log: Logger,
  ) {}

  async ensure(
    uid: string,
    spec: ContainerSpec,
    sandbox: PodSandboxConfig,
    event: ContainerEvents = NO_EVENTS,
  ): Promise<ImageResult> {
    const policy = pullPolicyOf(spec);
    const image = spec.image;
    if (policy !== "Always") {
      const present = await this.cri.imageStatus(image);
      if (present) {
        event("Normal", "Pulled", `Container image "${image}" already present on machine`);
        return { ok: true, imageRef: present.id };
      }
      if (policy === "Never") {
        const message = `Container image "${image}" is not present with pull policy of Never`;
        event("Warning", "ErrImageNeverPull", message);
        return { ok: false, reason: "ErrImageNeverPull", message, retryMs: 10_000 };
      }
    }
    const key = `${uid}/${image}`;
    const wait = this.backoff.remaining(key);
    if (wait > 0) {
      const message = `Back-off pulling image "${image}"`;
      // Normal, as the kubelet has it: the Warning is the "Error: ImagePullBackOff" that follows.
      event("Normal", "BackOff", message);
      return { ok: false, reason: "ImagePullBackOff", message, retryMs: wait };
    }
    try {
      const started = Date.now();
      event("Normal", "Pulling", `Pulling image "${image}"`);
      const imageRef = await this.cri.pullImage(image, undefined, sandbox);
      this.backoff.reset(key);
      const took = goDuration(Date.now() - started);
      event(
        "Normal",
        "Pulled",
        `Successfully pulled image "${image}" in ${took} (${took} including waiting)`,
      );
      this.log.info("image pulled", { image, uid, policy, ms: Date.now() - started });
      return { ok: true, imageRef };
    } catch (err) {
      this.backoff.next(key);
      event("Warning", "Failed", `Failed to pull image "${image}": ${(err as Error).message}`);
      this.log.warn("image pull failed", { image, uid, error: err });
      return {
        ok: false,
        reason: "ErrImagePull",
        message: (err as Error).message,
        retryMs: this.backoff.remaining(key),
      };
    }
  }
}

/** A duration as Go prints a time.Duration truncated to milliseconds ("850ms", "1.5s", "2m3.25s"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = `${(ms % 60_000) / 1000}s`;
  if (minutes === 0) return seconds;
  return minutes < 60 ? `${minutes}m${seconds}` : `${Math.floor(minutes / 60)}h${minutes % 60}m${seconds}`;
}
