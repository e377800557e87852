// Kubernetes label and field selectors, as the apiserver parses them: labels `a=b`, `a==b`, `a!=b`,
// `a in (x,y)`, `a notin (x)`, `a`, `!a`; fields `path=value`, `path==value`, `path!=value` on dotted paths
// (metadata.name, metadata.namespace, spec.nodeName, status.phase, ...).
import { HttpError } from "./http_util.ts";

export type Selector = (object: KubeObject) => boolean;
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  [key: string]: unknown;
}

const MAX_SELECTOR = 4096;

/** Splits on commas outside parentheses. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(current.trim());
      current = "";
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

export function parseLabelSelector(text: string | null): Selector {
  if (!text) return () => true;
  if (text.length > MAX_SELECTOR) throw new HttpError(400, "Cannot parse labelSelector: too long");
  const checks = terms(text).map((term): Selector => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const key = m[1] ?? "";
      const values = new Set((m[3] ?? "").split(",").map((v) => v.trim()).filter(Boolean));
      const negate = m[2] === "notin";
      return (o) => {
        const value = o.metadata?.labels?.[key];
        return negate ? value === undefined || !values.has(value) : value !== undefined && values.has(value);
      };
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m) {
      const key = m[1] ?? "";
      const value = m[3] ?? "";
      return m[2] === "!="
        ? (o) => o.metadata?.labels?.[key] !== value
        : (o) => o.metadata?.labels?.[key] === value;
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) {
      const key = m[2] ?? "";
      return m[1]
        ? (o) => o.metadata?.labels?.[key] === undefined
        : (o) => o.metadata?.labels?.[key] !== undefined;
    }
    throw new HttpError(400, `Cannot parse labelSelector: bad term "${term}"`);
  });
  return (o) => checks.every((check) => check(o));
}

function valueAt(object: unknown, path: string): string {
  let at: unknown = object;
  for (const part of path.split(".")) {
    if (typeof at !== "object" || at === null) return "";
    at = (at as Record<string, unknown>)[part];
  }
  return at === undefined || at === null ? "" : String(at);
}

export function parseFieldSelector(text: string | null): Selector {
  if (!text) return () => true;
  if (text.length > MAX_SELECTOR) throw new HttpError(400, "Cannot parse fieldSelector: too long");
  const checks = terms(text).map((term): Selector => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new HttpError(400, `Cannot parse fieldSelector: bad term "${term}"`);
    const path = m[1] ?? "";
    const value = (m[3] ?? "").trim();
    return m[2] === "!=" ? (o) => valueAt(o, path) !== value : (o) => valueAt(o, path) === value;
  });
  return (o) => checks.every((check) => check(o));
}
