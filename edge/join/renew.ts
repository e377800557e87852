// Certificate rotation: a new key and CSR sent to /edge.crt authenticated by the node's CURRENT client
// certificate (no token). The caller decides when (upstream: at a random point in 70-90 % of the life).
import { Buffer } from "node:buffer";
import { createCsr, generateKeyPair, pemToDer, privateKeyToPem, toPem } from "../../lib/pki/mod.ts";
import { httpsRequest } from "./https_client.ts";
import { checkIssuedCertificate } from "./issued_check.ts";
import { MAX_CERT_BYTES } from "./join.ts";

export interface RenewOptions {
  /** https://HOST:10002 */
  readonly httpServer: string;
  readonly nodeName: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly timeoutMs?: number;
}

export interface Renewed {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
}

/** Throws Error "Cannot renew certificate: ..." when the cloud refuses or answers with a wrong certificate. */
export async function renewCertificate(options: RenewOptions): Promise<Renewed> {
  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, nodeName: options.nodeName });
  const url = `${options.httpServer.replace(/\/+$/, "")}/edge.crt`;
  const answer = await httpsRequest({
    url,
    trust: options.caPem,
    clientCertPem: options.certPem,
    clientKeyPem: options.keyPem,
    headers: { nodename: options.nodeName, extkeyusages: "[2]" },
    body: csr,
    maxResponseBytes: MAX_CERT_BYTES,
    timeoutMs: options.timeoutMs,
  });
  if (answer.status !== 200) {
    const why = Buffer.from(answer.body.subarray(0, 512)).toString("utf8").trim();
    throw new Error(`Cannot renew certificate: ${url} answered ${answer.status}: ${why}`);
  }
  const cert = await checkIssuedCertificate(answer.body, {
    caDer: pemToDer(options.caPem, "CERTIFICATE"),
    keys,
    nodeName: options.nodeName,
  });
  return {
    certPem: toPem("CERTIFICATE", answer.body),
    keyPem: await privateKeyToPem(keys.privateKey),
    notAfter: cert.notAfter,
  };
}
