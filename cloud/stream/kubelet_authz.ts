/**
 * Who may use a node's stream port, decided as a kubelet in webhook mode decides it: the caller is its
 * verified client certificate (user = CN, groups = O), the request maps to verb + `nodes/<subresource>`
 * of that node (kubelet's mapping: /stats -> stats, /metrics -> metrics, /logs -> log, /spec -> spec,
 * everything else, exec and containerLogs included, -> proxy), and the apiserver answers a
 * SubjectAccessReview. Answers are cached (allowed 5 min, denied 30 s: the kubelet's defaults).
 */
import { x509 } from "../../lib/pki/mod.ts";

export interface Caller {
  readonly user: string;
  readonly groups: readonly string[];
}

export interface KubeletAttributes extends Caller {
  readonly verb: string;
  readonly subresource: string;
  readonly node: string;
}

export type AccessReview = (attributes: KubeletAttributes) => Promise<{ allowed: boolean; reason?: string }>;

export type Authorization =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 403 | 500; readonly message: string };

const VERBS: Readonly<Record<string, string>> = {
  GET: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

const SUBRESOURCES: ReadonlyArray<readonly [string, string]> = [
  ["/stats", "stats"],
  ["/metrics", "metrics"],
  ["/logs", "log"],
  ["/spec", "spec"],
];

/** The kubelet's verb for an HTTP method (undefined: none, the request is refused). */
export function verbOf(method: string | undefined): string | undefined {
  return VERBS[method ?? ""];
}

/** The `nodes/<subresource>` a kubelet path is checked against. */
export function subresourceOf(path: string): string {
  const pathname = path.split("?")[0] ?? "";
  for (const [prefix, subresource] of SUBRESOURCES) {
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return subresource;
  }
  return "proxy";
}

/** The caller a verified client certificate names, or undefined when it names none. */
export function callerOf(der: Uint8Array | undefined): Caller | undefined {
  if (!der || der.byteLength === 0) return undefined;
  try {
    const subject = new x509.X509Certificate(new Uint8Array(der)).subjectName;
    const user = subject.getField("CN")[0];
    return user ? { user, groups: subject.getField("O") } : undefined;
  } catch {
    return undefined;
  }
}

export interface KubeletAuthorizerOptions {
  readonly review: AccessReview;
  readonly allowedTtlMs?: number;
  readonly deniedTtlMs?: number;
  /** Cached answers at most; the oldest go first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export class KubeletAuthorizer {
  readonly #o: KubeletAuthorizerOptions;
  readonly #cache = new Map<string, { allowed: boolean; reason: string; until: number }>();
  readonly #asking = new Map<string, Promise<{ allowed: boolean; reason?: string }>>();

  constructor(options: KubeletAuthorizerOptions) {
    this.#o = options;
  }

  async authorize(
    caller: Caller | undefined,
    method: string | undefined,
    path: string,
    node: string,
  ): Promise<Authorization> {
    if (!caller) {
      return { allowed: false, status: 403, message: "Forbidden: the client certificate names no user" };
    }
    const verb = verbOf(method);
    const subresource = subresourceOf(path);
    const what = `user=${caller.user}, verb=${verb ?? method}, resource=nodes, subresource=${subresource}`;
    if (!verb) return { allowed: false, status: 403, message: `Forbidden (${what}): method not allowed` };
    const attributes = { ...caller, verb, subresource, node };
    const key = JSON.stringify([caller.user, [...caller.groups].sort(), verb, subresource, node]);
    const now = (this.#o.now ?? Date.now)();
    let answer = this.#cache.get(key);
    if (!answer || answer.until <= now) {
      let asking = this.#asking.get(key);
      if (!asking) {
        asking = this.#o.review(attributes).finally(() => this.#asking.delete(key));
        this.#asking.set(key, asking);
      }
      let reviewed;
      try {
        reviewed = await asking;
      } catch (error) {
        // Not cached: the next request asks again.
        return {
          allowed: false,
          status: 500,
          message: `Authorization error (${what}): ${(error as Error).message}`,
        };
      }
      const ttl = reviewed.allowed ? this.#o.allowedTtlMs ?? 300_000 : this.#o.deniedTtlMs ?? 30_000;
      answer = { allowed: reviewed.allowed, reason: reviewed.reason ?? "", until: now + ttl };
      this.#keep(key, answer);
    }
    if (answer.allowed) return { allowed: true };
    return {
      allowed: false,
      status: 403,
      message: `Forbidden (${what}, name=${node})${answer.reason ? `: ${answer.reason}` : ""}`,
    };
  }

  #keep(key: string, answer: { allowed: boolean; reason: string; until: number }): void {
    this.#cache.delete(key);
    this.#cache.set(key, answer);
    const max = this.#o.maxEntries ?? 10_000;
    while (this.#cache.size > max) this.#cache.delete(this.#cache.keys().next().value!);
  }
}
