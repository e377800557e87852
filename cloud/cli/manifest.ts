// `cloudcore manifest`: the YAML to run cloudcore inside the cluster with `kubectl apply -f -`. The config
// uses in-cluster credentials (kubeConfig ""); the Deployment runs under the ServiceAccount that the
// ClusterRole of rbac.ts is bound to, the same rights `cloudcore init` grants.
import { parse } from "yaml";
import { toYaml } from "../../lib/config/mod.ts";
import { VERSION } from "../../lib/version.ts";
import { KUBEEDGE_NAMESPACE } from "../certs/mod.ts";
import { type CloudCoreConfig, DEFAULT_CLOUDCORE_CONFIG_PATH, defaultCloudCoreConfig } from "../config.ts";
import { DEVICE_CRDS_YAML, RULE_CRDS_YAML } from "../crds/mod.ts";
import {
  CLOUDCORE_LABELS,
  CLOUDCORE_NAME,
  clusterRoleBindingObject,
  clusterRoleObject,
  namespaceObject,
  serviceAccountObject,
} from "./rbac.ts";

/** No image is published yet: build one around `dist/cloudcore` and pass it with --image. */
export const DEFAULT_IMAGE = `kedge/cloudcore:${VERSION}`;
const CONFIG_DIR = DEFAULT_CLOUDCORE_CONFIG_PATH.slice(0, DEFAULT_CLOUDCORE_CONFIG_PATH.lastIndexOf("/"));

export interface ManifestOptions {
  readonly image?: string;
  /** IPs edges dial (the Service's external address); they go into the server certificate. */
  readonly advertiseAddresses?: readonly string[];
  readonly dnsNames?: readonly string[];
}

/** The cloudcore.yaml of the in-cluster deployment. */
export function inClusterConfig(options: ManifestOptions): CloudCoreConfig {
  const config = defaultCloudCoreConfig();
  config.kubeAPIConfig.kubeConfig = "";
  config.modules.cloudHub.advertiseAddress = [...options.advertiseAddresses ?? []];
  config.modules.cloudHub.dnsNames = [...options.dnsNames ?? []];
  // Prometheus scrapes the pod, so the metrics listener must not be loopback-only.
  config.metrics.address = "0.0.0.0";
  return config;
}

/** Every object, in apply order. */
export function manifestObjects(options: ManifestOptions = {}): Record<string, unknown>[] {
  const config = inClusterConfig(options);
  const hub = config.modules.cloudHub;
  const stream = config.modules.cloudStream;
  const ports = [
    { name: "cloudhub", port: hub.websocket.port },
    { name: "https", port: hub.https.port },
    { name: "stream", port: stream.streamPort },
    { name: "tunnel", port: stream.tunnelPort },
  ];
  const metadata = (name: string) => ({ name, namespace: KUBEEDGE_NAMESPACE, labels: CLOUDCORE_LABELS });
  const probe = (path: string) => ({ httpGet: { path, port: "https", scheme: "HTTPS" }, periodSeconds: 10 });
  return [
    namespaceObject(),
    ...DEVICE_CRDS_YAML.map((text) => parse(text) as Record<string, unknown>),
    ...RULE_CRDS_YAML.map((text) => parse(text) as Record<string, unknown>),
    serviceAccountObject(),
    clusterRoleObject(),
    clusterRoleBindingObject(),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: metadata(CLOUDCORE_NAME),
      data: { "cloudcore.yaml": toYaml(config, `cloudcore ${VERSION} in-cluster config`) },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: metadata(CLOUDCORE_NAME),
      spec: {
        replicas: 1,
        selector: { matchLabels: CLOUDCORE_LABELS },
        template: {
          metadata: { labels: CLOUDCORE_LABELS },
          spec: {
            serviceAccountName: CLOUDCORE_NAME,
            containers: [{
              name: CLOUDCORE_NAME,
              image: options.image ?? DEFAULT_IMAGE,
              args: ["run", "--config", DEFAULT_CLOUDCORE_CONFIG_PATH],
              ports: [
                ...ports.map(({ name, port }) => ({ name, containerPort: port, protocol: "TCP" })),
                { name: "metrics", containerPort: config.metrics.port, protocol: "TCP" },
              ],
              readinessProbe: probe("/readyz"),
              livenessProbe: { ...probe("/livez"), failureThreshold: 6 },
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: 65532,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "config", mountPath: CONFIG_DIR, readOnly: true }],
            }],
            volumes: [{ name: "config", configMap: { name: CLOUDCORE_NAME } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: metadata(CLOUDCORE_NAME),
      spec: {
        // Edges outside the cluster dial it; its address is the advertise address.
        type: "LoadBalancer",
        selector: CLOUDCORE_LABELS,
        ports: ports.map(({ name, port }) => ({ name, port, targetPort: name, protocol: "TCP" })),
      },
    },
  ];
}

/** The objects as one YAML stream. */
export function manifestYaml(options: ManifestOptions = {}): string {
  const header = `# kedge cloudcore ${VERSION}: kubectl apply -f -\n`;
  return header + manifestObjects(options).map((object) => toYaml(object)).join("---\n");
}
