import assert from "node:assert/strict";
import { createCsr, MAX_CSR_BYTES, parseCsr } from "./csr.ts";
import { generateKeyPair } from "./keys.ts";

function rsaKeys(bits: number): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;
}

Deno.test("createCsr for a node asks for O=system:nodes, CN=system:node:<node> and parses back verified", async () => {
  const der = await createCsr({ keys: await generateKeyPair(), nodeName: "edge-1" });
  const parsed = await parseCsr(der);
  assert.equal(parsed.keyType, "ec-p256");
  assert.match(parsed.request.subject, /CN=system:node:edge-1/);
  assert.match(parsed.request.subject, /O=system:nodes/);
});

Deno.test("parseCsr accepts EC P-384 and RSA 2048 keys", async () => {
  const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  assert.equal((await parseCsr(await createCsr({ keys: p384, nodeName: "a" }))).keyType, "ec-p384");
  assert.equal(
    (await parseCsr(await createCsr({ keys: await rsaKeys(2048), nodeName: "a" }))).keyType,
    "rsa",
  );
});

Deno.test("parseCsr refuses an RSA key shorter than 2048 bits", async () => {
  const der = await createCsr({ keys: await rsaKeys(1024), nodeName: "a" });
  await assert.rejects(parseCsr(der), /Cannot accept CSR: an RSA key of 1024 bits is weaker than 2048/);
});

Deno.test("parseCsr refuses an EC curve other than P-256 or P-384", async () => {
  const p521 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  await assert.rejects(parseCsr(await createCsr({ keys: p521, nodeName: "a" })), /EC curve secp521r1/);
});

Deno.test("parseCsr refuses a CSR whose subject was changed after signing", async () => {
  const der = await createCsr({ keys: await generateKeyPair(), subject: { commonName: "aaaa" } });
  const at = der.findIndex((b, i) => b === 0x61 && der[i + 1] === 0x61);
  der[at] = 0x62;
  await assert.rejects(parseCsr(der), /Cannot accept CSR: its self-signature does not verify/);
});

Deno.test("parseCsr refuses garbage, an empty body and one over the size limit", async () => {
  await assert.rejects(parseCsr(new Uint8Array([1, 2, 3])), /not a DER PKCS#10 request/);
  await assert.rejects(parseCsr(new Uint8Array()), /the body is empty/);
  await assert.rejects(parseCsr(new Uint8Array(MAX_CSR_BYTES + 1)), /larger than 16384 bytes/);
});

Deno.test("createCsr needs a node name or a subject", async () => {
  await assert.rejects(createCsr({ keys: await generateKeyPair() }), /Cannot create CSR/);
});
