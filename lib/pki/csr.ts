// PKCS#10 certificate requests: the edge makes one for its node identity; the cloud parses and checks one
// before signing. Parsing lives here so both sides agree on the limits.
import { Buffer } from "node:buffer";
import { createPublicKey } from "node:crypto";
import { x509 } from "./x509.ts";

/** Largest CSR DER accepted; a P-256 one is about 250 bytes, an RSA-4096 one about 1.2 KiB. */
export const MAX_CSR_BYTES = 16 * 1024;

export interface CsrOptions {
  readonly keys: CryptoKeyPair;
  /** Subject `O=system:nodes, CN=system:node:<nodeName>`, what a KubeEdge edge asks for. */
  readonly nodeName?: string;
  /** Any other subject; for tests of a cloud that must ignore what the CSR asks. */
  readonly subject?: { readonly commonName: string; readonly organizations?: readonly string[] };
  /** Subject alternative names to ask for (a serving certificate's). */
  readonly ipAddresses?: readonly string[];
  readonly dnsNames?: readonly string[];
}

/** A CSR signed by `keys`, DER. Needs `nodeName` or `subject`. */
export async function createCsr(options: CsrOptions): Promise<Uint8Array> {
  const subject = options.subject ??
    (options.nodeName !== undefined
      ? { commonName: `system:node:${options.nodeName}`, organizations: ["system:nodes"] }
      : undefined);
  if (!subject) throw new TypeError("Cannot create CSR: give a nodeName or a subject");
  const name: x509.JsonName = [{ CN: [subject.commonName] }];
  for (const o of subject.organizations ?? []) name.push({ O: [o] });
  const sans = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: options.keys,
    signingAlgorithm: signingAlgorithmFor(options.keys.privateKey),
    extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, false)] : [],
  });
  return new Uint8Array(csr.rawData);
}

function signingAlgorithmFor(key: CryptoKey): Algorithm | EcdsaParams {
  const algorithm = key.algorithm as EcKeyAlgorithm | RsaHashedKeyAlgorithm;
  if (algorithm.name === "ECDSA") {
    const curve = (algorithm as EcKeyAlgorithm).namedCurve;
    return { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : curve === "P-521" ? "SHA-512" : "SHA-256" };
  }
  return { name: algorithm.name };
}

export type CsrKeyType = "ec-p256" | "ec-p384" | "rsa";

export interface ParsedCsr {
  readonly request: x509.Pkcs10CertificateRequest;
  readonly keyType: CsrKeyType;
  /** SubjectPublicKeyInfo DER of the requested key. */
  readonly publicKeyDer: Uint8Array;
}

export const MIN_RSA_BITS = 2048;

/**
 * Parses a CSR, checks its self-signature and refuses weak or unknown keys (EC P-256/P-384 and RSA of at
 * least 2048 bits only). Throws TypeError "Cannot accept CSR: ..." with a reason fit to show the sender.
 */
export async function parseCsr(der: Uint8Array): Promise<ParsedCsr> {
  if (der.byteLength === 0) throw new TypeError("Cannot accept CSR: the body is empty");
  if (der.byteLength > MAX_CSR_BYTES) {
    throw new TypeError(`Cannot accept CSR: larger than ${MAX_CSR_BYTES} bytes`);
  }
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(new Uint8Array(der));
  } catch (err) {
    throw new TypeError("Cannot accept CSR: it is not a DER PKCS#10 request", { cause: err });
  }
  const publicKeyDer = new Uint8Array(request.publicKey.rawData);
  const keyType = keyTypeOf(publicKeyDer);
  let verified = false;
  try {
    verified = await request.verify();
  } catch (err) {
    throw new TypeError("Cannot accept CSR: its signature cannot be checked", { cause: err });
  }
  if (!verified) throw new TypeError("Cannot accept CSR: its self-signature does not verify");
  return { request, keyType, publicKeyDer };
}

function keyTypeOf(spki: Uint8Array): CsrKeyType {
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch (err) {
    throw new TypeError("Cannot accept CSR: its public key cannot be read", { cause: err });
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "ec") {
    if (details.namedCurve === "prime256v1") return "ec-p256";
    if (details.namedCurve === "secp384r1") return "ec-p384";
    throw new TypeError(`Cannot accept CSR: EC curve ${details.namedCurve} is not P-256 or P-384`);
  }
  if (key.asymmetricKeyType === "rsa") {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new TypeError(`Cannot accept CSR: an RSA key of ${bits} bits is weaker than ${MIN_RSA_BITS}`);
    }
    return "rsa";
  }
  throw new TypeError(`Cannot accept CSR: key type ${key.asymmetricKeyType} is not EC or RSA`);
}
