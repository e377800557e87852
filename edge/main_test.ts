import assert from "node:assert/strict";
import { parse } from "yaml";
import { ConfigError, EX_CONFIG, EX_USAGE } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { freePort } from "../tests/cluster/processes.ts";
import { defaultEdgeCoreConfig } from "./config.ts";
import { main, run } from "./main.ts";

function io() {
  const out = { stdout: "", stderr: "" };
  return { out, io: { stdout: (t: string) => out.stdout += t, stderr: (t: string) => out.stderr += t } };
}

function captureLog() {
  const records: Record<string, unknown>[] = [];
  const log = createLogger({ component: "edgecore", write: (line) => records.push(JSON.parse(line)) });
  return { log, records };
}

Deno.test("edgecore --version, --help and --defaultconfig print to stdout and return 0", async () => {
  const a = io();
  assert.equal(await main(["--version"], a.io), 0);
  assert.equal(a.out.stdout, "edgecore 0.1.0\n");
  const b = io();
  assert.equal(await main(["-h"], b.io), 0);
  assert.match(b.out.stdout, /Usage: edgecore/);
  const c = io();
  assert.equal(await main(["--defaultconfig"], c.io), 0);
  assert.deepEqual(parse(c.out.stdout), defaultEdgeCoreConfig());
});

Deno.test("edgecore main returns 64 for an unknown command and 78 for a missing file", async () => {
  const a = io();
  assert.equal(await main(["frobnicate"], a.io), EX_USAGE);
  assert.match(a.out.stderr, /unknown command "frobnicate"/);
  const b = io();
  assert.equal(await main(["run", "--config", "/nonexistent/edgecore.yaml"], b.io), EX_CONFIG);
  assert.match(
    b.out.stderr,
    /Cannot load config \/nonexistent\/edgecore.yaml .*\n {2}cannot read the file: file not found/,
  );
});

Deno.test("edgecore run logs started with the node name and stopped on abort", async () => {
  const { log, records } = captureLog();
  const controller = new AbortController();
  const dir = await Deno.makeTempDir();
  try {
    const config = defaultEdgeCoreConfig();
    config.database.dataSource = `${dir}/edgecore.db`;
    config.modules.edged.staticPodPath = "";
    config.modules.edged.containerRuntimeEndpoint = `unix://${dir}/no-containerd.sock`;
    // Free ports, never the defaults (10350, 10550, 1883): an edgecore may run on this machine.
    config.modules.edgeStream.server = `127.0.0.1:${freePort()}`;
    config.modules.metaManager.metaServer.server = `127.0.0.1:${freePort()}`;
    config.modules.eventBus.mqttMode = 0;
    config.modules.eventBus.mqttServerInternal = `tcp://127.0.0.1:${freePort()}`;
    config.modules.eventBus.mqttServerExternal = `tcp://127.0.0.1:${freePort()}`;
    const running = run(config, {
      signal: controller.signal,
      log,
      configFile: "e.yaml",
      hostname: () => "Edge-Box",
    });
    await until(() => records.some((r) => r.msg === "edgecore started"));
    controller.abort("SIGINT");
    assert.equal(await running, 0);
    assert.equal(records[0]!.msg, "edgecore started");
    assert.equal(records[0]!.nodeName, "edge-box");
    assert.equal(records[0]!.configFile, "e.yaml");
    assert.equal(records.at(-1)!.msg, "edgecore stopped");
    assert.equal(records.at(-1)!.reason, "SIGINT");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edgecore run refuses a hostname that is no valid node name when hostnameOverride is unset", async () => {
  const { log, records } = captureLog();
  await assert.rejects(
    run(defaultEdgeCoreConfig(), {
      signal: AbortSignal.abort(),
      log,
      configFile: "e.yaml",
      hostname: () => "box_1",
    }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /hostnameOverride: not set, and the hostname "box_1"/.test(err.problems[0]!),
  );
  assert.deepEqual(records, []);
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
