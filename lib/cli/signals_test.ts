import assert from "node:assert/strict";
import { shutdownOnSignals, waitForAbort } from "./signals.ts";

Deno.test("waitForAbort resolves on abort, and at once for an aborted signal", async () => {
  const controller = new AbortController();
  let done = false;
  const waiting = waitForAbort(controller.signal).then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false);
  controller.abort();
  await waiting;
  assert.equal(done, true);
  await waitForAbort(AbortSignal.abort());
});

Deno.test("a signal it listens to aborts the shutdown signal with the signal name as reason", async () => {
  using shutdown = shutdownOnSignals(["SIGUSR2"]);
  assert.equal(shutdown.signal.aborted, false);
  Deno.kill(Deno.pid, "SIGUSR2");
  await waitForAbort(shutdown.signal);
  assert.equal(shutdown.signal.reason, "SIGUSR2");
});
