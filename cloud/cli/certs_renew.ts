// `cloudcore certs renew`: a new serving certificate (new key, new serial) from the same CA, written into
// Secret kubeedge/cloudcoresecret with the resourceVersion it was read at. The CA is never renewed here:
// every joined edge pins it, so a new CA would cut them all off. Connected edges keep working because they
// verify the new certificate against the same CA. A cloudcore picks the new certificate up when it restarts
// (or, once wired, through its Secret watch calling CloudHub.updateServerCertificate).
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { issueCertificate, x509 } from "../../lib/pki/mod.ts";
import {
  CA_CERT_KEY,
  CA_KEY_KEY,
  CA_SECRET,
  keyPairFromSec1,
  KUBEEDGE_NAMESPACE,
  privateKeyToSec1,
  refreshTokenSecret,
  sansOf,
  SERVER_CERT_KEY,
  SERVER_KEY_KEY,
  SERVER_SECRET,
  type ServerSans,
} from "../certs/mod.ts";
import type { CloudCoreConfig } from "../config.ts";
import { isConflict, isNotFound, secretBytes, secretData } from "../kube/mod.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_ATTEMPTS = 5;

export interface RenewResult {
  readonly oldSerial?: string;
  readonly serial: string;
  readonly notAfter: Date;
  readonly sans: ServerSans;
  /** A new token written into tokensecret, when asked. */
  readonly token?: string;
}

export interface RenewOptions {
  readonly kc: KubeConfig;
  readonly config: CloudCoreConfig;
  /** Also write a fresh join token into tokensecret. */
  readonly newToken?: boolean;
}

/**
 * Re-issues the serving certificate with the SANs it had plus the configured ones. Throws Error
 * "Cannot renew ..." when the CA is missing or the Secret keeps changing under it.
 */
export async function renewServerCertificate(options: RenewOptions): Promise<RenewResult> {
  const core = options.kc.makeApiClient(CoreV1Api);
  const hub = options.config.modules.cloudHub;
  const caSecret = await read(core, CA_SECRET);
  if (!caSecret) {
    throw new Error(
      `Cannot renew: secret ${KUBEEDGE_NAMESPACE}/${CA_SECRET} does not exist; run cloudcore init`,
    );
  }
  const caCertDer = secretBytes(caSecret, CA_CERT_KEY);
  const caKeyDer = secretBytes(caSecret, CA_KEY_KEY);
  const ca = {
    cert: new x509.X509Certificate(new Uint8Array(caCertDer)),
    keys: await keyPairFromSec1(caKeyDer),
  };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = await read(core, SERVER_SECRET);
    const old = current ? parseCert(current) : undefined;
    const had = old ? sansOf(old) : { ipAddresses: [], dnsNames: [] };
    const sans = {
      ipAddresses: unique([...had.ipAddresses, ...hub.advertiseAddress]),
      dnsNames: unique([...had.dnsNames, ...hub.dnsNames.map((d) => d.toLowerCase())]),
    };
    if (sans.ipAddresses.length + sans.dnsNames.length === 0) {
      throw new Error(
        "Cannot renew: the current certificate has no SANs and none are configured; set " +
          "modules.cloudHub.advertiseAddress or pass --advertise-address",
      );
    }
    const { cert, keys } = await issueCertificate({
      ca,
      commonName: "KubeEdge",
      organizations: ["KubeEdge"],
      usages: ["server"],
      ipAddresses: sans.ipAddresses,
      dnsNames: sans.dnsNames,
      validityMs: hub.serverCertValidityDays * DAY_MS,
    });
    if (!keys) throw new Error("Cannot renew: no key pair was generated");
    const data = secretData({
      [SERVER_CERT_KEY]: new Uint8Array(cert.rawData),
      [SERVER_KEY_KEY]: await privateKeyToSec1(keys.privateKey),
    });
    try {
      if (current) {
        await core.replaceNamespacedSecret({
          name: SERVER_SECRET,
          namespace: KUBEEDGE_NAMESPACE,
          body: { ...current, data },
        });
      } else {
        await core.createNamespacedSecret({
          namespace: KUBEEDGE_NAMESPACE,
          body: {
            metadata: {
              name: SERVER_SECRET,
              namespace: KUBEEDGE_NAMESPACE,
              labels: { "app.kubernetes.io/managed-by": "kedge" },
            },
            type: "Opaque",
            data,
          },
        });
      }
    } catch (err) {
      if (isConflict(err)) continue;
      throw err;
    }
    const token = options.newToken
      ? await refreshTokenSecret(core, { caCertDer, caKeyDer }, 2 * hub.tokenRefreshDuration * 3_600_000)
      : undefined;
    return { oldSerial: old?.serialNumber, serial: cert.serialNumber, notAfter: cert.notAfter, sans, token };
  }
  throw new Error(
    `Cannot renew: ${KUBEEDGE_NAMESPACE}/${SERVER_SECRET} kept changing under ${MAX_ATTEMPTS} updates`,
  );
}

function parseCert(secret: V1Secret): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(new Uint8Array(secretBytes(secret, SERVER_CERT_KEY)));
  } catch {
    return undefined;
  }
}

async function read(core: CoreV1Api, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace: KUBEEDGE_NAMESPACE });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
