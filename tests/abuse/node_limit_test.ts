/**
 * More edges than nodeLimit, as kedge's own edge client dials (edge/hub: full-jitter backoff, 1 s doubling to
 * 30 s): the ones past the limit are refused explicitly and keep backing off, the honest edges keep their
 * sessions; then the cloud restarts under all of them, and the reconnects spread over the backoff window
 * instead of arriving at once.
 */
import assert from "node:assert/strict";
import { type CloudHub, startCloudHub } from "../../cloud/hub/mod.ts";
import { hubMetrics } from "../../cloud/hub/hub_metrics.ts";
import { delay, testLogger, waitFor } from "../../cloud/hub/test_util.ts";
import { Registry } from "../../lib/metrics.ts";
import { responseTo } from "../../lib/protocol/mod.ts";
import { assertWithstood, MiB, pki, TEST_HUB_OPTIONS, underAttack } from "./hub_under_attack.ts";
import { HONEST_EDGES } from "./honest_edges.ts";
import { type Crowd, crowdCredentials, startCrowd } from "./crowd_process.ts";

const NODE_LIMIT = 500;
const CROWD = 600 - HONEST_EDGES;
/**
 * The default handshake timeout and a long keepalive timeout: 550 edges in one child process and their TLS
 * handshakes on the hub's thread, on a loaded 2-core machine, must not lose sessions to the test's short ones.
 */
const LOADED = { nodeLimit: NODE_LIMIT, keepaliveTimeoutMs: 20_000, handshakeTimeoutMs: 10_000 };
const credentials = await crowdCredentials(pki, CROWD);

Deno.test(`${CROWD} edges beside ${HONEST_EDGES} honest ones against nodeLimit ${NODE_LIMIT}: the extra ones refused with 503, each explicitly, and backing off`, async () => {
  let crowd: Crowd | undefined;
  let refusedOnce = 0;
  let connected = 0;
  let counted = 0;
  let held = 0;
  // A keepalive timeout long enough that 550 edges in one busy child process keep their sessions.
  const report = await underAttack(
    { nodeLimit: NODE_LIMIT, keepaliveTimeoutMs: 20_000 },
    async ({ hub, port, registry }) => {
      // Booting over 6 s, as boxes that power up together do; the restart below has them all at once.
      crowd = await startCrowd(credentials, { address: `127.0.0.1:${port}`, staggerMs: 6_000 });
      try {
        await waitFor(() => hub.connectedNodes().length === NODE_LIMIT, 60_000, "every slot taken");
        const told = () => crowd!.refusals.filter((r) => r.some((e) => /503/.test(e.reason))).length;
        const seated = () => crowd!.connects.filter((c) => c.length > 0).length;
        // On a loaded machine the child may take longer than its 6 s to start every edge.
        await waitFor(() => told() + seated() >= CROWD, 30_000, "every edge of the crowd seated or told 503");
        // Over the next 3 s the refused ones try again a few times each (backoff ceilings 1, 2, 4 s).
        const countedBefore = hubMetrics(registry).connectionsRefused.get({ reason: "node_limit" });
        await delay(3_000);
        connected = hub.connectedNodes().length;
        held = hub.connectedNodes().filter((n) => n.startsWith("crowd-")).length;
        refusedOnce = told();
        counted = hubMetrics(registry).connectionsRefused.get({ reason: "node_limit" }) - countedBefore;
      } finally {
        await crowd.close();
      }
    },
  );
  assertWithstood("nodeLimit", report, 256 * MiB);
  console.log(
    `nodeLimit ${NODE_LIMIT}: ${connected} connected, ${held} of the crowd got a slot, ${refusedOnce} refused ` +
      `with 503 at least once, ${counted} refusals counted in 3 s`,
  );
  assert.equal(connected, NODE_LIMIT, "the hub holds exactly nodeLimit sessions");
  assert.equal(held, NODE_LIMIT - HONEST_EDGES, "the crowd got the slots the honest edges left, no more");
  assert.ok(refusedOnce >= CROWD - held, `every edge without a slot was told 503 (${refusedOnce})`);
  // The refused edges try again, but with backoff: in 3 s a few tries each at most, never a tight loop.
  assert.ok(counted > 0 && counted < (CROWD - held) * 8, `${counted} refusals counted in 3 s`);
});

