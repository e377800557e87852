import assert from "node:assert/strict";
import { createLogger, type LoggerOptions, toLogValue } from "./log.ts";

const NOW = new Date("2025-01-02T03:04:05.678Z");

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({ now: () => NOW, write: (line) => lines.push(line), ...options });
  return { log, lines };
}

Deno.test("json logger writes one object per line: time, level, component, msg, then fields", () => {
  const { log, lines } = capture({ component: "cloudcore" });
  log.info("node connected", { node: "edge-1", count: 2 });
  assert.equal(
    lines[0],
    '{"time":"2025-01-02T03:04:05.678Z","level":"info","component":"cloudcore","msg":"node connected","node":"edge-1","count":2}',
  );
});

Deno.test("records below the level are dropped", () => {
  const { log, lines } = capture({ level: "warn" });
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ["c", "d"]);
});

Deno.test("child loggers add their fields; call-site fields win; reserved keys are not overwritten", () => {
  const { log, lines } = capture({ component: "edgecore" });
  log.child({ node: "n1", pod: "p" }).child({ component: "hub" }).info("sent", { pod: "q", msg: "sneaky" });
  const record = JSON.parse(lines[0]!);
  assert.equal(record.component, "hub");
  assert.equal(record.node, "n1");
  assert.equal(record.pod, "q");
  assert.equal(record.msg, "sent");
  assert.equal(record._msg, "sneaky");
});

Deno.test("errors are logged with name, message, code and cause chain", () => {
  const { log, lines } = capture();
  const inner = Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
  log.error("apiserver unreachable", {
    error: new TypeError("Cannot reach apiserver: fetch failed", { cause: inner }),
  });
  assert.deepEqual(JSON.parse(lines[0]!).error, {
    name: "TypeError",
    message: "Cannot reach apiserver: fetch failed",
    cause: { name: "Error", message: "connection refused", code: "ECONNREFUSED" },
  });
});

Deno.test("values JSON cannot carry are turned into plain data, cycles included", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.deepEqual(toLogValue({ big: 10n, map: new Map([["k", 1]]), set: new Set([1]), cyclic }), {
    big: "10",
    map: { k: 1 },
    set: [1],
    cyclic: { a: 1, self: "[circular]" },
  });
});

Deno.test("text format is one readable line with key=value fields", () => {
  const { log, lines } = capture({ format: "text", component: "edgecore" });
  log.warn("slow sync", { pod: "default/web", took: "1.5 s", n: 3 });
  assert.equal(
    lines[0],
    '2025-01-02T03:04:05.678Z WARN  [edgecore] slow sync pod=default/web took="1.5 s" n=3',
  );
});

Deno.test("the default sink is standard error, one line per record", async () => {
  const code = `import { createLogger } from "${new URL("./log.ts", import.meta.url).href}";
createLogger({ component: "t" }).info("hello", { a: 1 });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(new TextDecoder().decode(out.stdout), "");
  const record = JSON.parse(new TextDecoder().decode(out.stderr).trim());
  assert.equal(record.msg, "hello");
  assert.equal(record.a, 1);
});
