/**
 * The two entrypoints as a user meets them: bin/cloudcore and bin/edgecore (the same permission flags the
 * compiled binaries get), spawned as processes, checked on output and exit status.
 */

import assert from "node:assert/strict";
import { defaultCloudCoreConfig, parseCloudCoreConfig } from "../cloud/config.ts";
import { defaultEdgeCoreConfig, parseEdgeCoreConfig } from "../edge/config.ts";
import { freePort } from "./cluster/processes.ts";

const BIN = {
  cloudcore: new URL("../bin/cloudcore", import.meta.url).pathname,
  edgecore: new URL("../bin/edgecore", import.meta.url).pathname,
} as const;
type Binary = keyof typeof BIN;
const BINARIES: readonly Binary[] = ["cloudcore", "edgecore"];

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function exec(binary: Binary, args: string[]): Promise<Result> {
  const out = await new Deno.Command(BIN[binary], { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kedge-entrypoints-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Starts `binary`, waits for a stderr line matching `ready`, sends `signal`, and returns the exit code and all
 * stderr lines.
 */
async function runUntilSignal(
  binary: Binary,
  args: string[],
  ready: (line: string) => boolean,
  signal: Deno.Signal,
): Promise<{ code: number; lines: string[] }> {
  const child = new Deno.Command(BIN[binary], { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let signalled = false;
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
      if (!signalled && parts.some(ready)) {
        signalled = true;
        child.kill(signal);
      }
    }
    if (buffered !== "") lines.push(buffered);
    return { code: (await child.status).code, lines };
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

for (const binary of BINARIES) {
  Deno.test(`${binary} --version prints "${binary} 0.1.0"`, async () => {
    const result = await exec(binary, ["--version"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${binary} 0.1.0\n`);
  });

  Deno.test(`${binary} --help lists the run command and every flag`, async () => {
    const result = await exec(binary, ["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, new RegExp(`^Usage: ${binary} \\[command\\] \\[flags\\]`));
    assert.match(result.stdout, /\n {2}run +.*\(default\)\n/);
    for (
      const flag of ["--help", "--version", "--config FILE", "--defaultconfig", "--log-level", "--log-format"]
    ) {
      assert.ok(result.stdout.includes(flag), `help lacks ${flag}`);
    }
  });

  Deno.test(`${binary} rejects an unknown flag and an unknown command with exit 64`, async () => {
    const flag = await exec(binary, ["--frobnicate"]);
    assert.equal(flag.code, 64);
    assert.equal(flag.stdout, "");
    assert.match(flag.stderr, /unknown flag --frobnicate\nRun '.+ --help' for usage\./);
    const command = await exec(binary, ["frobnicate"]);
    assert.equal(command.code, 64);
    assert.match(command.stderr, /unknown command "frobnicate"/);
  });

  Deno.test(`${binary} exits 78 when the config file is missing`, async () => {
    await withTempDir(async (dir) => {
      const result = await exec(binary, ["--config", `${dir}/absent.yaml`]);
      assert.equal(result.code, 78);
      assert.match(result.stderr, /absent\.yaml.*\n {2}cannot read the file: file not found/);
    });
  });

  Deno.test(`${binary} exits 78 on bad YAML and says on which line`, async () => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/bad.yaml`, "log:\n  level: info\n  format: [json\nmodules: {}\n");
      const result = await exec(binary, ["--config", `${dir}/bad.yaml`]);
      assert.equal(result.code, 78);
      assert.match(result.stderr, /invalid YAML at line \d+, column \d+: /);
    });
  });
}

Deno.test("cloudcore --defaultconfig prints YAML that parses and validates to the defaults", async () => {
  const result = await exec("cloudcore", ["--defaultconfig"]);
  assert.equal(result.code, 0);
  assert.deepEqual(parseCloudCoreConfig(result.stdout), defaultCloudCoreConfig());
});

Deno.test("edgecore --defaultconfig prints YAML that parses and validates to the defaults", async () => {
  const result = await exec("edgecore", ["--defaultconfig"]);
  assert.equal(result.code, 0);
  assert.deepEqual(parseEdgeCoreConfig(result.stdout), defaultEdgeCoreConfig());
});

Deno.test("cloudcore prints all 3 problems of a bad file with their paths and exits 78", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/cloudcore.yaml`,
      "modules:\n  cloudHub:\n    nodeLimit: many\n    websocket:\n      port: 70000\n    nodeLimt: 5\n",
    );
    const result = await exec("cloudcore", ["--config", `${dir}/cloudcore.yaml`]);
    assert.equal(result.code, 78);
    assert.equal(result.stdout, "");
    const lines = result.stderr.trimEnd().split("\n");
    assert.match(lines[0]!, /cloudcore: Cannot load config .*cloudcore\.yaml \(3 problems\):/);
    assert.match(
      lines[1]!,
      /^ {2}modules\.cloudHub\.nodeLimit: must be a positive integer, got "many" \(line 3/,
    );
    assert.match(
      lines[2]!,
      /^ {2}modules\.cloudHub\.websocket\.port: must be an integer port from 1 to 65535, got 70000/,
    );
    assert.match(lines[3]!, /^ {2}modules\.cloudHub\.nodeLimt: unknown key, did you mean "nodeLimit"\?/);
  });
});

Deno.test("edgecore prints all 3 problems of a bad file with their paths and exits 78", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/edgecore.yaml`,
      "modules:\n  edgeHub: {heartbeat: soon}\n  metaManager: {metaServer: {server: '127.0.0.1:99999'}}\n  eventbus: {}\n",
    );
    const result = await exec("edgecore", ["--config", `${dir}/edgecore.yaml`]);
    assert.equal(result.code, 78);
    assert.match(result.stderr, /\(3 problems\)/);
    assert.match(result.stderr, /\n {2}modules\.edgeHub\.heartbeat: /);
    assert.match(result.stderr, /\n {2}modules\.metaManager\.metaServer\.server: /);
    assert.match(result.stderr, /\n {2}modules\.eventbus: unknown key, did you mean "eventBus"\?/);
  });
});

