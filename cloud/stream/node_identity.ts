// The node a tunnel belongs to: from its verified client certificate (CN system:node:<name>, clientAuth),
// never from anything the peer says, as CloudHub does for :10000.
import { x509 } from "../../lib/pki/mod.ts";
import { isDns1123Subdomain } from "../../lib/protocol/mod.ts";

const NODE_PREFIX = "system:node:";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

export function nodeOfCertificate(der: Uint8Array | undefined): { node: string } | { error: string } {
  if (!der || der.byteLength === 0) return { error: "no client certificate" };
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch {
    return { error: "client certificate cannot be parsed" };
  }
  const usages = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String) ?? [];
  if (!usages.includes(CLIENT_AUTH)) return { error: "client certificate lacks extendedKeyUsage clientAuth" };
  const names = cert.subjectName.getField("CN");
  const cn = names.length === 1 ? names[0] ?? "" : "";
  if (!cn.startsWith(NODE_PREFIX)) return { error: `client certificate CN must be ${NODE_PREFIX}<node>` };
  const node = cn.slice(NODE_PREFIX.length);
  return isDns1123Subdomain(node) ? { node } : { error: "client certificate names an invalid node" };
}

/** The CN of a DER certificate, or undefined. */
export function commonNameOf(der: Uint8Array | undefined): string | undefined {
  if (!der || der.byteLength === 0) return undefined;
  try {
    return new x509.X509Certificate(new Uint8Array(der)).subjectName.getField("CN")[0];
  } catch {
    return undefined;
  }
}
