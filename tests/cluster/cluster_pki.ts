// The certificates and keys one test control plane needs, written as PEM files into its folder.
import { join } from "node:path";
import {
  certificateToPem,
  createCa,
  generateKeyPair,
  issueCertificate,
  type Issued,
  privateKeyToPem,
  publicKeyToPem,
} from "../../lib/pki/mod.ts";

export interface ClusterPki {
  ca: Issued;
  caCertFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  kubeletClientCertFile: string;
  kubeletClientKeyFile: string;
  adminCertPem: string;
  adminKeyPem: string;
}

/** The apiserver's --service-cluster-ip-range, and the first address in it: the `kubernetes` Service's. */
export const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.96.0.1";

async function writePrivate(path: string, text: string): Promise<string> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  return path;
}

export async function writeClusterPki(dir: string): Promise<ClusterPki> {
  const ca = await createCa({ commonName: "kedge-test-kubernetes-ca" });
  const server = await issueCertificate({
    ca,
    commonName: "kube-apiserver",
    usages: ["server"],
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    // The `kubernetes` Service's address too, as in a real cluster: in-cluster clients (rest.InClusterConfig)
    // dial it and check it against the certificate.
    ipAddresses: ["127.0.0.1", KUBERNETES_SERVICE_IP],
  });
  const admin = await issueCertificate({
    ca,
    commonName: "kedge-admin",
    organizations: ["system:masters"],
    usages: ["client"],
  });
  const kubeletClient = await issueCertificate({
    ca,
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["system:masters"],
    usages: ["client"],
  });
  const serviceAccount = await generateKeyPair();
  const file = (name: string) => join(dir, name);
  await Deno.writeTextFile(file("ca.crt"), certificateToPem(ca.cert));
  await Deno.writeTextFile(file("apiserver.crt"), certificateToPem(server.cert));
  await Deno.writeTextFile(file("kubelet-client.crt"), certificateToPem(kubeletClient.cert));
  await Deno.writeTextFile(file("sa.pub"), await publicKeyToPem(serviceAccount.publicKey));
  return {
    ca,
    caCertFile: file("ca.crt"),
    caKeyFile: await writePrivate(file("ca.key"), await privateKeyToPem(ca.keys.privateKey)),
    serverCertFile: file("apiserver.crt"),
    serverKeyFile: await writePrivate(file("apiserver.key"), await privateKeyToPem(server.keys!.privateKey)),
    serviceAccountKeyFile: await writePrivate(
      file("sa.key"),
      await privateKeyToPem(serviceAccount.privateKey),
    ),
    serviceAccountPublicKeyFile: file("sa.pub"),
    kubeletClientCertFile: file("kubelet-client.crt"),
    kubeletClientKeyFile: await writePrivate(
      file("kubelet-client.key"),
      await privateKeyToPem(kubeletClient.keys!.privateKey),
    ),
    adminCertPem: certificateToPem(admin.cert),
    adminKeyPem: await privateKeyToPem(admin.keys!.privateKey),
  };
}

const b64 = (text: string) => btoa(text);

/** A kubeconfig with everything embedded, so it stays valid wherever it is copied. */
export function kubeconfigYaml(server: string, pki: ClusterPki, caPem: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: kedge-test
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caPem)}
users:
- name: kedge-admin
  user:
    client-certificate-data: ${b64(pki.adminCertPem)}
    client-key-data: ${b64(pki.adminKeyPem)}
contexts:
- name: kedge-test
  context:
    cluster: kedge-test
    user: kedge-admin
current-context: kedge-test
`;
}
