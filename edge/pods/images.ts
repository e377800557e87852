/**
 * Images for containers, as the kubelet's image manager: imagePullPolicy (Always / IfNotPresent / Never,
 * defaulting to Always for `:latest` or untagged names), pulls through CRI, and pull failures reported as
 * ErrImagePull, then ImagePullBackOff while a per-image backoff runs.
 */
import type { CriClient, PodSandboxConfig } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { Backoff } from "./backoff.ts";
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

  async ensure(uid: string, spec: ContainerSpec, sandbox: PodSandboxConfig): Promise<ImageResult> {
    const policy = pullPolicyOf(spec);
    const image = spec.image;
    if (policy !== "Always") {
      const present = await this.cri.imageStatus(image);
      if (present) return { ok: true, imageRef: present.id };
      if (policy === "Never") {
        return {
          ok: false,
          reason: "ErrImageNeverPull",
          message: `Container image "${image}" is not present with pull policy of Never`,
          retryMs: 10_000,
        };
      }
    }
    const key = `${uid}/${image}`;
    const wait = this.backoff.remaining(key);
    if (wait > 0) {
      return {
        ok: false,
        reason: "ImagePullBackOff",
        message: `Back-off pulling image "${image}"`,
        retryMs: wait,
      };
    }
    try {
      const started = Date.now();
      const imageRef = await this.cri.pullImage(image, undefined, sandbox);
      this.backoff.reset(key);
      this.log.info("image pulled", { image, uid, policy, ms: Date.now() - started });
      return { ok: true, imageRef };
    } catch (err) {
      this.backoff.next(key);
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
