/**
 * cloudcore's config: one valibot schema with every default, named as in KubeEdge's cloudcore.yaml so a
 * KubeEdge user recognises it. Unknown keys are problems (a typo must not silently fall back to a default).
 */

import { isIP } from "node:net";
import * as v from "valibot";
import {
  bool,
  emptyOr,
  intIn,
  ipAddress,
  ipAddressList,
  loadConfig,
  type LoadedConfig,
  logSection,
  mustBe,
  oneOf,
  parseConfigText,
  port,
  positiveInt,
  positiveNumber,
  section,
  str,
  stringList,
} from "../lib/config/mod.ts";

/** Where KubeEdge keeps cloudcore.yaml; read when `--config` is not given and the file exists. */
export const DEFAULT_CLOUDCORE_CONFIG_PATH = "/etc/kubeedge/config/cloudcore.yaml";
export const CLOUDCORE_API_VERSIONS = [
  "cloudcore.config.kubeedge.io/v1alpha2",
  "cloudcore.config.kubeedge.io/v1alpha1",
] as const;

const MiB = 1024 * 1024;

/** Host address and port of one listener. */
function listener(address: string, defaultPort: number) {
  return section({ address: ipAddress(address), port: port(defaultPort) });
}

export const CloudCoreConfigSchema = v.strictObject({
  apiVersion: oneOf(CLOUDCORE_API_VERSIONS, CLOUDCORE_API_VERSIONS[0]),
  kind: oneOf(["CloudCore"], "CloudCore"),
  kubeAPIConfig: section({
    /** Path of a kubeconfig file; "" means in-cluster (service account) or the default kubeconfig. */
    kubeConfig: str(""),
    /** Client-side limit of apiserver requests: burst at once, then qps a second (Leases and Node status first). */
    qps: positiveNumber(100),
    burst: positiveInt(200),
  }),
  modules: section({
    cloudHub: section({
      /** IPs edge nodes dial; they go into the server certificate's SANs. */
      advertiseAddress: ipAddressList(),
      /** DNS names edge nodes dial; they go into the server certificate's SANs. */
      dnsNames: stringList(),
      nodeLimit: positiveInt(500),
      /** Seconds without a message before a session counts as dead. */
      keepaliveInterval: positiveInt(30, 3600),
      /** Days an edge certificate is valid. */
      edgeCertSigningDuration: positiveInt(365, 36500),
      /** Minutes an edge certificate is valid; when set, it replaces edgeCertSigningDuration (short-lived certs). */
      edgeCertSigningDurationMinutes: v.optional(
        intIn(1, 36500 * 1440, "an integer from 1 to 52560000 (minutes)"),
      ),
      /** Days cloudcore's own serving certificate is valid when issued or renewed (`cloudcore certs renew`). */
      serverCertValidityDays: positiveInt(36500, 36500),
      /** Seconds between checks for a renewed server certificate in the Secret (`cloudcore certs renew`). */
      serverCertCheckInterval: positiveInt(60, 3600),
      /** Hours between join-token refreshes; a token is valid for twice this. Timers cap it at 20 days. */
      tokenRefreshDuration: positiveInt(12, 480),
      /** Largest message accepted from an edge node, in bytes. */
      maxMessageBytes: v.optional(
        intIn(1024, 1024 * MiB, "an integer from 1024 to 1073741824 (bytes)"),
        8 * MiB,
      ),
      websocket: listener("0.0.0.0", 10000),
      https: listener("0.0.0.0", 10002),
    }),
    /** kubectl logs/exec/attach/port-forward: see docs/streaming.md. Off by default, as upstream. */
    cloudStream: section({
      enable: bool(false),
      /** Where edges dial their tunnel (mTLS with the KubeEdge CA). */
      tunnelPort: port(10004),
      /** KubeEdge's single stream port; kedge serves each node on its own port from nodePortRange instead. */
      streamPort: port(10003),
      /** The address kube-apiserver reaches this replica's stream server on; "" = the first advertiseAddress. */
      streamAdvertiseAddress: emptyOr((s) => isIP(s) !== 0, "an IP address"),
      /** Each edge node gets its own kubelet port on every replica, so no iptables rule is needed. */
      nodePortRange: section({ min: port(30000), max: port(32767) }),
      /** Serving certificate kube-apiserver trusts (--kubelet-certificate-authority) and its key. */
      tlsStreamCertFile: str(""),
      tlsStreamPrivateKeyFile: str(""),
      /** CA of kube-apiserver's kubelet client certificate (--kubelet-client-certificate). */
      tlsStreamCAFile: str(""),
      /** Replicas forward requests for nodes whose tunnel another replica holds over mTLS on this port. */
      peerPort: port(10005),
    }),
    /** The Router: Rule and RuleEndpoint objects move messages (docs/router.md). Off by default, as upstream. */
    router: section({
      enable: bool(false),
      /** The rest endpoint, `http://ADDRESS:PORT/{nodeName}/{namespace}/{path}` (plain HTTP, as upstream). */
      address: ipAddress("0.0.0.0"),
      port: port(9443),
      /** Seconds a rest call waits for its answer (servicebus) or its delivery, and a rest target's answer. */
      restTimeout: positiveInt(60, 3600),
      /** Largest body of a rest call, of a servicebus answer and of an MQTT message sent to a rest target. */
      maxBodyBytes: v.optional(intIn(1, 64 * MiB, "an integer from 1 to 67108864 (bytes)"), 4 * MiB),
      /** Calls waiting for a servicebus answer at once (more are answered 503), and POSTs to rest targets in
       * flight (more are counted as failures). */
      maxPendingCalls: positiveInt(1000, 1_000_000),
    }),
  }),
  metrics: listener("127.0.0.1", 9091),
  log: logSection(),
}, mustBe("a mapping"));

export type CloudCoreConfig = v.InferOutput<typeof CloudCoreConfigSchema>;

/** Every default: what an empty file gives and what `cloudcore --defaultconfig` prints. */
export function defaultCloudCoreConfig(): CloudCoreConfig {
  return v.parse(CloudCoreConfigSchema, {});
}

/** Validates YAML text; throws ConfigError listing every problem. */
export function parseCloudCoreConfig(text: string, source = "(text)"): CloudCoreConfig {
  return parseConfigText(CloudCoreConfigSchema, text, source);
}

/** Loads `path`, or the default path when it exists, or the built-in defaults. Throws ConfigError. */
export function loadCloudCoreConfig(path?: string): Promise<LoadedConfig<CloudCoreConfig>> {
  return loadConfig(CloudCoreConfigSchema, { path, defaultPath: DEFAULT_CLOUDCORE_CONFIG_PATH });
}
