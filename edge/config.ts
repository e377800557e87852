/**
 * edgecore's config: one valibot schema with every default, named as in KubeEdge's edgecore.yaml so a
 * KubeEdge user recognises it. Unknown keys are problems (a typo must not silently fall back to a default).
 */

import * as v from "valibot";
import {
  bool,
  DNS_SUBDOMAIN,
  emptyOr,
  intIn,
  isHostPort,
  loadConfig,
  type LoadedConfig,
  logSection,
  matching,
  mustBe,
  nonEmptyStr,
  oneOf,
  parseConfigText,
  positiveInt,
  section,
  str,
  stringMap,
} from "../lib/config/mod.ts";

/** Where KubeEdge keeps edgecore.yaml; read when `--config` is not given and the file exists. */
export const DEFAULT_EDGECORE_CONFIG_PATH = "/etc/kubeedge/config/edgecore.yaml";
export const EDGECORE_API_VERSIONS = [
  "edgecore.config.kubeedge.io/v1alpha2",
  "edgecore.config.kubeedge.io/v1alpha1",
] as const;
/** KubeEdge's default project ID, part of the WebSocket path. */
export const DEFAULT_PROJECT_ID = "e632aba927ea4ac2b575ec1603d56f10";
/** EventBus modes: 0 the built-in broker, 1 both, 2 an external broker (mosquitto). */
export const MQTT_MODES = [0, 1, 2] as const;
export const MQTT_QOS_LEVELS = [0, 1, 2] as const;
export const CGROUP_DRIVERS = ["systemd", "cgroupfs"] as const;

const MiB = 1024 * 1024;
const MQTT_URL = /^(tcp|ssl|mqtt|mqtts|ws|wss):\/\/\S+$/;
const HTTPS_URL = /^https:\/\/[^\s/]+\/?$/;
const NODE_NAME = "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')";

