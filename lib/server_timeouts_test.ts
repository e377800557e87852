import assert from "node:assert/strict";
import { httpServerTimeouts, httpsServerTimeouts } from "./server_timeouts.ts";

Deno.test("the headers timeout is checked every second, or as often as the timeout when it is shorter", () => {
  assert.deepEqual(httpServerTimeouts(10_000), {
    headersTimeout: 10_000,
    connectionsCheckingInterval: 1_000,
  });
  assert.deepEqual(httpServerTimeouts(500), { headersTimeout: 500, connectionsCheckingInterval: 500 });
  assert.deepEqual(httpsServerTimeouts(1_000), {
    handshakeTimeout: 1_000,
    headersTimeout: 1_000,
    connectionsCheckingInterval: 1_000,
  });
});

Deno.test("a timeout node:http would refuse is refused here, with the range", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, 300_001]) {
    assert.throws(() => httpServerTimeouts(bad), /expected 1 to 300000 ms/);
  }
});
