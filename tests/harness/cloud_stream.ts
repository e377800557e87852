// cloudcore's cloudStream section for tests that run kubectl logs/exec/port-forward against an edge: a serving
// certificate from the cluster CA for the machine's address (the apiserver's node proxy refuses loopback
// ones), the apiserver's kubelet-client CA, a tunnel port and a range of per-node ports (docs/streaming.md).
import { join } from "node:path";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../../lib/pki/mod.ts";
import { type ControlPlane, freePort, type RunDir } from "../cluster/mod.ts";

export interface CloudStreamOptions {
  /** How many per-node stream ports to reserve. */
  readonly nodePorts?: number;
  /** A port for a second replica to reach this one's tunnels. */
  readonly peerPort?: boolean;
}

export async function cloudStreamSection(
  cp: ControlPlane,
  run: RunDir,
  hostIP: string,
  options: CloudStreamOptions = {},
): Promise<Record<string, unknown>> {
  const stream = await issueCertificate({
    ca: cp.pki.ca,
    commonName: "kedge-stream",
    usages: ["server"],
    ipAddresses: [hostIP],
  });
  const files = {
    cert: join(run.path, "stream.crt"),
    key: join(run.path, "stream.key"),
    ca: join(run.path, "kubelet-client-ca.crt"),
  };
  await Deno.writeTextFile(files.cert, certificateToPem(stream.cert));
  await Deno.writeTextFile(files.key, await privateKeyToPem(stream.keys!.privateKey), { mode: 0o600 });
  await Deno.writeTextFile(files.ca, cp.caPem);
  const portBase = 20000 + Math.floor(Math.random() * 20000);
  return {
    enable: true,
    tunnelPort: freePort(),
    streamAdvertiseAddress: hostIP,
    nodePortRange: { min: portBase, max: portBase + (options.nodePorts ?? 50) },
    tlsStreamCertFile: files.cert,
    tlsStreamPrivateKeyFile: files.key,
    tlsStreamCAFile: files.ca,
    ...(options.peerPort ? { peerPort: freePort() } : {}),
  };
}
