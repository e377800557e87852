/** Process lifecycle: SIGINT/SIGTERM abort one AbortController that every long-running part listens to. */

export interface Shutdown extends Disposable {
  /** Aborted, with the signal's name as its reason, when the first signal arrives. */
  readonly signal: AbortSignal;
  /** Removes the signal listeners. */
  dispose(): void;
}

export const SHUTDOWN_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

export function shutdownOnSignals(signals: readonly Deno.Signal[] = SHUTDOWN_SIGNALS): Shutdown {
  const controller = new AbortController();
  const handlers = signals.map((name) => {
    const handler = () => controller.abort(name);
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
  };
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose };
}

/**
 * Resolves once `signal` is aborted (at once if it already is). It keeps the process alive while it waits:
 * signal listeners alone do not everywhere (not under `deno test`, for one).
 */
export function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => {}, 24 * 60 * 60 * 1000);
    signal.addEventListener("abort", () => {
      clearInterval(keepAlive);
      resolve();
    }, { once: true });
  });
}