export const EdgeCoreConfigSchema = v.strictObject({
  apiVersion: oneOf(EDGECORE_API_VERSIONS, EDGECORE_API_VERSIONS[0]),
  kind: oneOf(["EdgeCore"], "EdgeCore"),
  database: section({
    dataSource: nonEmptyStr("/var/lib/kubeedge/edgecore.db"),
  }),
  modules: section({
    edged: section({
      /** The node's name; "" means the machine's hostname, lowercased. */
      hostnameOverride: emptyOr(DNS_SUBDOMAIN, NODE_NAME),
      nodeLabels: stringMap(),
      podSandboxImage: nonEmptyStr("registry.k8s.io/pause:3.10"),
      containerRuntimeEndpoint: nonEmptyStr("unix:///run/containerd/containerd.sock"),
      cgroupDriver: oneOf(CGROUP_DRIVERS, "systemd"),
      /** Seconds between looks at the node's status; a changed status is reported at once. */
      nodeStatusUpdateFrequency: positiveInt(10, 3600),
      /** Seconds after which an unchanged status is reported anyway (the kubelet's default: 5 min). */
      nodeStatusReportFrequency: positiveInt(300, 86400),
      /** Lease duration in kube-node-lease; the node goes NotReady when it lapses. */
      nodeLeaseDurationSeconds: positiveInt(40, 3600),
      // Pods (edge/pods). Names as in KubeEdge's edged / the kubelet where they exist.
      /** Pod folders (volumes) go under `<rootDirectory>/pods/<uid>`. */
      rootDirectory: nonEmptyStr("/var/lib/edged"),
      /** Container logs: `<podLogsDirectory>/<namespace>_<name>_<uid>/<container>/<attempt>.log`. */
      podLogsDirectory: nonEmptyStr("/var/log/pods"),
      /** Static pod manifests (one Pod per .yaml/.yml/.json file); "" turns static pods off. */
      staticPodPath: str("/etc/kubeedge/manifests"),
      /** Deadline of each CRI call, in seconds. */
      runtimeRequestTimeout: positiveInt(120, 3600),
      /** Image GC starts above this percentage of the image filesystem used... */
      imageGCHighThreshold: v.optional(intIn(0, 100, "an integer percentage from 0 to 100"), 80),
      /** ...and stops below this one. */
      imageGCLowThreshold: v.optional(intIn(0, 100, "an integer percentage from 0 to 100"), 40),
      /** Exited instances kept per pod and container name (the newest gives lastState). */
      maximumDeadContainersPerPod: positiveInt(1, 100),
      /** Unsafe sysctls pods may set besides the safe ones (the kubelet's name; "net.core.*" patterns). */
      allowedUnsafeSysctls: v.optional(
        v.array(
          v.pipe(
            v.string(),
            v.maxLength(253),
            v.regex(/^[a-z0-9_\-]+([./][a-z0-9_\-]+)*([./]\*)?$/, "a sysctl name or a prefix ending in .*"),
          ),
        ),
        [],
      ),
    }),
    edgeHub: section({
      /** Seconds between pings to cloudcore. */
      heartbeat: positiveInt(15, 3600),
      projectID: nonEmptyStr(DEFAULT_PROJECT_ID),
      tlsCaFile: nonEmptyStr("/etc/kubeedge/ca/rootCA.crt"),
      tlsCertFile: nonEmptyStr("/etc/kubeedge/certs/server.crt"),
      tlsPrivateKeyFile: nonEmptyStr("/etc/kubeedge/certs/server.key"),
      websocket: section({
        /** cloudcore's WebSocket endpoint, HOST:10000. */
        server: emptyOr(isHostPort, "HOST:PORT"),
      }),
      /** cloudcore's HTTPS endpoint for certificates, https://HOST:10002. */
      httpServer: emptyOr(HTTPS_URL, "an https://HOST:PORT URL"),
      /** Join token from `cloudcore gettoken`, needed until the node has a certificate. */
      token: str(""),
      rotateCertificates: bool(true),
      /** Largest message accepted from cloudcore, in bytes. */
      maxMessageBytes: v.optional(
        intIn(1024, 1024 * MiB, "an integer from 1024 to 1073741824 (bytes)"),
        8 * MiB,
      ),
    }),
    eventBus: section({
      mqttMode: oneOf(MQTT_MODES, 2),
      mqttServerInternal: matching(MQTT_URL, "an MQTT URL such as tcp://HOST:PORT", "tcp://127.0.0.1:1884"),
      mqttServerExternal: matching(MQTT_URL, "an MQTT URL such as tcp://HOST:PORT", "tcp://127.0.0.1:1883"),
      mqttQOS: oneOf(MQTT_QOS_LEVELS, 0),
      // The keys below have no default here (an absent key stays absent); edge/bus applies its defaults
      // (DEFAULT_BROKER_LIMITS, DEFAULT_AUTH) to what is left out.
      /** edgecore's user name and password on the external broker. */
      username: v.optional(v.string(mustBe("a string"))),
      password: v.optional(v.string(mustBe("a string"))),
      /** Built-in broker: largest MQTT packet a client may send, in bytes (default 1048576). */
      maxPacketBytes: v.optional(intIn(64, 256 * MiB, "an integer from 64 to 268435456 (bytes)")),
      /** Built-in broker: clients connected at once (default 1000). */
      maxConnections: v.optional(intIn(1, 1_000_000, "an integer from 1 to 1000000")),
      /** Built-in broker: bytes held for a slow client before it is disconnected (default 8388608). */
      maxQueuedBytesPerClient: v.optional(
        intIn(1024, 1024 * MiB, "an integer from 1024 to 1073741824 (bytes)"),
      ),
      /** Built-in broker: user name -> password; empty or absent accepts anonymous clients. */
      users: v.optional(v.record(v.string(), v.string(mustBe("a string")), mustBe("a mapping of strings"))),
      /** Built-in broker: user names allowed every topic (edgecore's apps, mappers of many devices). */
      admins: v.optional(
        v.array(v.pipe(v.string(mustBe("a string")), v.nonEmpty(mustBe("a non-empty string")))),
      ),
      /** Built-in broker: device topics only for their device (user `<namespace>/<name>`) and admins. */
      acl: v.optional(v.boolean(mustBe("true or false"))),
    }),
    metaManager: section({
      /** The local Kubernetes-style API for apps on the node. */
      metaServer: section({
        enable: bool(true),
        server: matching(isHostPort, "HOST:PORT", "127.0.0.1:10550"),
      }),
    }),
    deviceTwin: section({
      enable: bool(true),
      /**
       * Where the DMI socket `dmi.sock` is served for mappers (KubeEdge's key and default; a value ending in
       * `.sock` is an older form whose folder is used). docs/devices.md.
       */
      dmiSockPath: str("/etc/kubeedge"),
      /** Largest DMI gRPC message in either direction. */
      dmiMaxMessageBytes: positiveInt(4 * MiB, 64 * MiB),
      /** Mappers that may register at most (one per protocol). */
      dmiMaxMappers: positiveInt(64, 10_000),
      /** Deadline of each call into a mapper, in milliseconds. */
      dmiCallTimeoutMs: positiveInt(5_000, 600_000),
    }),
    /** Calls apps on this box for the cloud's rest -> servicebus rules (docs/router.md). Off, as upstream. */
    serviceBus: section({
      enable: bool(false),
      /** KubeEdge's box-side listener (servicebus as a rule source): accepted, not served by kedge yet. */
      server: nonEmptyStr("127.0.0.1"),
      port: v.optional(intIn(1, 65535, "a port from 1 to 65535"), 9060),
      /** Seconds an app on the box has to answer. */
      timeout: positiveInt(60, 3600),
      /** TLS of KubeEdge's box-side listener: accepted, unused (see server). */
      tlsCertFile: str(""),
      tlsPrivateKeyFile: str(""),
      /** Largest request body passed to an app and largest answer body taken from it (KubeEdge: 5 MB). */
      maxBodyBytes: v.optional(intIn(1, 64 * MiB, "an integer from 1 to 67108864 (bytes)"), 4 * MiB),
      /** Calls to apps running at once; more are answered 503. */
      maxConcurrentCalls: positiveInt(100, 100_000),
    }),
    /** The edge end of kubectl logs/exec/attach/port-forward: a tunnel dialled out to cloudcore (docs/streaming.md). */
    edgeStream: section({
      enable: bool(false),
      /** cloudcore's tunnel port, HOST:10004. */
      tunnelServer: emptyOr(isHostPort, "HOST:PORT"),
      /** The kubelet-style server on the box (logs, exec, attach, stats, /healthz). */
      server: matching(isHostPort, "HOST:PORT", "127.0.0.1:10350"),
    }),
  }),
  log: logSection(),
}, mustBe("a mapping"));

