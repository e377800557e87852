/** Kubernetes resource quantities ("100m", "1.5", "64Mi", "1e3") as numbers. */

const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)$/;

/** The quantity's value (cores for CPU, bytes for memory); throws RangeError when it is not a quantity. */
export function parseQuantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = QUANTITY.exec(q.trim());
  if (!m) throw new RangeError(`Cannot parse quantity "${q}": not a Kubernetes quantity`);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * (SUFFIX[m[3] ?? ""] ?? 1);
}
