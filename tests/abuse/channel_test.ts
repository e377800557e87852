/**
 * Abuse of the edge channel (cloudhub's WebSocket port, and cloudcore's HTTPS port for slowloris), each with
 * 50 honest edges beside it that must not notice: no lost session, every reply within 2 s. The attacker holds
 * a valid client certificate except where it never gets past TLS. Figures are logged; docs/security.md
 * quotes them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connectRawEdge, delay, waitFor } from "../../cloud/hub/test_util.ts";
import { encode, type Message, newMessage } from "../../lib/protocol/mod.ts";
import { getCaCert, startTestCertServer } from "./cert_server.ts";
import { envelopeCases } from "./envelope_cases.ts";
import { percentile } from "./honest_edges.ts";
import {
  assertWithstood,
  MiB,
  openFds,
  pki,
  TEST_HUB_OPTIONS,
  TEST_MAX_MESSAGE_BYTES,
  underAttack,
} from "./hub_under_attack.ts";
import {
  clientFrame,
  OPCODE_BINARY,
  OPCODE_CONTINUATION,
  OPCODE_TEXT,
  openRawWebSocket,
  type RawSocket,
} from "./raw_ws.ts";
import { runSlowloris, slowlorisCount, type SlowlorisFigures } from "./slowloris.ts";

/** Peak RSS growth allowed while a frame attack runs (the honest edges' own churn included). */
const RSS_BOUND = 48 * MiB;
/** The same for 2 MB frames under the default 8 MiB limit: tens of MiB each until V8 collects them. */
const LARGE_FRAMES_RSS_BOUND = 256 * MiB;
/** The same for slowloris: both ends of 2,000 sockets live in this process (about 24 KiB a pair). */
const SLOWLORIS_RSS_BOUND = 128 * MiB;
/** How long slowloris sockets may take to be closed before the test gives up on them. */
/** Long enough for a loaded machine, far below the 120 s node's defaults hold a stalled socket. */
const SLOWLORIS_WAIT_MS = 15_000;
/** Slack on top of the timeout: 2,000 timers on two busy cores (3.3 s seen at load 8). */
const SLOWLORIS_SLACK_MS = 8_000;
const attackers = await Promise.all(
  Array.from({ length: 4 }, (_, i) => pki.nodeCredentials(`attacker-${i}`)),
);
const attacker = (i: number) => ({ node: `attacker-${i}`, credentials: attackers[i]! });
const encoder = new TextEncoder();

function query(content: unknown = null): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/x",
    content,
  });
}

