import assert from "node:assert/strict";
import { overrideLog } from "./overrides.ts";

Deno.test("log flags override the file's log section; absent flags keep it", () => {
  const config = { other: 1, log: { level: "info", format: "json" } } as const;
  assert.deepEqual(overrideLog(config, { logLevel: "debug" }), {
    other: 1,
    log: { level: "debug", format: "json" },
  });
  assert.deepEqual(overrideLog(config, { logFormat: "text", logLevel: undefined }), {
    other: 1,
    log: { level: "info", format: "text" },
  });
  assert.deepEqual(config.log, { level: "info", format: "json" });
});
