/**
 * Who is connecting: the node name comes from the verified client certificate, never from what the peer
 * claims. The `node_id` header and the path's node segment (upstream dials /<projectID>/<node>/events) must
 * agree with it when present, or the upgrade is refused.
 */
import { x509 } from "../../lib/pki/mod.ts";
import { isDns1123Subdomain, type Result } from "../../lib/protocol/mod.ts";

const NODE_PREFIX = "system:node:";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** The node a DER client certificate names: CN `system:node:<name>`, extendedKeyUsage clientAuth. */
export function nodeFromCertificate(der: Uint8Array | undefined): Result<string, string> {
  if (!der || der.byteLength === 0) return { ok: false, error: "no client certificate" };
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch {
    return { ok: false, error: "client certificate cannot be parsed" };
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku || !eku.usages.map(String).includes(CLIENT_AUTH)) {
    return { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" };
  }
  const names = cert.subjectName.getField("CN");
  if (names.length !== 1) return { ok: false, error: "client certificate must have exactly one CN" };
  const cn = names[0] ?? "";
  if (!cn.startsWith(NODE_PREFIX)) {
    return { ok: false, error: `client certificate CN must start with ${NODE_PREFIX}` };
  }
  const node = cn.slice(NODE_PREFIX.length);
  if (!isDns1123Subdomain(node)) return { ok: false, error: "client certificate names an invalid node" };
  return { ok: true, value: node };
}

/** The node names a request claims: its node_id header and the node segment of /<project>/<node>/events. */
export function claimedNodes(
  url: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string[] {
  const claims: string[] = [];
  const header = headers["node_id"];
  if (typeof header === "string") claims.push(header);
  else if (Array.isArray(header)) claims.push(...header);
  const path = (url ?? "/").split("?")[0] ?? "/";
  const segments = path.split("/").filter((s) => s.length > 0);
  if (segments.length === 3 && segments[2] === "events" && segments[1] !== undefined) {
    try {
      claims.push(decodeURIComponent(segments[1]));
    } catch {
      claims.push(segments[1]);
    }
  }
  return claims;
}
