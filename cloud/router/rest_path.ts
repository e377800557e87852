/**
 * The rest endpoint's paths, KubeEdge's form: `/{nodeName}/{namespace}/{path}`. A rule's path matches the
 * leading levels of `{path}`; a `{name}` level matches any one level. The longest match wins, a literal level
 * over a `{name}` one. What is left of the request path (and its query) is appended to the target: the
 * eventbus topic, or the servicebus path. KubeEdge matches with an unanchored regular expression (so
 * `/test` also matches `/testing`, and a path with `{name}` levels appends the whole request path);
 * kedge matches whole levels and appends only what is left.
 */
import { isDns1123Subdomain } from "../../lib/protocol/mod.ts";

export interface RestRequestPath {
  readonly node: string;
  readonly namespace: string;
  /** The levels after the namespace, percent-decoding left as sent. */
  readonly levels: readonly string[];
  /** `?...` as sent, or "". */
  readonly query: string;
}

/** The rule path without leading and trailing slashes, or undefined when it is empty or not a path. */
export function normalizeRulePath(path: string): string | undefined {
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "" || trimmed.length > 1024 || /[\s?#]/.test(trimmed)) return undefined;
  if (trimmed.split("/").some((level) => level === "")) return undefined;
  return trimmed;
}

/** Splits a request target (`/node/ns/a/b?x=1`); undefined when node or namespace is missing or invalid. */
export function parseRequestPath(target: string): RestRequestPath | undefined {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q);
  if (!path.startsWith("/")) return undefined;
  const [node = "", namespace = "", ...levels] = path.slice(1).split("/");
  if (!isDns1123Subdomain(node) || !isDns1123Subdomain(namespace)) return undefined;
  return { node, namespace, levels: levels.filter((l, i) => l !== "" || i < levels.length - 1), query };
}

/** How well `rulePath` matches `levels`: undefined for no match, else a score (higher wins) and the rest. */
export function matchRulePath(
  rulePath: string,
  levels: readonly string[],
): { score: number; rest: readonly string[] } | undefined {
  const rule = rulePath.split("/");
  if (rule.length > levels.length) return undefined;
  let literals = 0;
  for (let i = 0; i < rule.length; i++) {
    const want = rule[i]!;
    const got = levels[i]!;
    if (/^\{[^/{}]+\}$/.test(want)) {
      if (got === "") return undefined;
    } else if (want === got) literals++;
    else return undefined;
  }
  return { score: rule.length * 1000 + literals, rest: levels.slice(rule.length) };
}

/** `base` with the rest levels appended: `test` + [a, b] -> `test/a/b`. */
export function appendLevels(base: string, rest: readonly string[]): string {
  if (rest.length === 0) return base;
  return `${base.replace(/\/+$/, "")}/${rest.join("/")}`;
}
