import assert from "node:assert/strict";
import { createCa, issueCertificate, type Issued, x509 } from "../../lib/pki/mod.ts";
import { isDns1123Subdomain, type Result } from "../../lib/protocol/mod.ts";
import { claimedNodes, nodeFromCertificate } from "./identity.ts";

/** The former implementation, a full parse with @peculiar/x509: the reference the DER walker must match. */
function reference(der: Uint8Array): Result<string, string> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch {
    return { ok: false, error: "client certificate cannot be parsed" };
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku || !eku.usages.map(String).includes("1.3.6.1.5.5.7.3.2")) {
    return { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" };
  }
  const names = cert.subjectName.getField("CN");
  if (names.length !== 1) return { ok: false, error: "client certificate must have exactly one CN" };
  const cn = names[0] ?? "";
  if (!cn.startsWith("system:node:")) {
    return { ok: false, error: "client certificate CN must start with system:node:" };
  }
  const node = cn.slice("system:node:".length);
  if (!isDns1123Subdomain(node)) return { ok: false, error: "client certificate names an invalid node" };
  return { ok: true, value: node };
}

let caPromise: Promise<Issued> | undefined;
function ca(): Promise<Issued> {
  return caPromise ??= createCa({ commonName: "KubeEdge" });
}

async function certificate(
  subject: x509.JsonName,
  extensions: x509.Extension[],
  version3 = true,
): Promise<Uint8Array> {
  const signer = await ca();
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0102",
    subject,
    issuer: signer.cert.subjectName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    extensions: version3 ? extensions : [],
  });
  return new Uint8Array(cert.rawData);
}

/** A name value of a chosen ASN.1 string type: @peculiar/x509 takes these at run time, its JsonName type does not. */
function typed(value: { utf8String?: string; bmpString?: string; ia5String?: string }): string {
  return value as unknown as string;
}

const clientAuth = () => new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false);
const keyUsage = () => new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);

Deno.test("nodeFromCertificate reads CN and clientAuth as the full X.509 parse did, for good and bad certificates", async () => {
  const cases: { name: string; der: Uint8Array; expect: Result<string, string> }[] = [
    {
      name: "kedge's own node certificate",
      der: new Uint8Array(
        (await issueCertificate({
          ca: await ca(),
          commonName: "system:node:edge-1",
          organizations: ["system:nodes"],
          usages: ["client"],
        })).cert.rawData,
      ),
      expect: { ok: true, value: "edge-1" },
    },
    {
      name: "UTF8String CN, EKU critical with serverAuth too, O before CN",
      der: await certificate(
        [{ O: ["system:nodes"] }, { CN: [typed({ utf8String: "system:node:node-a.example" })] }],
        [
          keyUsage(),
          new x509.ExtendedKeyUsageExtension(
            [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
            true,
          ),
        ],
      ),
      expect: { ok: true, value: "node-a.example" },
    },
    {
      name: "BMPString CN",
      der: await certificate([{ CN: [typed({ bmpString: "system:node:bmp" })] }], [clientAuth()]),
      expect: { ok: true, value: "bmp" },
    },
    {
      name: "IA5String CN",
      der: await certificate([{ CN: [typed({ ia5String: "system:node:ia5" })] }], [clientAuth()]),
      expect: { ok: true, value: "ia5" },
    },
    {
      name: "no extendedKeyUsage",
      der: await certificate([{ CN: ["system:node:edge-1"] }], [keyUsage()]),
      expect: { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" },
    },
    {
      name: "v1 certificate, no extensions at all",
      der: await certificate([{ CN: ["system:node:edge-1"] }], [], false),
      expect: { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" },
    },
    {
      name: "serverAuth only",
      der: await certificate(
        [{ CN: ["system:node:edge-1"] }],
        [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false)],
      ),
      expect: { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" },
    },
    {
      name: "anyExtendedKeyUsage is not clientAuth",
      der: await certificate(
        [{ CN: ["system:node:edge-1"] }],
        [new x509.ExtendedKeyUsageExtension(["2.5.29.37.0"], false)],
      ),
      expect: { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" },
    },
    {
      name: "two CNs in one RDN",
      der: await certificate([{ CN: ["system:node:a", "system:node:b"] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate must have exactly one CN" },
    },
    {
      name: "two CNs in two RDNs",
      der: await certificate([{ CN: ["system:node:a"] }, { CN: ["system:node:b"] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate must have exactly one CN" },
    },
    {
      name: "no CN",
      der: await certificate([{ O: ["system:nodes"] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate must have exactly one CN" },
    },
    {
      name: "CN without the system:node: prefix",
      der: await certificate([{ CN: ["edge-1"] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate CN must start with system:node:" },
    },
    {
      name: "node name is not a DNS-1123 subdomain",
      der: await certificate([{ CN: ["system:node:Edge_1"] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate names an invalid node" },
    },
    {
      name: "non-ASCII node name",
      der: await certificate([{ CN: [typed({ utf8String: "system:node:édge" })] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate names an invalid node" },
    },
    {
      name: "empty node name",
      der: await certificate([{ CN: ["system:node:"] }], [clientAuth()]),
      expect: { ok: false, error: "client certificate names an invalid node" },
    },
  ];
  for (const c of cases) {
    assert.deepEqual(reference(c.der), c.expect, `reference, ${c.name}`);
    assert.deepEqual(nodeFromCertificate(c.der), c.expect, c.name);
  }
});

Deno.test("nodeFromCertificate refuses missing, empty, truncated and mangled DER without throwing", async () => {
  assert.deepEqual(nodeFromCertificate(undefined), { ok: false, error: "no client certificate" });
  assert.deepEqual(nodeFromCertificate(new Uint8Array()), { ok: false, error: "no client certificate" });
  const unparsable = { ok: false, error: "client certificate cannot be parsed" };
  assert.deepEqual(nodeFromCertificate(new TextEncoder().encode("-----BEGIN CERTIFICATE-----")), unparsable);
  const der = await certificate([{ CN: ["system:node:edge-1"] }], [keyUsage(), clientAuth()]);
  assert.deepEqual(nodeFromCertificate(der), { ok: true, value: "edge-1" });
  for (let length = 1; length < der.length; length++) {
    assert.deepEqual(nodeFromCertificate(der.subarray(0, length)), unparsable, `truncated to ${length}`);
  }
  const trailing = new Uint8Array(der.length + 1);
  trailing.set(der);
  assert.deepEqual(nodeFromCertificate(trailing), unparsable);
  // Any single byte changed: never an exception, and never a node other than edge-1 (TLS would have refused
  // the changed certificate anyway; this is about the walker staying inside its bounds).
  for (let i = 0; i < der.length; i++) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const mangled = der.slice();
      mangled[i] = mangled[i]! ^ flip;
      const result = nodeFromCertificate(mangled);
      if (result.ok) assert.match(result.value, /^[a-z0-9.-]+$/, `byte ${i} ^ ${flip}`);
    }
  }
});

Deno.test("claimedNodes collects the node_id header and the path's node segment", () => {
  assert.deepEqual(claimedNodes("/e632aba927ea4ac2b575ec1603d56f10/edge-1/events", { node_id: "edge-1" }), [
    "edge-1",
    "edge-1",
  ]);
  assert.deepEqual(claimedNodes("/p/edge%2D2/events?x=1", {}), ["edge-2"]);
  assert.deepEqual(claimedNodes("/", { node_id: ["a", "b"] }), ["a", "b"]);
  assert.deepEqual(claimedNodes(undefined, {}), []);
});
