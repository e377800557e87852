// Certificate rotation as KubeEdge does it: at a random point in 70-90 % of the certificate's life the edge
// asks the cloud for a new one, authenticated by the current one, stores it and reconnects with it.
import { writeFileAtomic } from "../../lib/atomic_write.ts";
import type { Logger } from "../../lib/log.ts";
import { X509Certificate } from "node:crypto";

export interface Credentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface CredentialFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface RotationOptions {
  files: CredentialFiles;
  /** Obtains a new certificate and key, authenticated by `current`. */
  renew(current: Credentials): Promise<{ certPem: string; keyPem: string }>;
  /** Called after the new files are in place: the hub reconnects with them. */
  onRotated(): void | Promise<void>;
  log: Logger;
  signal: AbortSignal;
  random?: () => number;
  now?: () => number;
  /** First wait after a failed renewal; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** setTimeout cannot wait longer than 2^31-1 ms (24.8 days); a year-long certificate waits in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function readCredentials(files: CredentialFiles): Promise<Credentials> {
  const [caPem, certPem, keyPem] = await Promise.all([
    Deno.readTextFile(files.caFile),
    Deno.readTextFile(files.certFile),
    Deno.readTextFile(files.keyFile),
  ]);
  return { caPem, certPem, keyPem };
}

/** When to renew a certificate valid from notBefore to notAfter, for a random draw r in [0, 1). */
export function rotationTime(notBefore: Date, notAfter: Date, r: number): number {
  const life = notAfter.getTime() - notBefore.getTime();
  return notBefore.getTime() + life * (0.7 + 0.2 * r);
}

/** The certificate's validity, read by the runtime's own X.509 parser (no ASN.1 library kept loaded for it). */
export function certificateValidity(certPem: string): { notBefore: Date; notAfter: Date } {
  const cert = new X509Certificate(certPem);
  const notBefore = new Date(Date.parse(cert.validFrom));
  const notAfter = new Date(Date.parse(cert.validTo));
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new Error(`Cannot read the certificate's validity: ${cert.validFrom} .. ${cert.validTo}`);
  }
  return { notBefore, notAfter };
}

/** Runs until the signal aborts; each pass sleeps to the rotation time, renews, stores and reconnects. */
export async function runCertificateRotation(options: RotationOptions): Promise<void> {
  const { log, signal } = options;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  let retry = options.retryMs ?? 10_000;
  while (!signal.aborted) {
    const current = await readCredentials(options.files);
    const { notBefore, notAfter } = certificateValidity(current.certPem);
    const at = rotationTime(notBefore, notAfter, random());
    log.info("certificate rotation scheduled", {
      at: new Date(at).toISOString(),
      notAfter: notAfter.toISOString(),
    });
    while (now() < at && !signal.aborted) await sleep(Math.min(at - now(), MAX_TIMER_MS), signal);
    if (signal.aborted) return;
    try {
      const renewed = await options.renew(current);
      await writeFileAtomic(options.files.keyFile, renewed.keyPem, { mode: 0o600 });
      await writeFileAtomic(options.files.certFile, renewed.certPem, { mode: 0o644 });
      log.info("certificate rotated", {
        notAfter: certificateValidity(renewed.certPem).notAfter.toISOString(),
      });
      retry = options.retryMs ?? 10_000;
      await options.onRotated();
    } catch (error) {
      // The current certificate still works until notAfter: keep trying, never give up silently.
      log.warn("certificate rotation failed", { error, retryInMs: retry });
      await sleep(retry, signal);
      retry = Math.min(retry * 2, options.maxRetryMs ?? 300_000);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