Deno.test("edgecore run logs 'edgecore started' as a JSON line and exits 0 on SIGTERM", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/edgecore.yaml`,
      `database: {dataSource: ${dir}/edgecore.db}\nmodules:\n  edged:\n    hostnameOverride: edge-test-1\n` +
        `    staticPodPath: ""\n    containerRuntimeEndpoint: unix://${dir}/none.sock\n` +
        // Free ports, never the defaults (10350, 10550, 1883, 1884): an edgecore may run on this machine.
        `  edgeStream: {server: "127.0.0.1:${freePort()}"}\n` +
        `  metaManager: {metaServer: {server: "127.0.0.1:${freePort()}"}}\n` +
        `  deviceTwin: {dmiSockPath: ${dir}/dmi}\n` +
        `  eventBus: {mqttMode: 0, mqttServerInternal: "tcp://127.0.0.1:${freePort()}", ` +
        `mqttServerExternal: "tcp://127.0.0.1:${freePort()}"}\n`,
    );
    const { code, lines } = await runUntilSignal(
      "edgecore",
      ["run", "--config", `${dir}/edgecore.yaml`],
      (line) => line.includes('"edgecore started"'),
      "SIGTERM",
    );
    assert.equal(code, 0);
    const records = lines.map((line) => JSON.parse(line));
    assert.equal(records[0].msg, "edgecore started");
    assert.equal(records[0].level, "info");
    assert.equal(records[0].component, "edgecore");
    assert.equal(records[0].nodeName, "edge-test-1");
    assert.equal(records[0].configFile, `${dir}/edgecore.yaml`);
    assert.equal(records.at(-1).msg, "edgecore stopped");
    assert.equal(records.at(-1).reason, "SIGTERM");
  });
});

Deno.test("cloudcore takes --log-format over the file and exits 69 when the apiserver is unreachable", async () => {
  await withTempDir(async (dir) => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await Deno.writeTextFile(
      `${dir}/kubeconfig`,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]\n` +
        `users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    await Deno.writeTextFile(
      `${dir}/cloudcore.yaml`,
      `log: {format: json, level: debug}\nkubeAPIConfig: {kubeConfig: ${dir}/kubeconfig}\n` +
        // Free ports, never the defaults (10000, 10002, 9091), should cloudcore ever listen before it fails.
        `modules: {cloudHub: {websocket: {address: 127.0.0.1, port: ${freePort()}}, ` +
        `https: {address: 127.0.0.1, port: ${freePort()}}}}\n` +
        `metrics: {address: 127.0.0.1, port: ${freePort()}}\n`,
    );
    const out = await new Deno.Command(BIN.cloudcore, {
      args: ["--config", `${dir}/cloudcore.yaml`, "--log-format", "text"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    assert.equal(out.code, 69);
    assert.match(lines[0]!, /^\S+ INFO {2}\[cloudcore\] cloudcore started version=0\.1\.0 /);
    assert.match(lines.at(-1)!, /^\S+ ERROR \[cloudcore\] apiserver unreachable /);
  });
});
