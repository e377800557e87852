// PEM <-> DER, the only text encoding of keys and certificates we read or write.

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function toPem(label: string, der: Uint8Array | ArrayBuffer): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const body = btoa(binary).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every PEM block in the text, in order. Text outside blocks is ignored, as openssl does. */
export function fromPem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [, label = "", body = ""] = match;
    const binary = atob(body.replace(/\s+/g, ""));
    blocks.push({ label, der: Uint8Array.from(binary, (c) => c.charCodeAt(0)) });
  }
  return blocks;
}

/** The DER of the first block with the label; throws a TypeError naming what is missing. */
export function pemToDer(text: string, label: string): Uint8Array {
  const block = fromPem(text).find((b) => b.label === label);
  if (!block) throw new TypeError(`Cannot read PEM: no "${label}" block`);
  return block.der;
}
