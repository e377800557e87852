// The `edgecore join` line `cloudcore init` and `cloudcore certs renew --new-token` print: the address edges
// dial, the ports from the config, and a freshly minted token (valid by its HMAC with the CA key, so minting
// one writes nothing).
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { createJoinToken } from "../../lib/pki/mod.ts";
import { CA_CERT_KEY, CA_KEY_KEY, CA_SECRET, KUBEEDGE_NAMESPACE } from "../certs/mod.ts";
import type { CloudCoreConfig } from "../config.ts";
import { isNotFound, secretBytes } from "../kube/mod.ts";

/** What `--node-name` shows until the user puts the node's name there. */
export const NODE_PLACEHOLDER = "<NODE>";

export interface MintedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** A new join token from the CA in `casecret`, valid 2 x tokenRefreshDuration as the refresher's are. */
export async function mintJoinToken(kc: KubeConfig, config: CloudCoreConfig): Promise<MintedToken> {
  const core = kc.makeApiClient(CoreV1Api);
  let secret;
  try {
    secret = await core.readNamespacedSecret({ name: CA_SECRET, namespace: KUBEEDGE_NAMESPACE });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw new Error(
      `Cannot mint a join token: secret ${KUBEEDGE_NAMESPACE}/${CA_SECRET} does not exist; run cloudcore init`,
    );
  }
  const ttlMs = 2 * config.modules.cloudHub.tokenRefreshDuration * 3_600_000;
  const now = new Date();
  const token = createJoinToken({
    caCertDer: secretBytes(secret, CA_CERT_KEY),
    caKeyDer: secretBytes(secret, CA_KEY_KEY),
    ttlMs,
    now,
  });
  return { token, expiresAt: new Date(Math.floor((now.getTime() + ttlMs) / 1000) * 1000) };
}

/**
 * `edgecore join --cloudcore-ipport HOST:WS --certport HTTPS [--tunnel-port TUNNEL] --token T --node-name <NODE>`;
 * the tunnel port when cloudStream is on, so the edge turns kubectl logs/exec on too.
 */
export function joinCommandLine(host: string, config: CloudCoreConfig, token: string): string {
  const hub = config.modules.cloudHub;
  const stream = config.modules.cloudStream;
  const bracketed = host.includes(":") ? `[${host}]` : host;
  const tunnel = stream.enable ? ` --tunnel-port ${stream.tunnelPort}` : "";
  return `edgecore join --cloudcore-ipport ${bracketed}:${hub.websocket.port} --certport ${hub.https.port}${tunnel} ` +
    `--token ${token} --node-name ${NODE_PLACEHOLDER}`;
}
