/**
 * The part of a v1 Pod that the pod manager reads, as a valibot schema: sources validate every Pod at the
 * boundary with `parsePod`, and the types below are what the rest of edge/pods works with. Unknown fields
 * are dropped; fields of the Kubernetes API keep their names and JSON shapes.
 */
import * as v from "valibot";

const str = v.string();
const optStr = v.optional(str);
const optInt = v.optional(v.pipe(v.number(), v.integer()));
const optBool = v.optional(v.boolean());
const strList = v.optional(v.array(str));
const strMap = v.optional(v.record(str, str));
const intOrString = v.union([v.pipe(v.number(), v.integer()), str]);
/** A resource quantity: "100m", "64Mi", 2. */
const quantity = v.union([str, v.number()]);

const KeyRef = v.object({ name: optStr, key: str, optional: optBool });
const FieldRef = v.object({ fieldPath: str, apiVersion: optStr });
const ResourceFieldRef = v.object({ resource: str, containerName: optStr, divisor: v.optional(quantity) });

const EnvVar = v.object({
  name: str,
  value: optStr,
  valueFrom: v.optional(v.object({
    configMapKeyRef: v.optional(KeyRef),
    secretKeyRef: v.optional(KeyRef),
    fieldRef: v.optional(FieldRef),
    resourceFieldRef: v.optional(ResourceFieldRef),
  })),
});

/** envFrom: every key of a ConfigMap or Secret, with an optional prefix. */
const EnvFromSource = v.object({
  prefix: optStr,
  configMapRef: v.optional(v.object({ name: optStr, optional: optBool })),
  secretRef: v.optional(v.object({ name: optStr, optional: optBool })),
});

const ExecAction = v.object({ command: v.array(str) });
const HttpGet = v.object({
  path: optStr,
  port: intOrString,
  host: optStr,
  scheme: v.optional(v.picklist(["HTTP", "HTTPS"])),
  httpHeaders: v.optional(v.array(v.object({ name: str, value: str }))),
});
const TcpSocket = v.object({ port: intOrString, host: optStr });
const Handler = {
  exec: v.optional(ExecAction),
  httpGet: v.optional(HttpGet),
  tcpSocket: v.optional(TcpSocket),
};

const Probe = v.object({
  ...Handler,
  /** The gRPC health check (grpc_probe.ts); probes only, not lifecycle hooks. */
  grpc: v.optional(v.object({ port: v.number(), service: v.optional(v.nullable(v.string())) })),
  initialDelaySeconds: optInt,
  periodSeconds: optInt,
  timeoutSeconds: optInt,
  successThreshold: optInt,
  failureThreshold: optInt,
  terminationGracePeriodSeconds: optInt,
});

const SecurityContext = v.object({
  runAsUser: optInt,
  runAsGroup: optInt,
  runAsNonRoot: optBool,
  privileged: optBool,
  readOnlyRootFilesystem: optBool,
  allowPrivilegeEscalation: optBool,
  capabilities: v.optional(v.object({ add: strList, drop: strList })),
});

const Container = v.object({
  name: str,
  image: str,
  imagePullPolicy: v.optional(v.picklist(["Always", "IfNotPresent", "Never"])),
  command: strList,
  args: strList,
  workingDir: optStr,
  env: v.optional(v.array(EnvVar)),
  envFrom: v.optional(v.array(EnvFromSource)),
  ports: v.optional(v.array(v.object({
    name: optStr,
    containerPort: v.pipe(v.number(), v.integer()),
    hostPort: optInt,
    hostIP: optStr,
    protocol: v.optional(v.picklist(["TCP", "UDP", "SCTP"])),
  }))),
  resources: v.optional(
    v.object({ limits: v.optional(v.record(str, quantity)), requests: v.optional(v.record(str, quantity)) }),
  ),
  volumeMounts: v.optional(v.array(v.object({
    name: str,
    mountPath: str,
    subPath: optStr,
    subPathExpr: optStr,
    readOnly: optBool,
  }))),
  livenessProbe: v.optional(Probe),
  readinessProbe: v.optional(Probe),
  startupProbe: v.optional(Probe),
  lifecycle: v.optional(
    v.object({ preStop: v.optional(v.object(Handler)), postStart: v.optional(v.object(Handler)) }),
  ),
  securityContext: v.optional(SecurityContext),
  terminationMessagePath: optStr,
  terminationMessagePolicy: v.optional(v.picklist(["File", "FallbackToLogsOnError"])),
  stdin: optBool,
  tty: optBool,
  /** On an init container, "Always" makes it a sidecar (init_plan.ts). */
  restartPolicy: v.optional(v.picklist(["Always", "OnFailure", "Never"])),
});

