import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { freePort } from "../../tests/cluster/processes.ts";
import { connectExternal } from "./external.ts";

interface Line {
  readonly at: number;
  readonly record: Record<string, unknown>;
}

function captureLog() {
  const lines: Line[] = [];
  const log = createLogger({
    level: "debug",
    component: "edgecore",
    write: (line) => lines.push({ at: Date.now(), record: JSON.parse(line) }),
  });
  return { log, lines };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RECONNECT = { initialMs: 100, capMs: 800 };

Deno.test("the external broker link backs off against a closed port: one warning per attempt, delays doubling to the cap", async () => {
  const { log, lines } = captureLog();
  const url = `tcp://127.0.0.1:${freePort()}`;
  const started = Date.now();
  const link = await connectExternal({
    url,
    clientId: "edgecore-backoff",
    qos: 0,
    maxPacketBytes: 1024,
    connectWaitMs: 0,
    reconnect: RECONNECT,
    log,
  });
  try {
    await pause(4000 - (Date.now() - started));
  } finally {
    await link.close();
  }
  const closedAt = Date.now();
  await pause(300);
  assert.equal(lines.filter((l) => l.at > closedAt).length, 0, "nothing is logged after close");
  const warnings = lines.filter((l) => l.record.level === "warn");
  assert.deepEqual(lines.filter((l) => l.record.level !== "warn"), [], "failed attempts log warnings only");
  assert.ok(
    warnings.every((l) => l.record.msg === "mqtt external broker unreachable, retrying"),
    JSON.stringify(warnings.map((l) => l.record.msg)),
  );
  // One line per attempt, numbered.
  assert.deepEqual(warnings.map((l) => l.record.attempt), warnings.map((_, i) => i + 1));
  assert.ok(warnings.every((l) => l.record.url === url && l.record.error !== undefined));
  // Delays between half the ceiling and the ceiling, the ceiling doubling from 100 ms to 800 ms.
  const delays = warnings.map((l) => Number(l.record.retryInMs));
  delays.forEach((delay, i) => {
    const ceiling = Math.min(RECONNECT.capMs, RECONNECT.initialMs * 2 ** i);
    assert.ok(
      delay >= ceiling / 2 && delay < ceiling,
      `attempt ${i + 1} waits ${delay} ms (ceiling ${ceiling})`,
    );
  });
  // And the attempts really waited that long: no line comes sooner than the delay the previous one announced.
  for (let i = 1; i < warnings.length; i++) {
    const gap = warnings[i]!.at - warnings[i - 1]!.at;
    assert.ok(
      gap >= delays[i - 1]! - 20,
      `attempt ${i + 1} came ${gap} ms after the one announcing ${delays[i - 1]} ms`,
    );
  }
  // 4 s against ceilings 100, 200, 400, 800, 800...: from 6 to 14 attempts; a fixed period of 1 s gives 4 and
  // of 100 ms gives 40.
  assert.ok(warnings.length >= 6 && warnings.length <= 14, `${warnings.length} warnings in 4 s`);
});
