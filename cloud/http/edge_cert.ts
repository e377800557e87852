// GET|POST /edge.crt: the edge sends its CSR (DER) as the body, upstream even on GET, so this route runs on
// the raw node request before Hono (the Fetch API drops GET bodies). Authenticated by a join token (first
// join) or by the node's current client certificate (rotation), whose CN must name the NodeName header.
import type { IncomingMessage, ServerResponse } from "node:http";
import { DNS_SUBDOMAIN } from "../../lib/config/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { type CloudPki, signEdgeCsr } from "../certs/mod.ts";
import { readBody, sendBytes, sendText } from "../../lib/http_body.ts";
import { checkJoinBearer, peerCertificateDer, verifyClientCertificate } from "./client_identity.ts";
import type { CertServerMetrics } from "./metrics.ts";

export const EDGE_CERT_PATH = "/edge.crt";
/** Largest request body (a CSR) read. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const MAX_EXT_KEY_USAGES_HEADER = 256;

export interface EdgeCertDeps {
  readonly pki: CloudPki;
  readonly log: Logger;
  readonly metrics: CertServerMetrics;
  readonly validityMs: number;
  readonly maxBodyBytes: number;
}

type Auth = { readonly by: "token" | "certificate" } | {
  readonly status: 401 | 403;
  readonly reason: string;
  readonly text: string;
};

export async function handleEdgeCert(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  deps: EdgeCertDeps,
): Promise<void> {
  const { log, metrics } = deps;
  const refuse = (status: number, reason: string, text: string, fields: Record<string, unknown> = {}) => {
    metrics.joinFailures.inc({ reason });
    log.warn("edge certificate refused", {
      status,
      reason,
      remote: incoming.socket.remoteAddress,
      ...fields,
    });
    return sendText(incoming, outgoing, status, `${text}\n`);
  };
  if (incoming.method !== "GET" && incoming.method !== "POST") {
    outgoing.setHeader("allow", "GET, POST");
    return refuse(405, "method", "Method Not Allowed");
  }
  const nodeName = headerValue(incoming, "nodename");
  if (nodeName === undefined || !DNS_SUBDOMAIN.test(nodeName)) {
    return refuse(400, "node-name", "Bad Request: the NodeName header must be a DNS subdomain");
  }
  const declared = Number(incoming.headers["content-length"] ?? 0);
  if (declared > deps.maxBodyBytes) {
    return refuse(413, "body-too-large", `Payload Too Large: at most ${deps.maxBodyBytes} bytes`, {
      nodeName,
    });
  }
  const auth = await authenticate(incoming, nodeName, deps.pki);
  if ("status" in auth) return refuse(auth.status, auth.reason, auth.text, { nodeName });
  const extKeyUsages = headerValue(incoming, "extkeyusages");
  if (extKeyUsages !== undefined && extKeyUsages.length > MAX_EXT_KEY_USAGES_HEADER) {
    return refuse(400, "ext-key-usages", "Bad Request: ExtKeyUsages header too long", { nodeName });
  }
  const read = await readBody(incoming, deps.maxBodyBytes);
  if (!read.ok) {
    const text = read.status === 413
      ? `Payload Too Large: at most ${deps.maxBodyBytes} bytes`
      : "Bad Request";
    return refuse(read.status, read.status === 413 ? "body-too-large" : "body", text, { nodeName });
  }
  let cert;
  try {
    cert = await signEdgeCsr(read.body, { nodeName, ca: deps.pki.ca, validityMs: deps.validityMs });
  } catch (err) {
    if (err instanceof TypeError) {
      return refuse(400, "csr", `Bad Request: ${err.message}`, { nodeName });
    }
    log.error("edge certificate signing failed", { nodeName, error: err });
    return sendText(incoming, outgoing, 500, "Internal Server Error\n");
  }
  metrics.issued.inc({ auth: auth.by });
  log.info("edge certificate issued", {
    nodeName,
    auth: auth.by,
    serial: cert.serialNumber,
    notAfter: cert.notAfter.toISOString(),
    // Upstream lets the edge pick usages; we always issue clientAuth only and just record the ask.
    ...(extKeyUsages === undefined ? {} : { extKeyUsagesAsked: extKeyUsages }),
  });
  sendBytes(outgoing, new Uint8Array(cert.rawData));
}

async function authenticate(incoming: IncomingMessage, nodeName: string, pki: CloudPki): Promise<Auth> {
  const bearer = checkJoinBearer(headerValue(incoming, "authorization"), pki);
  if (bearer) {
    if (bearer.ok) return { by: "token" };
    return { status: 401, reason: `token-${bearer.reason}`, text: `Unauthorized: ${bearer.message}` };
  }
  const der = peerCertificateDer(incoming);
  if (!der) {
    return {
      status: 401,
      reason: "no-credentials",
      text: "Unauthorized: send a join token or a client certificate",
    };
  }
  const check = await verifyClientCertificate(der, pki);
  if (!check.ok) return { status: 401, reason: "certificate", text: `Unauthorized: ${check.reason}` };
  if (check.commonName !== `system:node:${nodeName}`) {
    return {
      status: 403,
      reason: "certificate-node-mismatch",
      text: `Forbidden: the client certificate is not node ${nodeName}'s`,
    };
  }
  return { by: "certificate" };
}

function headerValue(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
