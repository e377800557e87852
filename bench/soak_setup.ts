/**
 * What the soak sets up before the clock starts: the apiserver audit policy that logs only cloudcore's
 * requests, cloudcore's own client certificate (so the audit log tells it apart), and the objects the churn
 * uses (namespace, ConfigMaps, Secrets, a DeviceModel and one Device per node), and the pod manifest.
 */
import { join } from "node:path";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import type { ControlPlane } from "../tests/cluster/mod.ts";
import { kubeconfigYaml } from "../tests/cluster/cluster_pki.ts";
import type { Kube } from "./soak_kube.ts";

export const NAMESPACE = "soak";
export const CLOUDCORE_USER = "kedge-cloudcore";
export const CONFIGMAPS = 10;
export const SECRETS = 5;
export const TWIN_PROPERTY = "temperature";

/** Apiserver flags: one audit line per finished request of cloudcore's user, nothing for anyone else. */
export async function auditFlags(dir: string): Promise<{ flags: string[]; logPath: string }> {
  const policy = join(dir, "audit-policy.yaml");
  const logPath = join(dir, "audit.log");
  await Deno.writeTextFile(
    policy,
    [
      "apiVersion: audit.k8s.io/v1",
      "kind: Policy",
      'omitStages: ["RequestReceived", "ResponseStarted"]',
      "rules:",
      `- level: Metadata\n  users: ["${CLOUDCORE_USER}"]`,
      "- level: None",
      "",
    ].join("\n"),
  );
  return {
    flags: [`--audit-policy-file=${policy}`, `--audit-log-path=${logPath}`, "--audit-log-maxsize=0"],
    logPath,
  };
}

/** A kubeconfig for cloudcore with its own client certificate (CN=kedge-cloudcore, O=system:masters). */
export async function cloudcoreKubeconfig(cp: ControlPlane, dir: string): Promise<string> {
  const cert = await issueCertificate({
    ca: cp.pki.ca,
    commonName: CLOUDCORE_USER,
    organizations: ["system:masters"],
    usages: ["client"],
  });
  const path = join(dir, "cloudcore-kubeconfig");
  await Deno.writeTextFile(
    path,
    kubeconfigYaml(cp.server, {
      ...cp.pki,
      adminCertPem: certificateToPem(cert.cert),
      adminKeyPem: await privateKeyToPem(cert.keys!.privateKey),
    }, cp.caPem),
    { mode: 0o600 },
  );
  return path;
}

const ns = `/api/v1/namespaces/${NAMESPACE}`;
const devices = `/apis/devices.kubeedge.io/v1beta1/namespaces/${NAMESPACE}`;

/** Namespace, ConfigMaps, Secrets, the DeviceModel and a Device bound to each node. */
export async function createFixtures(kube: Kube, nodes: readonly string[]): Promise<void> {
  await kube.json("POST", "/api/v1/namespaces", { metadata: { name: NAMESPACE } });
  // The ServiceAccount admission plugin refuses pods until the controller made the default account.
  await kube.until(
    "the default ServiceAccount",
    async () => (await kube.raw("GET", `${ns}/serviceaccounts/default`)).ok,
    60_000,
  );
  for (let i = 0; i < CONFIGMAPS; i++) {
    await kube.json("POST", `${ns}/configmaps`, { metadata: { name: `soak-cm-${i}` }, data: { value: "0" } });
  }
  for (let i = 0; i < SECRETS; i++) {
    await kube.json("POST", `${ns}/secrets`, {
      metadata: { name: `soak-secret-${i}` },
      stringData: { token: `t${i}` },
    });
  }
  // cloudcore installs the device CRDs at start; they may take a moment to be served.
  await kube.until("the DeviceModel CRD", async () => {
    const res = await kube.raw("POST", `${devices}/devicemodels`, {
      apiVersion: "devices.kubeedge.io/v1beta1",
      kind: "DeviceModel",
      metadata: { name: "soak-thermometer" },
      spec: {
        protocol: "modbus",
        properties: [{ name: TWIN_PROPERTY, type: "INT", accessMode: "ReadOnly" }],
      },
    });
    await res.body?.cancel();
    return res.ok || res.status === 409;
  }, 60_000);
  for (const node of nodes) {
    await kube.json("POST", `${devices}/devices`, {
      apiVersion: "devices.kubeedge.io/v1beta1",
      kind: "Device",
      metadata: { name: deviceName(node) },
      spec: {
        deviceModelRef: { name: "soak-thermometer" },
        nodeName: node,
        protocol: { protocolName: "modbus" },
        properties: [{ name: TWIN_PROPERTY, reportToCloud: true }],
      },
    });
  }
}

export const deviceName = (node: string) => `dev-${node}`;

/**
 * Pod `seq` on `node`: busybox on the host network (no CNI), one ConfigMap volume and one Secret env var
 * (so both go to the node with it), a 1 s grace period. Simulated edges never run it.
 */
export function podManifest(seq: number, node: string, image: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `soak-${seq}`, namespace: NAMESPACE, labels: { app: "soak" } },
    spec: {
      nodeName: node,
      hostNetwork: true,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "c",
        image,
        command: ["sh", "-c", "exec sleep 86400"],
        env: [{
          name: "TOKEN",
          valueFrom: { secretKeyRef: { name: `soak-secret-${seq % SECRETS}`, key: "token" } },
        }],
        volumeMounts: [{ name: "cfg", mountPath: "/cfg" }],
        resources: { requests: { cpu: "1m", memory: "4Mi" } },
      }],
      volumes: [{ name: "cfg", configMap: { name: `soak-cm-${seq % CONFIGMAPS}` } }],
    },
  };
}