const KeyToPath = v.array(v.object({ key: str, path: str, mode: optInt }));
const DownwardItems = v.array(v.object({
  path: str,
  fieldRef: v.optional(FieldRef),
  resourceFieldRef: v.optional(ResourceFieldRef),
  mode: optInt,
}));
const ConfigMapProjection = v.object({ name: optStr, items: v.optional(KeyToPath), optional: optBool });

const Volume = v.object({
  name: str,
  emptyDir: v.optional(v.object({ medium: optStr, sizeLimit: v.optional(quantity) })),
  hostPath: v.optional(v.object({ path: str, type: optStr })),
  configMap: v.optional(v.object({
    name: optStr,
    items: v.optional(KeyToPath),
    defaultMode: optInt,
    optional: optBool,
  })),
  secret: v.optional(v.object({
    secretName: optStr,
    items: v.optional(KeyToPath),
    defaultMode: optInt,
    optional: optBool,
  })),
  downwardAPI: v.optional(v.object({ items: v.optional(DownwardItems), defaultMode: optInt })),
  projected: v.optional(v.object({
    defaultMode: optInt,
    sources: v.optional(v.array(v.object({
      configMap: v.optional(ConfigMapProjection),
      secret: v.optional(ConfigMapProjection),
      downwardAPI: v.optional(v.object({ items: v.optional(DownwardItems) })),
      serviceAccountToken: v.optional(v.object({
        audience: optStr,
        expirationSeconds: optInt,
        path: v.pipe(str, v.nonEmpty()),
      })),
    }))),
  })),
});

export const PodSchema = v.object({
  apiVersion: optStr,
  kind: optStr,
  metadata: v.object({
    name: v.pipe(str, v.nonEmpty()),
    namespace: optStr,
    uid: optStr,
    resourceVersion: optStr,
    labels: strMap,
    annotations: strMap,
    deletionTimestamp: v.optional(v.nullable(str)),
    deletionGracePeriodSeconds: v.optional(v.nullable(v.number())),
  }),
  spec: v.object({
    containers: v.pipe(v.array(Container), v.minLength(1)),
    initContainers: v.optional(v.array(Container)),
    ephemeralContainers: v.optional(v.array(Container)),
    volumes: v.optional(v.array(Volume)),
    restartPolicy: v.optional(v.picklist(["Always", "OnFailure", "Never"])),
    readinessGates: v.optional(v.array(v.object({ conditionType: str }))),
    activeDeadlineSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    terminationGracePeriodSeconds: v.optional(v.nullable(v.number())),
    hostNetwork: optBool,
    enableServiceLinks: optBool,
    hostPID: optBool,
    hostIPC: optBool,
    shareProcessNamespace: optBool,
    hostname: optStr,
    subdomain: optStr,
    /** Extra /etc/hosts lines (etc_hosts.ts). */
    hostAliases: v.optional(v.array(v.object({ ip: str, hostnames: v.optional(v.array(str)) }))),
    nodeName: optStr,
    serviceAccountName: optStr,
    /** Secrets with registry credentials for the images (pull_secrets.ts). */
    imagePullSecrets: v.optional(v.array(v.object({ name: optStr }))),
    securityContext: v.optional(v.object({
      runAsUser: optInt,
      runAsGroup: optInt,
      runAsNonRoot: optBool,
      supplementalGroups: v.optional(v.array(v.number())),
      /** Group of the volumes that support ownership management (volume_ownership.ts), and a supplemental group. */
      fsGroup: optInt,
      /** Parsed, not acted on: the kubelet passes it on only for persistent volumes, which edgecore does not mount. */
      fsGroupChangePolicy: optStr,
      sysctls: v.optional(v.array(v.object({ name: str, value: str }))),
    })),
    dnsConfig: v.optional(v.object({ nameservers: strList, searches: strList })),
    /** Checked at admission (admission.ts): a pod for another OS is refused. */
    os: v.optional(v.object({ name: str })),
  }),
  /** The status the apiserver holds, read leniently where used (recordedStatus): never a reason to refuse a pod. */
  status: v.optional(v.unknown()),
});

export type Pod = v.InferOutput<typeof PodSchema>;
export type PodSpec = Pod["spec"];
export type ContainerSpec = PodSpec["containers"][number];
export type VolumeSpec = NonNullable<PodSpec["volumes"]>[number];
export type ProbeSpec = NonNullable<ContainerSpec["livenessProbe"]>;
export type HandlerSpec = NonNullable<NonNullable<ContainerSpec["lifecycle"]>["preStop"]>;
export type EnvVarSpec = NonNullable<ContainerSpec["env"]>[number];

/** A Pod checked against PodSchema; throws TypeError listing the problems. */
export function parsePod(input: unknown): Pod {
  const result = v.safeParse(PodSchema, input);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => {
    const path = v.getDotPath(issue);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new TypeError(`Cannot read pod: ${problems.join("; ")}`);
}