export type EdgeCoreConfig = v.InferOutput<typeof EdgeCoreConfigSchema>;

/** Every default: what an empty file gives and what `edgecore --defaultconfig` prints. */
export function defaultEdgeCoreConfig(): EdgeCoreConfig {
  return v.parse(EdgeCoreConfigSchema, {});
}

/** Validates YAML text; throws ConfigError listing every problem. */
export function parseEdgeCoreConfig(text: string, source = "(text)"): EdgeCoreConfig {
  return parseConfigText(EdgeCoreConfigSchema, text, source);
}

/** Loads `path`, or the default path when it exists, or the built-in defaults. Throws ConfigError. */
export function loadEdgeCoreConfig(path?: string): Promise<LoadedConfig<EdgeCoreConfig>> {
  return loadConfig(EdgeCoreConfigSchema, { path, defaultPath: DEFAULT_EDGECORE_CONFIG_PATH });
}

/** The node's name: `hostnameOverride`, else the hostname lowercased (as the kubelet does). */
export function nodeNameOf(config: EdgeCoreConfig, hostname: () => string = Deno.hostname): string {
  const override = config.modules.edged.hostnameOverride;
  return override !== "" ? override : hostname().trim().toLowerCase();
}

/** Whether `name` is a node name Kubernetes accepts. */
export function isValidNodeName(name: string): boolean {
  return DNS_SUBDOMAIN.test(name);
}
