/**
 * Service-account tokens for projected volumes, as a kubelet's token manager keeps them: asked of the cloud
 * (`query <ns>/serviceaccounttoken/<account>` with a TokenRequest bound to the pod; KubeEdge's cloud and
 * kedge's both make the TokenRequest), held in memory, and asked again once 80 % of their lifetime or 24
 * hours have passed. With the cloud away a held token is used until it expires.
 */
import type { Logger } from "../../lib/log.ts";
import { buildResource, newMessage, replyOutcome } from "../../lib/protocol/mod.ts";
import type { BoundTokenRequest } from "../pods/mod.ts";
import type { QueryUplink } from "./object_query.ts";

export interface TokenGrant {
  readonly token: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

interface Held extends TokenGrant {
  readonly issuedAt: number;
  readonly podUid: string;
}

const MAX_TTL_MS = 24 * 60 * 60 * 1000;
/** A node's pods rarely hold more; past it, expired tokens go first, then the oldest. */
const MAX_HELD = 2_000;
const MAX_TOKEN_BYTES = 64 * 1024;

export class ServiceAccountTokens {
  readonly #held = new Map<string, Held>();
  readonly #asking = new Map<string, Promise<TokenGrant | undefined>>();

  constructor(
    private readonly uplink: QueryUplink,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token for the request: the held one while fresh, else the cloud's; undefined when there is none. */
  get(request: BoundTokenRequest): Promise<TokenGrant | undefined> {
    const key = JSON.stringify([
      request.namespace,
      request.serviceAccount,
      request.audiences,
      request.expirationSeconds,
      request.pod.uid,
    ]);
    const held = this.#held.get(key);
    if (held && !this.#needsRefresh(held)) return Promise.resolve(held);
    const asking = this.#asking.get(key);
    if (asking) return asking;
    const ask = this.#ask(request).then((grant) => {
      if (grant) {
        this.#keep(key, { ...grant, issuedAt: this.now(), podUid: request.pod.uid });
        return grant;
      }
      // Not renewed: the held token serves until it expires.
      return held && held.expiresAt > this.now() ? held : undefined;
    }).finally(() => this.#asking.delete(key));
    this.#asking.set(key, ask);
    return ask;
  }

  /** The pod is gone: its tokens are dropped. */
  forgetPod(uid: string): void {
    for (const [key, held] of this.#held) if (held.podUid === uid) this.#held.delete(key);
  }

  #needsRefresh(held: Held): boolean {
    const now = this.now();
    const ttl = held.expiresAt - held.issuedAt;
    return now >= held.expiresAt - ttl * 0.2 || now >= held.issuedAt + MAX_TTL_MS;
  }

  async #ask(request: BoundTokenRequest): Promise<TokenGrant | undefined> {
    if (!this.uplink.connected) return undefined;
    const resource = buildResource({
      namespace: request.namespace,
      type: "serviceaccounttoken",
      name: request.serviceAccount,
    });
    const content = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: { name: request.serviceAccount, namespace: request.namespace },
      spec: {
        audiences: request.audiences,
        expirationSeconds: request.expirationSeconds,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: request.pod.name, uid: request.pod.uid },
      },
    };
    try {
      const reply = await this.uplink.request(
        newMessage({ source: "edged", group: "meta", operation: "query", resource, content }),
        10_000,
      );
      const outcome = replyOutcome(reply);
      if (!outcome.ok) {
        this.log.warn("service-account token refused", { resource, reason: outcome.reason });
        return undefined;
      }
      const grant = readGrant(outcome.object);
      if (!grant) this.log.warn("service-account token unreadable", { resource });
      return grant;
    } catch (error) {
      this.log.info("service-account token not answered", { resource, error });
      return undefined;
    }
  }

  #keep(key: string, held: Held): void {
    this.#held.set(key, held);
    if (this.#held.size <= MAX_HELD) return;
    const now = this.now();
    for (const [k, h] of this.#held) if (h.expiresAt <= now) this.#held.delete(k);
    while (this.#held.size > MAX_HELD) this.#held.delete(this.#held.keys().next().value!);
  }
}

/** The token and expiry of a TokenRequest the cloud answered, or undefined when it holds none. */
export function readGrant(object: unknown): TokenGrant | undefined {
  const status = (object as { status?: { token?: unknown; expirationTimestamp?: unknown } } | null)?.status;
  const token = status?.token;
  const expiresAt = typeof status?.expirationTimestamp === "string"
    ? Date.parse(status.expirationTimestamp)
    : NaN;
  if (typeof token !== "string" || token === "" || token.length > MAX_TOKEN_BYTES) return undefined;
  if (!Number.isFinite(expiresAt)) return undefined;
  return { token, expiresAt };
}
