// The join token in Secret kubeedge/tokensecret: made at first start, refreshed every tokenRefreshDuration
// (any replica may refresh; every token signed by the CA key stays valid until its own exp), read by
// `cloudcore gettoken`.
import { Buffer } from "node:buffer";
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import { createJoinToken, type JoinTokenKey, verifyJoinToken } from "../../lib/pki/mod.ts";
import { secretBytes } from "../kube/mod.ts";
import {
  CA_CERT_KEY,
  CA_KEY_KEY,
  CA_SECRET,
  DEFAULT_TOKEN_REFRESH_MS,
  DEFAULT_TOKEN_VALIDITY_MS,
  HOUR_MS,
  KUBEEDGE_NAMESPACE,
  TOKEN_KEY,
  TOKEN_SECRET,
} from "./names.ts";
import { getOrCreateSecret, readSecret, replaceSecretData } from "./secret_store.ts";

const MAX_UPDATE_ATTEMPTS = 5;
/** Largest token value read back from the Secret. */
const MAX_STORED_TOKEN_BYTES = 4096;

/**
 * The stored token when it verifies and lives at least `minRemainingMs` more; otherwise a fresh one is
 * written (with the resourceVersion read, so racing replicas settle on one) and returned.
 */
export interface EnsureTokenOptions {
  readonly key: JoinTokenKey;
  /** Validity of a new token. Default 24 h. */
  readonly validityMs?: number;
  /** A stored token expiring sooner than this is replaced. Default 0: only an expired or invalid one. */
  readonly minRemainingMs?: number;
  readonly log?: Logger;
}

export async function ensureTokenSecret(core: CoreV1Api, options: EnsureTokenOptions): Promise<string> {
  const { key, log } = options;
  const validityMs = options.validityMs ?? DEFAULT_TOKEN_VALIDITY_MS;
  const minRemainingMs = options.minRemainingMs ?? 0;
  const fresh = () => createJoinToken({ ...key, ttlMs: validityMs });
  for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
    const { secret, created } = await getOrCreateSecret(
      core,
      TOKEN_SECRET,
      () => Promise.resolve({ [TOKEN_KEY]: new TextEncoder().encode(fresh()) }),
    );
    const stored = storedToken(secret);
    const check = verifyJoinToken(stored, { ...key, now: new Date(Date.now() + minRemainingMs) });
    if (check.ok) {
      if (created) log?.info("join token created", { expiresAt: check.expiresAt.toISOString() });
      return stored;
    }
    const token = fresh();
    if (await replaceSecretData(core, secret, { [TOKEN_KEY]: new TextEncoder().encode(token) })) {
      log?.info("join token refreshed", { reason: check.reason });
      return token;
    }
  }
  throw new Error(`Cannot store join token: ${KUBEEDGE_NAMESPACE}/${TOKEN_SECRET} kept changing`);
}

/** Writes a fresh token, whatever is stored. */
export async function refreshTokenSecret(
  core: CoreV1Api,
  key: JoinTokenKey,
  validityMs: number,
): Promise<string> {
  for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
    const token = createJoinToken({ ...key, ttlMs: validityMs });
    const { secret, created } = await getOrCreateSecret(
      core,
      TOKEN_SECRET,
      () => Promise.resolve({ [TOKEN_KEY]: new TextEncoder().encode(token) }),
    );
    if (created) return token;
    if (await replaceSecretData(core, secret, { [TOKEN_KEY]: new TextEncoder().encode(token) })) return token;
  }
  throw new Error(`Cannot store join token: ${KUBEEDGE_NAMESPACE}/${TOKEN_SECRET} kept changing`);
}

function storedToken(secret: V1Secret): string {
  const raw = secret.data?.[TOKEN_KEY];
  if (raw === undefined || raw.length > MAX_STORED_TOKEN_BYTES * 2) return "";
  return Buffer.from(raw, "base64").toString("utf8").trim();
}

export interface TokenRefresherOptions {
  readonly kc: KubeConfig;
  readonly key: JoinTokenKey;
  /** Default 12 h (tokenRefreshDuration). */
  readonly refreshMs?: number;
  /** Default twice refreshMs. */
  readonly validityMs?: number;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface TokenRefresher {
  /** How many refreshes succeeded so far. */
  readonly refreshes: () => number;
}

/** Writes a fresh token into tokensecret every `refreshMs` until `signal` aborts. Failures are logged and retried. */
export function startTokenRefresher(options: TokenRefresherOptions): TokenRefresher {
  const refreshMs = options.refreshMs ?? DEFAULT_TOKEN_REFRESH_MS;
  const validityMs = options.validityMs ?? 2 * refreshMs;
  const core = options.kc.makeApiClient(CoreV1Api);
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      await refreshTokenSecret(core, options.key, validityMs);
      count++;
      options.log.info("join token refreshed", { validityMs });
    } catch (error) {
      options.log.warn("join token refresh failed", { error });
    }
    if (!options.signal.aborted) timer = setTimeout(tick, refreshMs);
  };
  if (!options.signal.aborted) timer = setTimeout(tick, refreshMs);
  options.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return { refreshes: () => count };
}

export interface GetTokenOptions {
  /** A stored token expiring sooner than this is replaced. Default 1 h. */
  readonly minRemainingMs?: number;
  /** Validity of a replacement. Default 24 h. */
  readonly validityMs?: number;
}

/** The join token for `cloudcore gettoken`: the stored one, or a fresh one when it expires within an hour. */
export async function getToken(kc: KubeConfig, options: GetTokenOptions = {}): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const ca = await readSecret(core, CA_SECRET);
  if (!ca) {
    throw new Error(
      `Cannot get token: secret ${KUBEEDGE_NAMESPACE}/${CA_SECRET} does not exist; start cloudcore first`,
    );
  }
  const key = { caCertDer: secretBytes(ca, CA_CERT_KEY), caKeyDer: secretBytes(ca, CA_KEY_KEY) };
  return await ensureTokenSecret(core, {
    key,
    validityMs: options.validityMs,
    minRemainingMs: options.minRemainingMs ?? HOUR_MS,
  });
}
