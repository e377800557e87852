/** ws hands over a Buffer, an ArrayBuffer or fragments for each message; decode takes bytes. */
export function toFrame(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) {
    const parts = data.filter((p): p is Uint8Array => p instanceof Uint8Array);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
  return new Uint8Array(0);
}
