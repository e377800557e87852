import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { type RuleSnapshot, RuleStatusWriter } from "./rule_status.ts";

const log = createLogger({ level: "error", write: () => {} });

Deno.test("rule status counts are added to the cached status in one guarded merge patch; the latest error wins", async () => {
  let cached: RuleSnapshot = {
    resourceVersion: "5",
    status: { successMessages: 3, failMessages: 1, errors: ["old"] },
  };
  const bodies: Array<Record<string, unknown>> = [];
  let conflicts = 1;
  const writer = new RuleStatusWriter({
    current: () => cached,
    patch: (_key, body) => {
      bodies.push(body);
      if (conflicts-- > 0) return Promise.reject({ code: 409 });
      const written = { resourceVersion: "6", status: body.status as RuleSnapshot["status"] };
      return Promise.resolve(written);
    },
    isGone: () => false,
    isConflict: (e) => (e as { code?: number }).code === 409,
    log,
    intervalMs: 60_000,
  });
  try {
    writer.record("default/r", true);
    writer.record("default/r", false, "first");
    writer.record("default/r", false, "second");
    await writer.flush();
    assert.deepEqual(bodies[0], {
      metadata: { resourceVersion: "5" },
      status: { successMessages: 4, failMessages: 3, errors: ["second"] },
    });
    // The conflict kept the counts; meanwhile another replica counted 10 more successes.
    cached = { resourceVersion: "5", status: { successMessages: 13, failMessages: 1, errors: ["old"] } };
    writer.record("default/r", true);
    await writer.flush();
    assert.deepEqual(bodies[1], {
      metadata: { resourceVersion: "5" },
      status: { successMessages: 15, failMessages: 3, errors: ["second"] },
    });
    // The written copy (rv 6) is newer than the cache (rv 5): counted on top of it, not twice.
    writer.record("default/r", true);
    await writer.flush();
    assert.deepEqual((bodies[2]!.status as { successMessages: number }).successMessages, 16);
  } finally {
    await writer.stop();
  }
});
