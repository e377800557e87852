// Who is calling: a join token in `Authorization: Bearer`, or a client certificate our CA issued. The TLS
// layer only asks for the certificate (requestCert, rejectUnauthorized false); it is checked here.
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { CloudPki } from "../certs/mod.ts";
import { type JoinTokenCheck, verifyJoinJwt, verifyJoinToken, x509 } from "../../lib/pki/mod.ts";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

export type CertificateCheck =
  | { readonly ok: true; readonly commonName: string }
  | { readonly ok: false; readonly reason: string };

/** The DER of the client certificate presented on this request's TLS connection, if any. */
export function peerCertificateDer(incoming: IncomingMessage): Uint8Array | undefined {
  const socket = incoming.socket as Partial<TLSSocket>;
  const peer = socket.getPeerCertificate?.(false);
  const raw = peer && "raw" in peer ? peer.raw : undefined;
  return raw && raw.byteLength > 0 ? new Uint8Array(raw) : undefined;
}

/** A client certificate counts when our CA signed it, it is in its validity period, not a CA, and has clientAuth. */
export async function verifyClientCertificate(
  der: Uint8Array,
  pki: CloudPki,
  now: Date = new Date(),
): Promise<CertificateCheck> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch {
    return { ok: false, reason: "unreadable certificate" };
  }
  if (cert.issuer !== pki.ca.cert.subject) return { ok: false, reason: "not issued by the KubeEdge CA" };
  let valid = false;
  try {
    valid = await cert.verify({ publicKey: pki.ca.cert.publicKey, date: now });
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: "bad signature or outside its validity period" };
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca) return { ok: false, reason: "a CA certificate" };
  const usages = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  if (!usages.map(String).includes(CLIENT_AUTH)) return { ok: false, reason: "no clientAuth usage" };
  const commonName = cert.subjectName.getField("CN")[0];
  if (commonName === undefined) return { ok: false, reason: "no common name" };
  return { ok: true, commonName };
}

/**
 * Checks `Authorization: Bearer <token>`: the JWT part alone (what upstream's edge sends) or the whole
 * 4-part token. Undefined when the header is absent.
 */
export function checkJoinBearer(
  authorization: string | undefined,
  pki: CloudPki,
): JoinTokenCheck | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) return { ok: false, reason: "malformed", message: "the Authorization header is not Bearer" };
  const token = match[1] ?? "";
  const key = { caCertDer: pki.caCertDer, caKeyDer: pki.caKeyDer };
  return token.split(".").length === 4 ? verifyJoinToken(token, key) : verifyJoinJwt(token, key);
}
