// ECDSA P-256 keys, the only key type KubeEdge issues, held as WebCrypto keys.
import { toPem } from "./pem.ts";

export const EC_P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
export const SIGNING: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

export async function privateKeyToPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return toPem("PRIVATE KEY", await privateKeyToPkcs8(key));
}

export async function publicKeyToPem(key: CryptoKey): Promise<string> {
  return toPem("PUBLIC KEY", await crypto.subtle.exportKey("spki", key));
}

/** Imports a PKCS#8 P-256 private key together with its public half. */
export async function importPkcs8KeyPair(pkcs8: Uint8Array<ArrayBuffer>): Promise<CryptoKeyPair> {
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, EC_P256, true, ["sign"]);
  // WebCrypto has no "derive public from private"; the JWK of a private EC key carries x and y.
  const { d: _d, key_ops: _ops, ...publicJwk } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", publicJwk, EC_P256, true, ["verify"]);
  return { privateKey, publicKey };
}
