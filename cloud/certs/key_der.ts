// EC private keys as KubeEdge stores them (SEC1 DER) <-> WebCrypto keys (PKCS#8).
import { Buffer } from "node:buffer";
import { createPrivateKey } from "node:crypto";
import { importPkcs8KeyPair, privateKeyToPkcs8 } from "../../lib/pki/mod.ts";

/** A WebCrypto EC private key as SEC1 DER (`EC PRIVATE KEY`). */
export async function privateKeyToSec1(key: CryptoKey): Promise<Uint8Array> {
  const pkcs8 = await privateKeyToPkcs8(key);
  const exported = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" })
    .export({ format: "der", type: "sec1" });
  return new Uint8Array(exported);
}

/** SEC1 DER of a P-256 key -> a WebCrypto key pair. Throws TypeError when it is not one. */
export async function keyPairFromSec1(sec1: Uint8Array): Promise<CryptoKeyPair> {
  let pkcs8: Uint8Array<ArrayBuffer>;
  try {
    const key = createPrivateKey({ key: Buffer.from(sec1), format: "der", type: "sec1" });
    pkcs8 = new Uint8Array(key.export({ format: "der", type: "pkcs8" }));
  } catch (err) {
    throw new TypeError("Cannot read EC private key: not SEC1 DER", { cause: err });
  }
  return await importPkcs8KeyPair(pkcs8);
}

/** Whether `keys.publicKey` is the key in `spkiDer` (a certificate's subject public key). */
export async function keyMatches(keys: CryptoKeyPair, spkiDer: ArrayBuffer): Promise<boolean> {
  const ours = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  return Buffer.from(ours).equals(Buffer.from(new Uint8Array(spkiDer)));
}
