// What `cloudcore init` does so that `kubectl logs` and `exec` work with no other step (docs/streaming.md):
// a serving certificate for the stream ports that kube-apiserver will accept, the CA of the apiserver's kubelet
// client certificate, both as files beside the config, and cloudStream switched on. The serving certificate is
// the cluster's own kubelet-serving kind when the cluster signs one (a CertificateSigningRequest init approves),
// so an apiserver started with --kubelet-certificate-authority trusts it; else one from the KubeEdge CA.
import { dirname, join } from "node:path";
import { CertificatesV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { writeFileAtomic } from "../../lib/atomic_write.ts";
import type { Logger } from "../../lib/log.ts";
import {
  certificateToPem,
  createCsr,
  generateKeyPair,
  issueCertificate,
  privateKeyToPem,
  toPem,
  x509,
} from "../../lib/pki/mod.ts";
import type { CloudPki } from "../certs/mod.ts";
import type { CloudCoreConfig } from "../config.ts";
import { isNotFound } from "../kube/mod.ts";

/** The subject the kubelet-serving signer requires (O=system:nodes, CN=system:node:...). */
const STREAM_CN = "system:node:kedge-cloudcore-stream";
/** A certificate kept from an earlier init is replaced once it has less than this left. */
const RENEW_BEFORE_MS = 30 * 24 * 3_600_000;
const SIGNING_WAIT_MS = 20_000;

export interface StreamSetupOptions {
  readonly kc: KubeConfig;
  readonly config: CloudCoreConfig;
  /** Where init writes the config; the certificate files go to `stream/` beside it. */
  readonly configPath: string | undefined;
  readonly pki: CloudPki;
  readonly log: Logger;
}

export interface StreamSetup {
  /** The config with cloudStream on and its files set, or unchanged when it cannot be set up. */
  readonly config: CloudCoreConfig;
  /** One line for the person at the terminal: what was set up, or why not. */
  readonly line: string;
}

export async function setUpStreaming(o: StreamSetupOptions): Promise<StreamSetup> {
  const stream = o.config.modules.cloudStream;
  if (stream.tlsStreamCertFile) {
    return { config: o.config, line: `kubectl logs/exec: cloudStream uses ${stream.tlsStreamCertFile}` };
  }
  if (o.configPath === undefined) {
    return {
      config: o.config,
      line: "kubectl logs/exec: not set up: give --config, the certificate goes beside it",
    };
  }
  const addresses = [stream.streamAdvertiseAddress || o.config.modules.cloudHub.advertiseAddress[0]].filter((
    a,
  ): a is string => !!a);
  if (addresses.length === 0) {
    return {
      config: o.config,
      line: "kubectl logs/exec: not set up: no --advertise-address for the stream ports",
    };
  }
  const clientCa = await kubeletClientCa(o.kc);
  if (!clientCa) {
    return {
      config: o.config,
      line:
        "kubectl logs/exec: not set up: no cluster CA (configmap kube-system/kube-root-ca.crt, or the kubeconfig's)",
    };
  }
  const dir = join(dirname(o.configPath), "stream");
  const files = {
    tlsStreamCertFile: join(dir, "stream.crt"),
    tlsStreamPrivateKeyFile: join(dir, "stream.key"),
    tlsStreamCAFile: join(dir, "kubelet-client-ca.crt"),
  };
  let source = "kept";
  const keyKept = await Deno.stat(files.tlsStreamPrivateKeyFile).then(() => true, () => false);
  if (!keyKept || !await usable(files.tlsStreamCertFile, addresses)) {
    const issued = await clusterSigned(o.kc, addresses, o.log) ?? await kubeedgeSigned(o.pki, addresses);
    await writeFileAtomic(files.tlsStreamPrivateKeyFile, issued.keyPem, { mode: 0o600 });
    await writeFileAtomic(files.tlsStreamCertFile, issued.certPem, { mode: 0o644 });
    source = issued.source;
  }
  if (await Deno.readTextFile(files.tlsStreamCAFile).catch(() => "") !== clientCa.pem) {
    await writeFileAtomic(files.tlsStreamCAFile, clientCa.pem, { mode: 0o644 });
  }
  return {
    config: {
      ...o.config,
      modules: { ...o.config.modules, cloudStream: { ...stream, enable: true, ...files } },
    },
    line: `kubectl logs/exec: stream certificate ${files.tlsStreamCertFile} (${source}) for ${
      addresses.join(", ")
    }; kubelet-client CA from ${clientCa.from}`,
  };
}

/** The CA kube-apiserver's kubelet client certificate comes from: the cluster CA. */
async function kubeletClientCa(kc: KubeConfig): Promise<{ pem: string; from: string } | undefined> {
  try {
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({
      name: "kube-root-ca.crt",
      namespace: "kube-system",
    });
    const pem = cm.data?.["ca.crt"];
    if (pem) return { pem, from: "configmap kube-system/kube-root-ca.crt" };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const data = kc.getCurrentCluster()?.caData;
  return data ? { pem: atob(data), from: "the kubeconfig's cluster CA" } : undefined;
}

/** Whether `path` holds a certificate for `addresses` with more than RENEW_BEFORE_MS left. */
async function usable(path: string, addresses: readonly string[]): Promise<boolean> {
  const pem = await Deno.readTextFile(path).catch(() => undefined);
  if (!pem) return false;
  try {
    const cert = new x509.X509Certificate(pem);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const ips = new Set(san?.names.items.filter((n) => n.type === "ip").map((n) => n.value) ?? []);
    return addresses.every((a) => ips.has(a)) && cert.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
  readonly source: string;
}

/** A kubelet-serving certificate from the cluster's signer, or undefined when the cluster signs none. */
async function clusterSigned(kc: KubeConfig, addresses: string[], log: Logger): Promise<Issued | undefined> {
  const api = kc.makeApiClient(CertificatesV1Api);
  const keys = await generateKeyPair();
  const csr = await createCsr({
    keys,
    subject: { commonName: STREAM_CN, organizations: ["system:nodes"] },
    ipAddresses: addresses,
  });
  const name = `kedge-cloudcore-stream-${Date.now().toString(36)}`;
  try {
    await api.createCertificateSigningRequest({
      body: {
        metadata: { name },
        spec: {
          // A PEM "CERTIFICATE REQUEST" block, base64 as the API's []byte fields are.
          request: btoa(toPem("CERTIFICATE REQUEST", csr)),
          signerName: "kubernetes.io/kubelet-serving",
          usages: ["digital signature", "server auth"],
        },
      },
    });
    const created = await api.readCertificateSigningRequest({ name });
    created.status = {
      conditions: [{
        type: "Approved",
        status: "True",
        reason: "KedgeCloudcoreInit",
        message: "cloudcore init: the stream ports kube-apiserver calls for kubectl logs/exec",
      }],
    };
    await api.replaceCertificateSigningRequestApproval({ name, body: created });
    const deadline = Date.now() + SIGNING_WAIT_MS;
    while (Date.now() < deadline) {
      const signed = (await api.readCertificateSigningRequest({ name })).status?.certificate;
      if (signed) {
        return {
          certPem: atob(signed),
          keyPem: await privateKeyToPem(keys.privateKey),
          source: `signed by the cluster, csr ${name}`,
        };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    log.warn("stream certificate not signed by the cluster", { csr: name, waitedMs: SIGNING_WAIT_MS });
  } catch (error) {
    log.warn("stream certificate not signed by the cluster", { csr: name, error });
  } finally {
    await api.deleteCertificateSigningRequest({ name }).catch(() => {});
  }
  return undefined;
}

/** The fallback: a serving certificate from the KubeEdge CA (an apiserver that verifies kubelets must trust it). */
async function kubeedgeSigned(pki: CloudPki, addresses: string[]): Promise<Issued> {
  const issued = await issueCertificate({
    ca: pki.ca,
    commonName: STREAM_CN,
    organizations: ["system:nodes"],
    usages: ["server"],
    ipAddresses: addresses,
  });
  return {
    certPem: certificateToPem(issued.cert),
    keyPem: await privateKeyToPem(issued.keys!.privateKey),
    source: "signed by the KubeEdge CA: the cluster signed none",
  };
}
