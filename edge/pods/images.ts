/**
 * Images for containers, as the kubelet's image manager: imagePullPolicy (Always / IfNotPresent / Never,
 * defaulting to Always for `:latest` or untagged names), pulls through CRI, and pull failures reported as
 * ErrImagePull, then ImagePullBackOff while a per-image backoff runs (its message ends with the last pull's
 * error, as the kubelet's). Events as the kubelet's image manager records them: Pulling, Pulled, Failed,
 * BackOff, ErrImageNeverPull. With registry credentials (pull_secrets.ts) each matching one is tried in turn,
 * as the kubelet's PullImage; all failing, the error lists every attempt's.
 */
import type { CriClient, PodSandboxConfig } from "../cri/mod.ts";
import type { RegistryAuth } from "./docker_keyring.ts";
import type { Logger } from "../../lib/log.ts";
import type { Backoff } from "./backoff.ts";
import { type ContainerEvents, NO_EVENTS } from "./events.ts";
import type { ContainerSpec } from "./pod_schema.ts";
import { NO_CREDENTIALS, type PullCredentials } from "./pull_secrets.ts";

/** Last pull errors kept for the backoff message; the oldest goes first beyond this. */
const MAX_PULL_ERRORS = 1024;

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
  /** `<uid>/<image>` -> "ErrImagePull: <why>" of its last failed pull, for the backoff message. */
  readonly #lastError = new Map<string, string>();

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
    credentials: PullCredentials = NO_CREDENTIALS,
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
      const last = this.#lastError.get(key);
      return {
        ok: false,
        reason: "ImagePullBackOff",
        message: last ? `${message}: ${last}` : message,
        retryMs: wait,
      };
    }
    this.#lastError.delete(key);
    try {
      const started = Date.now();
      event("Normal", "Pulling", `Pulling image "${image}"`);
      const imageRef = await this.#pull(image, sandbox, await credentials(image));
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
      this.#lastError.set(key, `ErrImagePull: ${(err as Error).message}`);
      if (this.#lastError.size > MAX_PULL_ERRORS) {
        this.#lastError.delete(this.#lastError.keys().next().value!);
      }
      return {
        ok: false,
        reason: "ErrImagePull",
        message: (err as Error).message,
        retryMs: this.backoff.remaining(key),
      };
    }
  }

  /** As the kubelet's PullImage: without credentials once, else each in turn until one works. */
  async #pull(
    image: string,
    sandbox: PodSandboxConfig,
    credentials: readonly RegistryAuth[],
  ): Promise<string> {
    if (credentials.length === 0) return await this.cri.pullImage(image, undefined, sandbox);
    const errors: Error[] = [];
    for (const { username, password } of credentials) {
      try {
        return await this.cri.pullImage(image, { username, password }, sandbox);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    // Go's utilerrors.NewAggregate: one error as itself, more in brackets.
    if (errors.length === 1) throw errors[0];
    throw new Error(`[${errors.map((e) => e.message).join(", ")}]`, { cause: errors });
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
