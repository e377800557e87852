// cloudcore's certificate material, kept in Kubernetes Secrets with KubeEdge's names so that replicas and
// restarts share one CA, one serving certificate and one join token.
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import { certificateToPem, createCa, type Issued, privateKeyToPem, x509 } from "../../lib/pki/mod.ts";
import { secretBytes } from "../kube/mod.ts";
import { type InterfaceLister, resolveAdvertiseAddresses } from "./advertise.ts";
import { keyMatches, keyPairFromSec1, privateKeyToSec1 } from "./key_der.ts";
import {
  CA_CERT_KEY,
  CA_KEY_KEY,
  CA_SECRET,
  DAY_MS,
  DEFAULT_TOKEN_VALIDITY_MS,
  KUBEEDGE_NAMESPACE,
  SERVER_CERT_KEY,
  SERVER_KEY_KEY,
  SERVER_SECRET,
} from "./names.ts";
import { ensureNamespace, getOrCreateSecret, readSecret, replaceSecretData } from "./secret_store.ts";
import { issueServerCert, mergeSans, missingSans, sansOf, type ServerSans } from "./server_cert.ts";
import { ensureTokenSecret } from "./join_token.ts";

export interface CloudPki {
  readonly ca: Issued;
  readonly caCertDer: Uint8Array;
  /** SEC1 DER, also the join tokens' HMAC key. */
  readonly caKeyDer: Uint8Array;
  readonly caPem: string;
  readonly serverCert: x509.X509Certificate;
  readonly serverCertPem: string;
  /** PKCS#8 PEM, what node:tls takes. */
  readonly serverKeyPem: string;
  /** The join token in `tokensecret` when cloudcore started. */
  readonly token: string;
}

export interface EnsureCloudPkiOptions {
  /** IPs edge nodes dial; found on the interfaces when empty. */
  readonly advertiseAddresses: readonly string[];
  readonly dnsNames: readonly string[];
  /** Default 36500 days (upstream: 100 years). */
  readonly caValidityDays?: number;
  /** Default 36500 days, as upstream. */
  readonly serverValidityDays?: number;
  /** Default 24 h. */
  readonly tokenValidityMs?: number;
  readonly log: Logger;
  /** For tests: the machine's interfaces. */
  readonly networkInterfaces?: InterfaceLister;
}

/** A server certificate expiring sooner than this is re-issued at start. */
const SERVER_RENEW_BEFORE_MS = 30 * DAY_MS;
const MAX_UPDATE_ATTEMPTS = 5;

/**
 * Loads the CA, server certificate and join token from namespace `kubeedge`, creating what is missing.
 * Throws Error "Cannot start cloudcore: ..." when no advertise address can be found, or the stored CA is broken.
 */
export async function ensureCloudPki(kc: KubeConfig, options: EnsureCloudPkiOptions): Promise<CloudPki> {
  const ipAddresses = resolveAdvertiseAddresses(
    options.advertiseAddresses,
    options.dnsNames,
    options.networkInterfaces,
  );
  const wanted: ServerSans = { ipAddresses, dnsNames: [...options.dnsNames] };
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core);
  const ca = await ensureCa(core, (options.caValidityDays ?? 36500) * DAY_MS, options.log);
  const server = await ensureServerCert(
    core,
    ca,
    wanted,
    (options.serverValidityDays ?? 36500) * DAY_MS,
    options.log,
  );
  const token = await ensureTokenSecret(core, {
    key: { caCertDer: ca.caCertDer, caKeyDer: ca.caKeyDer },
    validityMs: options.tokenValidityMs ?? DEFAULT_TOKEN_VALIDITY_MS,
    log: options.log,
  });
  return {
    ca: ca.issued,
    caCertDer: ca.caCertDer,
    caKeyDer: ca.caKeyDer,
    caPem: certificateToPem(ca.issued.cert),
    serverCert: server.cert,
    serverCertPem: certificateToPem(server.cert),
    serverKeyPem: await privateKeyToPem(server.keys.privateKey),
    token,
  };
}

interface LoadedCa {
  readonly issued: Issued;
  readonly caCertDer: Uint8Array;
  readonly caKeyDer: Uint8Array;
}

