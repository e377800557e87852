// cloudcore's serving certificate: serverAuth, SANs = the advertise addresses (IP) and DNS names. A missing SAN
// is the most reported join failure upstream, so the stored certificate is checked against what is asked.
import { issueCertificate, type Issued, x509 } from "../../lib/pki/mod.ts";

export interface ServerSans {
  readonly ipAddresses: readonly string[];
  readonly dnsNames: readonly string[];
}

export async function issueServerCert(
  ca: Issued,
  sans: ServerSans,
  validityMs: number,
): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const { cert, keys } = await issueCertificate({
    ca,
    commonName: "KubeEdge",
    organizations: ["KubeEdge"],
    usages: ["server"],
    ipAddresses: [...sans.ipAddresses],
    dnsNames: [...sans.dnsNames],
    validityMs,
  });
  if (!keys) throw new Error("Cannot issue server certificate: no key pair was generated");
  return { cert, keys };
}

/** The IP and DNS SANs of a certificate, normalized (IPv6 in canonical form, DNS lowercased). */
export function sansOf(cert: x509.X509Certificate): ServerSans {
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => normalizeIp(n.value)),
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value.toLowerCase()),
  };
}

/** The SANs asked for that `cert` lacks; empty when it covers them all. */
export function missingSans(cert: x509.X509Certificate, wanted: ServerSans): string[] {
  const have = sansOf(cert);
  return [
    ...wanted.ipAddresses.map(normalizeIp).filter((ip) => !have.ipAddresses.includes(ip)),
    ...wanted.dnsNames.map((d) => d.toLowerCase()).filter((d) => !have.dnsNames.includes(d)),
  ];
}

/** Union of two SAN sets, without duplicates. */
export function mergeSans(a: ServerSans, b: ServerSans): ServerSans {
  return {
    ipAddresses: [...new Set([...a.ipAddresses, ...b.ipAddresses].map(normalizeIp))],
    dnsNames: [...new Set([...a.dnsNames, ...b.dnsNames].map((d) => d.toLowerCase()))],
  };
}

export function normalizeIp(ip: string): string {
  if (!ip.includes(":")) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}