/** Resolves with `promise`'s value, or `fallback` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => timer = setTimeout(() => resolve(fallback), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function elapsedSince(start: number): number {
  return Math.round(performance.now() - start);
}

Deno.test("an oversize frame is closed with 1009 and reaches no handler; one at the limit passes", async () => {
  const report = await underAttack({}, async (a) => {
    const { node, credentials } = attacker(0);
    const raw = await openRawWebSocket(a.port, credentials, node);
    try {
      // A valid message padded to exactly the limit is delivered...
      const empty = encode(query("")).length;
      const atLimit = query("a".repeat(TEST_MAX_MESSAGE_BYTES - empty));
      await raw.write(clientFrame(OPCODE_TEXT, encoder.encode(encode(atLimit))));
      await waitFor(() => a.delivered.length === 1, 5_000, "the message at the limit");
      // ...and one byte more closes the session before its payload is read.
      await raw.write(clientFrame(OPCODE_TEXT, new Uint8Array(TEST_MAX_MESSAGE_BYTES + 1).fill(0x20)));
      assert.equal(await within(raw.closed, 3_000, 0), 1009);
      assert.equal(a.delivered.length, 1);
      assert.equal(a.delivered[0]?.header.msg_id, atLimit.header.msg_id);
      assert.equal(a.rejected("too_large"), 1);
    } finally {
      raw.destroy();
    }
  });
  assertWithstood("oversize frame", report, RSS_BOUND);
});

Deno.test("10,000 continuation frames without FIN are closed with 1009 once the message passes the limit", async () => {
  const FRAMES = 10_000;
  const FRAME_BYTES = 100;
  const PER_WRITE = 50;
  let written = 0;
  const report = await underAttack({}, async (a) => {
    const { node, credentials } = attacker(0);
    const raw = await openRawWebSocket(a.port, credentials, node);
    let code = 0;
    void raw.closed.then((c) => code = c);
    const payload = new Uint8Array(FRAME_BYTES).fill(0x20);
    try {
      while (written < FRAMES && code === 0) {
        const frames = Array.from(
          { length: PER_WRITE },
          (_, i) =>
            clientFrame(written + i === 0 ? OPCODE_TEXT : OPCODE_CONTINUATION, payload, { fin: false }),
        );
        const ok = await raw.write(Buffer.concat(frames)).then(() => true, () => false);
        if (!ok) break;
        written += PER_WRITE;
        // Let the hub read what was written, as a network between them would.
        await delay(0);
      }
      assert.equal(await within(raw.closed, 3_000, 0), 1009, `no close after ${written} frames`);
      assert.ok(written < FRAMES, `all ${FRAMES} frames were written before the close`);
      assert.equal(a.rejected("too_large"), 1);
      assert.equal(a.delivered.length, 0);
    } finally {
      raw.destroy();
    }
  });
  console.log(
    `continuation frames: closed after ${written} frames written (${written * FRAME_BYTES} bytes; ` +
      `the limit is ${Math.ceil(TEST_MAX_MESSAGE_BYTES / FRAME_BYTES)} frames)`,
  );
  assertWithstood("continuation frames", report, RSS_BOUND);
});

Deno.test("a length header that lies is closed without allocating what it claims", async () => {
  let stalledMs = 0;
  const report = await underAttack({}, async (a) => {
    const sockets: RawSocket[] = [];
    try {
      const [huge, big, stalled] = await Promise.all(
        [0, 1, 2].map((i) => openRawWebSocket(a.port, attacker(i).credentials, attacker(i).node)),
      );
      sockets.push(huge!, big!, stalled!);
      // Claims 32 KiB (under the limit), sends 10 bytes and stops: ws waits for the rest, so the session
      // must end by the keepalive timeout (an unfinished frame is not a sign of life).
      const stalledAt = performance.now();
      await stalled!.write(clientFrame(OPCODE_TEXT, new Uint8Array(10), { announcedLength: 32_768n }));
      const stalledClosed = stalled!.closed.then(() => stalledMs = elapsedSince(stalledAt));
      // Claims 2^62 bytes: ws refuses any length over 2^53 - 1 before it looks at maxPayload.
      await huge!.write(clientFrame(OPCODE_TEXT, new Uint8Array(16), { announcedLength: 2n ** 62n }));
      // Claims 16 MiB (over the limit, under ws's own default of 100 MiB), sends 1 KiB.
      await big!.write(
        clientFrame(OPCODE_TEXT, new Uint8Array(1024), { announcedLength: 16n * 1024n ** 2n }),
      );
      assert.equal(await within(huge!.closed, 3_000, 0), 1009);
      assert.equal(await within(big!.closed, 3_000, 0), 1009);
      await within(stalledClosed, TEST_HUB_OPTIONS.keepaliveTimeoutMs + 2_000, undefined);
      assert.ok(stalledMs > 0, "the stalled frame's session is still open");
      assert.ok(stalledMs <= TEST_HUB_OPTIONS.keepaliveTimeoutMs + 1_000, `closed after ${stalledMs} ms`);
      assert.equal(a.rejected("too_large"), 1);
      assert.equal(a.delivered.length, 0);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
  console.log(`lying length: the stalled 32 KiB frame was dropped after ${stalledMs} ms`);
  assertWithstood("lying length", report, RSS_BOUND);
});

Deno.test("invalid UTF-8 is refused: a text frame closes with 1007, a binary frame is counted and dropped", async () => {
  const report = await underAttack({}, async (a) => {
    const { node, credentials } = attacker(0);
    const raw = await openRawWebSocket(a.port, credentials, node);
    try {
      const valid = encoder.encode(encode(query("PLACEHOLDER")));
      const at = valid.indexOf(0x50); // the P of the placeholder
      const invalid = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]].map((bad) => {
        const frame = new Uint8Array(valid.length - "PLACEHOLDER".length + bad.length);
        frame.set(valid.subarray(0, at));
        frame.set(bad, at);
        frame.set(valid.subarray(at + "PLACEHOLDER".length), at + bad.length);
        return frame;
      });
      // Binary frames reach the decoder, which refuses them and keeps the session.
      for (const frame of invalid) await raw.write(clientFrame(OPCODE_BINARY, frame));
      await waitFor(() => a.rejected("invalid_utf8") === invalid.length, 3_000, "the binary frames refused");
      const ping = newMessage({
        source: "edgehub",
        group: "resource",
        operation: "ping",
        resource: "",
        content: "",
      });
      await raw.write(clientFrame(OPCODE_TEXT, encoder.encode(encode(ping))));
      await waitFor(() => raw.texts.some((t) => t.includes(ping.header.msg_id)), 3_000, "the ping's ack");
      // A text frame is refused by ws itself, with the session.
      await raw.write(clientFrame(OPCODE_TEXT, invalid[0]!));
      assert.equal(await within(raw.closed, 3_000, 0), 1007);
      assert.equal(a.delivered.length, 0);
    } finally {
      raw.destroy();
    }
  });
  assertWithstood("invalid UTF-8", report, RSS_BOUND);
});

Deno.test("10,000-deep JSON is refused as too_deep, as a message or as content; a 1M-element array as too large", async () => {
  const report = await underAttack({}, async (a) => {
    const { node, credentials } = attacker(0);
    const edge = await connectRawEdge({ port: a.port, credentials, nodeId: node });
    try {
      const DEPTH = 10_000;
      const arrays = "[".repeat(DEPTH) + "]".repeat(DEPTH);
      const objects = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);
      const asContent = (deep: string) => encode(query("DEEP")).replace('"DEEP"', deep);
      const frames = [arrays, objects, asContent(arrays), asContent(objects)];
      for (const frame of frames) {
        assert.ok(frame.length <= TEST_MAX_MESSAGE_BYTES, `${frame.length} bytes`);
        edge.ws.send(frame);
      }
      await waitFor(() => a.rejected("too_deep") === frames.length, 5_000, "the deep frames refused");
      const fine = query({ depth: [[[1]]] });
      edge.send(fine);
      await waitFor(() => a.delivered.length === 1, 3_000, "the message after them");
      assert.equal(a.delivered[0]?.header.msg_id, fine.header.msg_id);
      // 1M elements take 2 MB, far over this hub's 64 KiB: refused by size, with the session.
      edge.ws.send("[" + "0,".repeat(999_999) + "0]");
      assert.equal((await within(edge.closed, 3_000, { code: 0, reason: "" })).code, 1009);
      assert.equal(a.rejected("too_large"), 1);
      assert.equal(a.delivered.length, 1);
    } finally {
      await edge.close();
    }
  });
  assertWithstood("deep JSON", report, RSS_BOUND);
});

Deno.test("a 1M-element array under the default 8 MiB limit: refused as a message, left to the handler as content", async () => {
  const ROUNDS = 3;
  let handled = 0;
  const report = await underAttack({ maxMessageBytes: 8 * MiB }, async (a) => {
    const { node, credentials } = attacker(0);
    const edge = await connectRawEdge({ port: a.port, credentials, nodeId: node });
    try {
      const array = "[" + "0,".repeat(999_999) + "0]";
      const withContent = encode(query("ARRAY")).replace('"ARRAY"', array);
      for (let i = 0; i < ROUNDS; i++) {
        edge.ws.send(array);
        edge.ws.send(withContent);
      }
      await waitFor(
        () => a.rejected("invalid_shape") === ROUNDS && a.delivered.length === ROUNDS,
        10_000,
        "every array frame handled",
      );
      // The envelope does not type `content`: each handler validates what it expects, within the frame limit.
      // RSS: each 2 MB frame is a Buffer, a string and an 8 MB array, and `delivered` keeps the arrays.
      handled = (a.delivered[0]?.content as unknown[]).length;
      assert.equal(handled, 1_000_000);
      assert.equal(edge.ws.readyState, edge.ws.OPEN);
    } finally {
      await edge.close();
    }
  });
  console.log(
    `1M-element array: ${ROUNDS} refused as messages, ${ROUNDS} of ${handled} elements handed over as content`,
  );
  assertWithstood("1M-element array at 8 MiB", report, LARGE_FRAMES_RSS_BOUND);
});

Deno.test("null or a wrong type in any envelope field is refused, counted and answered; only valid envelopes reach onMessage", async () => {
  const cases = envelopeCases();
  const report = await underAttack({}, async (a) => {
    const { node, credentials } = attacker(0);
    const edge = await connectRawEdge({ port: a.port, credentials, nodeId: node });
    try {
      for (const c of cases) edge.ws.send(JSON.stringify(c.frame));
      // `content` has no type at the envelope (absent means null): any JSON value is the handler's to check.
      const contents = [null, 5, "x", [], {}, true];
      const valid = contents.map((content) => query(content));
      for (const message of valid) edge.send(message);
      await waitFor(() => a.delivered.length === valid.length, 5_000, "the valid messages after the invalid");
      assert.equal(a.rejected("invalid_shape"), cases.length);
      assert.deepEqual(a.delivered.map((m) => m.header.msg_id), valid.map((m) => m.header.msg_id));
      assert.deepEqual(a.delivered.map((m) => m.content), contents);
      for (const c of cases.filter((c) => c.msgId !== undefined)) {
        const reply = await edge.next((m) => m.header.parent_msg_id === c.msgId, 3_000);
        assert.equal(reply.route.operation, "error", `${c.field}: ${JSON.stringify(c.frame)}`);
      }
      assert.equal(edge.ws.readyState, edge.ws.OPEN);
    } finally {
      await edge.close();
    }
  });
  console.log(`envelope fields: ${cases.length} invalid frames refused`);
  assertWithstood("envelope fields", report, RSS_BOUND);
});

function assertSlowlorisRepelled(what: string, f: SlowlorisFigures): void {
  const timeout = TEST_HUB_OPTIONS.handshakeTimeoutMs;
  console.log(
    `${what}: ${f.stalled.sockets} stalled handshakes, the last closed after ${f.stalled.maxMs} ms; ` +
      `${f.trickling.sockets} trickling headers, the last closed after ${f.trickling.maxMs} ms; ` +
      `honest connect ${f.honestConnectMs.join(", ")} ms (p99 ${percentile(f.honestConnectMs, 0.99)} ms)`,
  );
  assert.equal(f.stalled.stillOpen, 0, `${f.stalled.stillOpen} stalled handshakes still open`);
  assert.equal(f.trickling.stillOpen, 0, `${f.trickling.stillOpen} trickling requests still open`);
  // TLS: the handshake timeout, plus slack for 2,000 timers on 2 busy cores.
  assert.ok(
    f.stalled.maxMs <= timeout + SLOWLORIS_SLACK_MS,
    `a stalled handshake lived ${f.stalled.maxMs} ms`,
  );
  // Headers: the headers timeout, checked once a second, plus the same slack.
  assert.ok(
    f.trickling.maxMs <= 2 * timeout + SLOWLORIS_SLACK_MS,
    `a trickling request lived ${f.trickling.maxMs} ms`,
  );
  assert.ok(Math.max(...f.honestConnectMs) < 2_000, `honest connects took ${f.honestConnectMs} ms`);
}

Deno.test("slowloris on the hub's port: every stalled socket is closed by the handshake timeout", async () => {
  const count = await slowlorisCount(2_000, openFds());
  const late = await pki.nodeCredentials("late-edge");
  let figures: SlowlorisFigures | undefined;
  const report = await underAttack({}, async (a) => {
    const { node, credentials } = attacker(0);
    figures = await runSlowloris({
      port: a.port,
      stalled: count,
      // With a valid certificate: past TLS, the headers timeout is what ends these.
      trickling: { count: 100, credentials, path: `/p/${node}/events` },
      timeoutMs: SLOWLORIS_WAIT_MS,
      honestConnect: async () => {
        const edge = await connectRawEdge({ port: a.port, credentials: late, nodeId: "late-edge" });
        await edge.close();
      },
    });
  });
  assertSlowlorisRepelled("hub slowloris", figures!);
  assertWithstood("hub slowloris", report, SLOWLORIS_RSS_BOUND);
});

Deno.test("slowloris on cloudcore's HTTPS port: every stalled socket is closed by the handshake timeout", async () => {
  const count = await slowlorisCount(2_000, openFds());
  let figures: SlowlorisFigures | undefined;
  const report = await underAttack({}, async () => {
    const server = await startTestCertServer(pki, TEST_HUB_OPTIONS.handshakeTimeoutMs);
    try {
      figures = await runSlowloris({
        port: server.port,
        stalled: count,
        // No client certificate: this port serves the CA and join requests to anyone.
        trickling: { count: 100, path: "/ca.crt" },
        timeoutMs: SLOWLORIS_WAIT_MS,
        honestConnect: () => getCaCert(server.port, pki.caPem),
      });
    } finally {
      await server.close();
    }
  });
  assertSlowlorisRepelled("cert server slowloris", figures!);
  assertWithstood("cert server slowloris", report, SLOWLORIS_RSS_BOUND);
});
