// Is the apiserver there? Asked at startup and by /readyz.
import type { LoadedKubeConfig } from "./kubeconfig.ts";

/** How long the startup check waits for the apiserver. */
export const APISERVER_CHECK_TIMEOUT_MS = 10_000;

export type ApiserverCheck =
  | { readonly ok: true; readonly version: string }
  | { readonly ok: false; readonly error: unknown };

/** Asks the apiserver for its version (`GET /version`); no answer within `timeoutMs` is `{ ok: false }`. */
export async function checkApiserver(
  kube: LoadedKubeConfig,
  signal: AbortSignal,
  timeoutMs: number = APISERVER_CHECK_TIMEOUT_MS,
): Promise<ApiserverCheck> {
  const { VersionApi } = await import("@kubernetes/client-node");
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const api = kube.kubeConfig.makeApiClient(VersionApi);
    const version = await untilAborted(api.getCode(), AbortSignal.any([signal, timeout]));
    return { ok: true, version: version.gitVersion };
  } catch (err) {
    const error = timeout.aborted ? new Error(`Cannot reach apiserver: no answer in ${timeoutMs} ms`) : err;
    return { ok: false, error };
  }
}

/** Settles with `promise`, or rejects with the signal's reason once it aborts (the request itself runs on). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
