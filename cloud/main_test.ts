import assert from "node:assert/strict";
import { parse } from "yaml";
import { ConfigError, EX_CONFIG, EX_UNAVAILABLE, EX_USAGE } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { freePort } from "../tests/cluster/processes.ts";
import { defaultCloudCoreConfig } from "./config.ts";
import { main, run } from "./main.ts";

function io() {
  const out = { stdout: "", stderr: "" };
  return { out, io: { stdout: (t: string) => out.stdout += t, stderr: (t: string) => out.stderr += t } };
}

function captureLog() {
  const records: Record<string, unknown>[] = [];
  const log = createLogger({ component: "cloudcore", write: (line) => records.push(JSON.parse(line)) });
  return { log, records };
}

function kubeconfig(server: string): string {
  return `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: test-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
}

Deno.test("cloudcore --version, --help and --defaultconfig print to stdout and return 0", async () => {
  const a = io();
  assert.equal(await main(["--version"], a.io), 0);
  assert.equal(a.out.stdout, "cloudcore 0.1.0\n");
  const b = io();
  assert.equal(await main(["--help"], b.io), 0);
  assert.match(b.out.stdout, /--defaultconfig/);
  const c = io();
  assert.equal(await main(["--defaultconfig"], c.io), 0);
  assert.deepEqual(parse(c.out.stdout), defaultCloudCoreConfig());
  assert.equal(a.out.stderr + b.out.stderr + c.out.stderr, "");
});

Deno.test("cloudcore main returns 64 for a usage error and 78 for a bad config", async () => {
  const a = io();
  assert.equal(await main(["--nope"], a.io), EX_USAGE);
  assert.match(a.out.stderr, /unknown flag --nope/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.yaml`, "metrics: {port: 0}\n");
    const b = io();
    assert.equal(await main(["--config", `${dir}/c.yaml`], b.io), EX_CONFIG);
    assert.match(b.out.stderr, /metrics\.port: must be an integer port from 1 to 65535, got 0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cloudcore run returns 69 and logs the error once when the apiserver is unreachable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = closed.addr.port;
    closed.close();
    await Deno.writeTextFile(`${dir}/kubeconfig`, kubeconfig(`http://127.0.0.1:${port}`));
    const config = defaultCloudCoreConfig();
    config.kubeAPIConfig.kubeConfig = `${dir}/kubeconfig`;
    // Free ports, never the defaults (10000, 10002, 9091), should run ever listen before it fails.
    config.modules.cloudHub.websocket = { address: "127.0.0.1", port: freePort() };
    config.modules.cloudHub.https = { address: "127.0.0.1", port: freePort() };
    config.metrics = { address: "127.0.0.1", port: freePort() };
    const { log, records } = captureLog();
    const code = await run(config, { signal: new AbortController().signal, log, configFile: "test.yaml" });
    assert.equal(code, EX_UNAVAILABLE);
    assert.deepEqual(records.map((r) => [r.level, r.msg]), [["info", "cloudcore started"], [
      "error",
      "apiserver unreachable",
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cloudcore run rejects a kubeconfig it cannot load, before it logs started, with a ConfigError naming the field", async () => {
  const config = defaultCloudCoreConfig();
  config.kubeAPIConfig.kubeConfig = "/nonexistent/kubeconfig";
  const { log, records } = captureLog();
  await assert.rejects(
    run(config, { signal: new AbortController().signal, log, configFile: "test.yaml" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.source, "test.yaml");
      assert.match(err.problems[0]!, /^kubeAPIConfig\.kubeConfig: cannot load \/nonexistent\/kubeconfig: /);
      return true;
    },
  );
  assert.deepEqual(records, []);
});
