import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createCa, createCsr, generateKeyPair, x509 } from "../../lib/pki/mod.ts";
import { signEdgeCsr } from "./signer.ts";

const MINUTE = 60_000;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

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

Deno.test("signEdgeCsr refuses a subject other than the node's, with a clear error", async () => {
  const ca = await createCa({ commonName: "KubeEdge" });
  for (
    const subject of [
      { commonName: "admin", organizations: ["system:masters"] },
      { commonName: "system:node:edge-1", organizations: ["system:nodes", "system:masters"] },
      { commonName: "system:node:edge-1" },
      { commonName: "system:node:edge-2", organizations: ["system:nodes"] },
    ]
  ) {
    const csr = await createCsr({ keys: await generateKeyPair(), subject });
    await assert.rejects(
      signEdgeCsr(csr, { nodeName: "edge-1", ca, validityMs: MINUTE }),
      /Cannot accept CSR: its subject must be O=system:nodes, CN=system:node:edge-1, not /,
    );
  }
});

Deno.test("signEdgeCsr signs the node subject with clientAuth only, whatever usages the CSR asks", async () => {
  const ca = await createCa({ commonName: "KubeEdge" });
  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, nodeName: "edge-1" });
  const cert = await signEdgeCsr(csr, { nodeName: "edge-1", ca, validityMs: 10 * MINUTE });
  const parsed = new X509Certificate(new Uint8Array(cert.rawData));
  assert.equal(parsed.subject, "O=system:nodes\nCN=system:node:edge-1");
  assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [CLIENT_AUTH]);
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.ok(parsed.verify(new X509Certificate(new Uint8Array(ca.cert.rawData)).publicKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  assert.deepEqual(new Uint8Array(cert.publicKey.rawData), spki);
  const lifeMs = cert.notAfter.getTime() - Date.now();
  assert.ok(lifeMs > 9 * MINUTE && lifeMs <= 10 * MINUTE, `validity ${lifeMs}`);
});

Deno.test("signEdgeCsr adds keyEncipherment for an RSA 2048 key", async () => {
  const ca = await createCa({ commonName: "KubeEdge" });
  const csr = await createCsr({ keys: await rsaKeys(2048), nodeName: "edge-1" });
  const cert = await signEdgeCsr(csr, { nodeName: "edge-1", ca, validityMs: MINUTE });
  assert.equal(
    cert.getExtension(x509.KeyUsagesExtension)?.usages,
    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
  );
});

Deno.test("signEdgeCsr refuses a weak key, a bad signature and a bad node name", async () => {
  const ca = await createCa({ commonName: "KubeEdge" });
  const weak = await createCsr({ keys: await rsaKeys(1024), nodeName: "edge-1" });
  await assert.rejects(signEdgeCsr(weak, { nodeName: "edge-1", ca, validityMs: MINUTE }), /1024 bits/);
  const tampered = await createCsr({
    keys: await generateKeyPair(),
    subject: { commonName: "system:node:zzzz", organizations: ["system:nodes"] },
  });
  tampered[tampered.findIndex((b, i) => b === 0x7a && tampered[i + 1] === 0x7a)] = 0x79;
  await assert.rejects(
    signEdgeCsr(tampered, { nodeName: "edge-1", ca, validityMs: MINUTE }),
    /self-signature does not verify/,
  );
  const good = await createCsr({ keys: await generateKeyPair(), nodeName: "edge-1" });
  await assert.rejects(
    signEdgeCsr(good, { nodeName: "Edge_1/../x", ca, validityMs: MINUTE }),
    /Cannot sign CSR: node name/,
  );
});
