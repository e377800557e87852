// Certificates for the CA, servers and clients: X.509 v3 with explicit usages, since rustls rejects v1
// and Go's TLS checks extendedKeyUsage.
import { x509 } from "./x509.ts";
import { generateKeyPair, SIGNING } from "./keys.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Tolerates small clock differences between the issuer and the peer that checks notBefore. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface CaOptions {
  commonName: string;
  validityMs?: number;
  keys?: CryptoKeyPair;
}

export async function createCa(options: CaOptions): Promise<Issued> {
  const keys = options.keys ?? await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.commonName] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (options.validityMs ?? 3650 * DAY_MS)),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

export type Usage = "server" | "client";

export interface LeafOptions {
  ca: Issued;
  commonName: string;
  organizations?: string[];
  usages: Usage[];
  dnsNames?: string[];
  ipAddresses?: string[];
  validityMs?: number;
  /** The subject's public key; a new key pair is made when absent (and returned). */
  publicKey?: CryptoKey;
}

export interface IssuedLeaf {
  cert: x509.X509Certificate;
  keys?: CryptoKeyPair;
}

export async function issueCertificate(options: LeafOptions): Promise<IssuedLeaf> {
  const keys = options.publicKey ? undefined : await generateKeyPair();
  const publicKey = options.publicKey ?? keys!.publicKey;
  const now = Date.now();
  const ekus = options.usages.map((u) =>
    u === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth
  );
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA keys sign; keyEncipherment belongs to RSA key transport.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(ekus, false),
    await x509.AuthorityKeyIdentifierExtension.create(options.ca.keys.publicKey),
  ];
  const sans = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const subject: x509.JsonName = [{ CN: [options.commonName] }];
  for (const o of options.organizations ?? []) subject.push({ O: [o] });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: options.ca.cert.subjectName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (options.validityMs ?? 365 * DAY_MS)),
    signingAlgorithm: SIGNING,
    publicKey,
    signingKey: options.ca.keys.privateKey,
    extensions,
  });
  return { cert, keys };
}

/** 16 random bytes with the top bit clear: a positive serial, as RFC 5280 requires. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function certificateToPem(cert: x509.X509Certificate): string {
  return cert.toString("pem") + "\n";
}