Deno.test(`a hub restarted under ${CROWD} edges (nodeLimit ${NODE_LIMIT}): the reconnects spread over the jittered backoff, the slots refill, the rest refused`, async () => {
  const start = (port: number) =>
    startCloudHub({
      address: "127.0.0.1",
      port,
      tls: { caPem: pki.caPem, ...pki.server },
      log: testLogger(),
      registry: new Registry(),
      onMessage: (_node, message) => Promise.resolve(responseTo(message, "OK")),
      ...TEST_HUB_OPTIONS,
      ...LOADED,
    });
  let hub: CloudHub = await start(0);
  const port = hub.port;
  const crowd = await startCrowd(credentials, { address: `127.0.0.1:${port}` });
  try {
    await waitFor(() => hub.connectedNodes().length === NODE_LIMIT, 60_000, "every slot taken");
    const holders = new Set(hub.connectedNodes());
    const closing = Date.now();
    await hub.close();
    const restarted = Date.now();
    hub = await start(port);
    await waitFor(() => hub.connectedNodes().length === NODE_LIMIT, 60_000, "every slot taken again");
    const filledMs = Date.now() - restarted;
    // Each edge's first reconnect after the restart, in ms after it.
    const firstAfter = (c: number[]) => c.find((at) => at >= restarted);
    const reconnects = crowd.connects.flatMap((c) => {
      const at = firstAfter(c);
      return at === undefined ? [] : [at - restarted];
    }).sort((a, b) => a - b);
    const back = [...holders].filter((n) => firstAfter(crowd.connects[Number(n.slice("crowd-".length))]!));
    // The densest 100 ms: with every edge retrying at once it would hold nearly all of them.
    let densest = 0;
    for (let i = 0, j = 0; i < reconnects.length; i++) {
      while (reconnects[i]! - reconnects[j]! > 100) j++;
      densest = Math.max(densest, i - j + 1);
    }
    const at = (p: number) => reconnects[Math.min(reconnects.length - 1, Math.floor(p * reconnects.length))]!;
    console.log(
      `restart: ${NODE_LIMIT} slots refilled in ${
        filledMs.toFixed(0)
      } ms; ${reconnects.length} reconnects, ` +
        `p10 ${at(0.1).toFixed(0)} ms, p50 ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms; ` +
        `densest 100 ms held ${densest}; ${back.length} of the ${holders.size} earlier holders back`,
    );
    await delay(1_000);
    assert.equal(hub.connectedNodes().length, NODE_LIMIT, "exactly nodeLimit sessions after the restart");
    // What the jitter decides, read from each edge that lost its session: how long it waited before dialling.
    const waits = [...holders].flatMap((n) => {
      const retry = crowd.refusals[Number(n.slice("crowd-".length))]!.find((e) => e.at >= closing);
      return retry ? [retry.delayMs] : [];
    }).sort((a, b) => a - b);
    const wait = (p: number) => waits[Math.min(waits.length - 1, Math.floor(p * waits.length))]!;
    console.log(
      `restart: waits before the first redial p10 ${wait(0.1)} ms, p50 ${wait(0.5)} ms, p90 ${wait(0.9)} ms`,
    );
    assert.ok(waits.length >= NODE_LIMIT * 0.9, `${waits.length} of ${holders.size} edges logged their wait`);
    // Full jitter over the first ceiling (1 s) is uniform: p10 about 100 ms, p90 about 900 ms.
    assert.ok(
      wait(0.1) < 250 && wait(0.9) > 750,
      `waits spread over [0, 1 s): p10 ${wait(0.1)}, p90 ${wait(0.9)}`,
    );
    assert.ok(filledMs < 30_000, `the slots refilled in ${filledMs} ms`);
    const refusedAfter = crowd.refusals.filter((r) =>
      r.some((e) => e.at >= restarted && /503/.test(e.reason))
    );
    // Those left without a slot are told so again as their (by now longer) backoff runs out.
    assert.ok(refusedAfter.length > 0, "edges without a slot are refused with 503 after the restart");
  } finally {
    await crowd.close();
    await hub.close();
  }
});
