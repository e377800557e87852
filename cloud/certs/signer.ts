// Signing an edge node's CSR. Its subject must be the node's identity (upstream copies whatever subject the CSR
// has); key usage and extended key usage are forced to a node client's whatever the request asks.
import { DNS_SUBDOMAIN } from "../../lib/config/mod.ts";
import { type Issued, parseCsr, x509 } from "../../lib/pki/mod.ts";

/** Tolerates small clock differences between the cloud and the edge that checks notBefore. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface SignEdgeCsrOptions {
  readonly nodeName: string;
  readonly ca: Issued;
  readonly validityMs: number;
  /** Clock, for tests. */
  readonly now?: Date;
}

/**
 * Checks and signs a CSR (DER) for node `nodeName`: `O=system:nodes, CN=system:node:<nodeName>`, key usage
 * digitalSignature (+ keyEncipherment for RSA), extendedKeyUsage clientAuth only. Throws TypeError
 * "Cannot accept CSR: ..." / "Cannot sign CSR: ..." for a request the sender must fix.
 */
export async function signEdgeCsr(
  csrDer: Uint8Array,
  options: SignEdgeCsrOptions,
): Promise<x509.X509Certificate> {
  if (!DNS_SUBDOMAIN.test(options.nodeName)) {
    throw new TypeError(
      `Cannot sign CSR: node name ${JSON.stringify(options.nodeName)} is not a DNS subdomain`,
    );
  }
  const csr = await parseCsr(csrDer);
  // What kedge's and KubeEdge's edges ask for (certmanager.go adds C, ST and L, which are ignored). A CSR
  // that asks for anything else is refused rather than silently given the node's identity.
  const commonNames = csr.request.subjectName.getField("CN");
  const organizations = csr.request.subjectName.getField("O");
  if (
    commonNames.length !== 1 || commonNames[0] !== `system:node:${options.nodeName}` ||
    organizations.length !== 1 || organizations[0] !== "system:nodes"
  ) {
    throw new TypeError(
      `Cannot accept CSR: its subject must be O=system:nodes, CN=system:node:${options.nodeName}, ` +
        `not ${csr.request.subject.slice(0, 300)}`,
    );
  }
  const now = (options.now ?? new Date()).getTime();
  const usages = csr.keyType === "rsa"
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
    : x509.KeyUsageFlags.digitalSignature;
  return await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ O: ["system:nodes"] }, { CN: [`system:node:${options.nodeName}`] }],
    issuer: options.ca.cert.subjectName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + options.validityMs),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
    publicKey: csr.request.publicKey,
    signingKey: options.ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      await x509.AuthorityKeyIdentifierExtension.create(options.ca.keys.publicKey),
    ],
  });
}

/** 16 random bytes with the top bit clear: a positive serial, as RFC 5280 requires. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