async function ensureCa(core: CoreV1Api, validityMs: number, log: Logger): Promise<LoadedCa> {
  const { secret, created } = await getOrCreateSecret(core, CA_SECRET, async () => {
    const ca = await createCa({ commonName: "KubeEdge", validityMs });
    return {
      [CA_CERT_KEY]: new Uint8Array(ca.cert.rawData),
      [CA_KEY_KEY]: await privateKeyToSec1(ca.keys.privateKey),
    };
  });
  const loaded = await loadPair(secret, CA_CERT_KEY, CA_KEY_KEY);
  log.info(created ? "ca created" : "ca loaded", {
    secret: `${KUBEEDGE_NAMESPACE}/${CA_SECRET}`,
    notAfter: loaded.cert.notAfter.toISOString(),
  });
  return {
    issued: { cert: loaded.cert, keys: loaded.keys },
    caCertDer: loaded.certDer,
    caKeyDer: loaded.keyDer,
  };
}

async function ensureServerCert(
  core: CoreV1Api,
  ca: LoadedCa,
  wanted: ServerSans,
  validityMs: number,
  log: Logger,
): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const make = async (sans: ServerSans) => {
    const { cert, keys } = await issueServerCert(ca.issued, sans, validityMs);
    return {
      [SERVER_CERT_KEY]: new Uint8Array(cert.rawData),
      [SERVER_KEY_KEY]: await privateKeyToSec1(keys.privateKey),
    };
  };
  for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
    const { secret, created } = await getOrCreateSecret(core, SERVER_SECRET, () => make(wanted));
    const loaded = await loadPair(secret, SERVER_CERT_KEY, SERVER_KEY_KEY).catch(() => undefined);
    const why = loaded ? await reissueReason(loaded.cert, ca, wanted) : "unreadable";
    if (!why) {
      log.info(created ? "server certificate created" : "server certificate loaded", {
        secret: `${KUBEEDGE_NAMESPACE}/${SERVER_SECRET}`,
        ...sansOf(loaded!.cert),
      });
      return loaded!;
    }
    // Keep the SANs other replicas asked for: they share this certificate.
    const sans = loaded ? mergeSans(sansOf(loaded.cert), wanted) : wanted;
    const stored = await replaceSecretData(core, secret, await make(sans));
    if (stored) {
      log.info("server certificate reissued", {
        secret: `${KUBEEDGE_NAMESPACE}/${SERVER_SECRET}`,
        reason: why,
        ...sans,
      });
      const reissued = await loadPair(stored, SERVER_CERT_KEY, SERVER_KEY_KEY);
      return reissued;
    }
  }
  throw new Error(
    `Cannot start cloudcore: ${KUBEEDGE_NAMESPACE}/${SERVER_SECRET} kept changing under ${MAX_UPDATE_ATTEMPTS} updates`,
  );
}

async function reissueReason(
  cert: x509.X509Certificate,
  ca: LoadedCa,
  wanted: ServerSans,
): Promise<string | undefined> {
  const missing = missingSans(cert, wanted);
  if (missing.length > 0) return `missing SANs ${missing.join(", ")}`;
  if (!await cert.verify({ publicKey: ca.issued.cert.publicKey, signatureOnly: true })) {
    return "not signed by the current CA";
  }
  if (cert.notAfter.getTime() - Date.now() < SERVER_RENEW_BEFORE_MS) return "expires soon";
  return undefined;
}

interface LoadedPair {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly certDer: Uint8Array;
  readonly keyDer: Uint8Array;
}

async function loadPair(secret: V1Secret, certKey: string, keyKey: string): Promise<LoadedPair> {
  const name = `${KUBEEDGE_NAMESPACE}/${secret.metadata?.name ?? ""}`;
  try {
    const certDer = secretBytes(secret, certKey);
    const keyDer = secretBytes(secret, keyKey);
    const cert = new x509.X509Certificate(new Uint8Array(certDer));
    const keys = await keyPairFromSec1(keyDer);
    if (!await keyMatches(keys, cert.publicKey.rawData)) {
      throw new TypeError(`the key in "${keyKey}" is not the certificate's key`);
    }
    return { cert, keys, certDer, keyDer };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`Cannot start cloudcore: secret ${name} is unusable: ${why}`, { cause: err });
  }
}

/** The serving certificate and key as stored now (after `cloudcore certs renew`, say), as PEM for node:tls. */
export async function readServerCertificate(
  kc: KubeConfig,
): Promise<{ certPem: string; keyPem: string; serial: string }> {
  const core = kc.makeApiClient(CoreV1Api);
  const secret = await readSecret(core, SERVER_SECRET);
  if (!secret) {
    throw new Error(
      `Cannot read the server certificate: secret ${KUBEEDGE_NAMESPACE}/${SERVER_SECRET} is gone`,
    );
  }
  const pair = await loadPair(secret, SERVER_CERT_KEY, SERVER_KEY_KEY);
  return {
    certPem: certificateToPem(pair.cert),
    keyPem: await privateKeyToPem(pair.keys.privateKey),
    serial: pair.cert.serialNumber,
  };
}
