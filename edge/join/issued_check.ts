// What the edge checks in a certificate the cloud returns before writing it: signed by the pinned CA, for our
// new key, naming our node. A cloud that answers with something else is a bug or an attack; refuse it.
import { Buffer } from "node:buffer";
import { x509 } from "../../lib/pki/mod.ts";

export interface IssuedExpectation {
  readonly caDer: Uint8Array;
  readonly keys: CryptoKeyPair;
  readonly nodeName: string;
}

/** Parses and checks the signed certificate DER. Throws Error "Cannot use the issued certificate: ...". */
export async function checkIssuedCertificate(
  der: Uint8Array,
  expected: IssuedExpectation,
): Promise<x509.X509Certificate> {
  const fail = (why: string, cause?: unknown) =>
    new Error(`Cannot use the issued certificate: ${why}`, { cause });
  let cert: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
    ca = new x509.X509Certificate(new Uint8Array(expected.caDer));
  } catch (err) {
    throw fail("it is not a DER certificate", err);
  }
  if (!await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })) {
    throw fail("it is not signed by the cloud's CA");
  }
  const ours = new Uint8Array(await crypto.subtle.exportKey("spki", expected.keys.publicKey));
  if (!Buffer.from(ours).equals(Buffer.from(new Uint8Array(cert.publicKey.rawData)))) {
    throw fail("it is not for the key this node generated");
  }
  const commonName = cert.subjectName.getField("CN")[0];
  if (commonName !== `system:node:${expected.nodeName}`) {
    throw fail(`its subject ${JSON.stringify(commonName)} is not system:node:${expected.nodeName}`);
  }
  return cert;
}
