/**
 * Client certificates for simulated edges, issued by the KubeEdge CA that cloudcore keeps in Secret
 * kubeedge/casecret (CN=system:node:<name>, O=system:nodes, clientAuth), written where
 * bench/nodes_pods_edges.ts reads them: DIR/ca.pem and DIR/edges.json.
 */
import { join } from "node:path";
import { certificateToPem, issueCertificate, privateKeyToPem, x509 } from "../lib/pki/mod.ts";
import { keyPairFromSec1 } from "../cloud/certs/key_der.ts";
import type { EdgeCredentials } from "./edge_sim_messages.ts";

/** `casecretData` is the Secret's `data` (base64 `cadata`, `cakeydata`). */
export async function writeSimEdgeCredentials(
  casecretData: Record<string, string>,
  names: readonly string[],
  dir: string,
): Promise<void> {
  const der = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (!casecretData.cadata || !casecretData.cakeydata) {
    throw new TypeError("Cannot issue edge certificates: kubeedge/casecret has no cadata or cakeydata");
  }
  const ca = {
    cert: new x509.X509Certificate(der(casecretData.cadata)),
    keys: await keyPairFromSec1(der(casecretData.cakeydata)),
  };
  const creds: EdgeCredentials[] = await Promise.all(names.map(async (name) => {
    const leaf = await issueCertificate({
      ca,
      commonName: `system:node:${name}`,
      organizations: ["system:nodes"],
      usages: ["client"],
    });
    return {
      name,
      certPem: certificateToPem(leaf.cert),
      keyPem: await privateKeyToPem(leaf.keys!.privateKey),
    };
  }));
  await Deno.writeTextFile(join(dir, "ca.pem"), certificateToPem(ca.cert));
  await Deno.writeTextFile(join(dir, "edges.json"), JSON.stringify(creds), { mode: 0o600 });
}
