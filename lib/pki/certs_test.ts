import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { x509 } from "./x509.ts";
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "./mod.ts";

Deno.test("a server certificate issued by createCa completes a rustls TLS handshake for its IP SAN", async () => {
  const ca = await createCa({ commonName: "test-ca" });
  const server = await issueCertificate({
    ca,
    commonName: "server",
    usages: ["server"],
    ipAddresses: ["127.0.0.1"],
  });
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: certificateToPem(server.cert),
    key: await privateKeyToPem(server.keys!.privateKey),
  });
  const accepted = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("hi"));
    conn.close();
  })();
  const client = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [certificateToPem(ca.cert)],
  });
  const buf = new Uint8Array(2);
  assert.equal(await client.read(buf), 2);
  assert.equal(new TextDecoder().decode(buf), "hi");
  client.close();
  await accepted;
  listener.close();
});

Deno.test("a client certificate carries the subject, organizations and clientAuth usage it was issued with", async () => {
  const ca = await createCa({ commonName: "test-ca" });
  const { cert } = await issueCertificate({
    ca,
    commonName: "system:node:edge-1",
    organizations: ["system:nodes"],
    usages: ["client"],
  });
  const parsed = new X509Certificate(cert.toString("pem"));
  assert.match(parsed.subject, /CN=system:node:edge-1/);
  assert.match(parsed.subject, /O=system:nodes/);
  assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [
    "1.3.6.1.5.5.7.3.2",
  ]);
  assert.ok(parsed.checkIssued(new X509Certificate(ca.cert.toString("pem"))));
  assert.ok(parsed.verify(new X509Certificate(ca.cert.toString("pem")).publicKey));
  assert.equal(parsed.ca, false);
});

Deno.test("a certificate signed by another CA does not verify against ours", async () => {
  const ours = await createCa({ commonName: "ours" });
  const theirs = await createCa({ commonName: "theirs" });
  const { cert } = await issueCertificate({ ca: theirs, commonName: "x", usages: ["client"] });
  const parsed = new X509Certificate(cert.toString("pem"));
  assert.equal(parsed.verify(new X509Certificate(ours.cert.toString("pem")).publicKey), false);
});
