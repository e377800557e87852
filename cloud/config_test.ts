import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors.ts";
import { toYaml } from "../lib/config/mod.ts";
import { type CloudCoreConfig, defaultCloudCoreConfig, parseCloudCoreConfig } from "./config.ts";

function problemsOf(text: string): readonly string[] {
  try {
    parseCloudCoreConfig(text, "cloudcore.yaml");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("cloudcore defaults match KubeEdge's ports and limits", () => {
  const c = defaultCloudCoreConfig();
  assert.equal(c.kind, "CloudCore");
  assert.equal(c.apiVersion, "cloudcore.config.kubeedge.io/v1alpha2");
  assert.equal(c.kubeAPIConfig.kubeConfig, "");
  const hub = c.modules.cloudHub;
  assert.deepEqual([
    hub.nodeLimit,
    hub.keepaliveInterval,
    hub.edgeCertSigningDuration,
    hub.tokenRefreshDuration,
  ], [
    500,
    30,
    365,
    12,
  ]);
  assert.equal(hub.maxMessageBytes, 8 * 1024 * 1024);
  assert.deepEqual(hub.websocket, { address: "0.0.0.0", port: 10000 });
  assert.deepEqual(hub.https, { address: "0.0.0.0", port: 10002 });
  assert.equal(c.modules.cloudStream.streamPort, 10003);
  assert.equal(c.modules.cloudStream.tunnelPort, 10004);
  assert.equal(c.modules.cloudStream.enable, false);
  // KubeEdge's Router keys and defaults (off, 0.0.0.0:9443, 60 s), then kedge's limits.
  assert.deepEqual(c.modules.router, {
    enable: false,
    address: "0.0.0.0",
    port: 9443,
    restTimeout: 60,
    maxBodyBytes: 4 * 1024 * 1024,
    maxPendingCalls: 1000,
  });
  assert.deepEqual(c.metrics, { address: "127.0.0.1", port: 9091 });
  assert.deepEqual(c.log, { level: "info", format: "json" });
});

Deno.test("the default config printed as YAML parses back to the same config", () => {
  assert.deepEqual(
    parseCloudCoreConfig(toYaml(defaultCloudCoreConfig(), "header")),
    defaultCloudCoreConfig(),
  );
});

Deno.test("a file with only modules.cloudHub.nodeLimit keeps every other default", () => {
  const config = parseCloudCoreConfig("modules:\n  cloudHub:\n    nodeLimit: 10\n");
  const expected: CloudCoreConfig = defaultCloudCoreConfig();
  expected.modules.cloudHub.nodeLimit = 10;
  assert.deepEqual(config, expected);
});

Deno.test("a KubeEdge-style cloudcore.yaml with our keys loads", () => {
  const config = parseCloudCoreConfig(`apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
kubeAPIConfig:
  kubeConfig: /root/.kube/config
  qps: 12.5
modules:
  cloudHub:
    advertiseAddress: [192.168.1.10, "fd00::1"]
    dnsNames: [cloud.example.com]
    https: {port: 443}
`);
  assert.equal(config.kubeAPIConfig.kubeConfig, "/root/.kube/config");
  assert.equal(config.kubeAPIConfig.qps, 12.5);
  assert.deepEqual(config.modules.cloudHub.advertiseAddress, ["192.168.1.10", "fd00::1"]);
  assert.deepEqual(config.modules.cloudHub.https, { address: "0.0.0.0", port: 443 });
});

Deno.test("cloudcore config problems are all reported: types, ranges, enums, unknown keys", () => {
  const problems = problemsOf(`kind: EdgeCore
kubeAPIConfig: {burst: 1.5}
modules:
  cloudHub:
    advertiseAddress: [10.0.0.1, cloud.example.com]
    nodeLimit: 0
    tokenRefreshDuration: 10000
    websocket: {port: 0, adress: 1.2.3.4}
  cloudStream: {streamPort: "10003"}
log: {format: yaml}
`);
  assert.deepEqual(problems.map((p) => p.split(":")[0]), [
    "kind",
    "kubeAPIConfig.burst",
    "modules.cloudHub.advertiseAddress[1]",
    "modules.cloudHub.nodeLimit",
    "modules.cloudHub.tokenRefreshDuration",
    "modules.cloudHub.websocket.port",
    "modules.cloudHub.websocket.adress",
    "modules.cloudStream.streamPort",
    "log.format",
  ]);
  assert.ok(
    problems.includes(
      'modules.cloudHub.websocket.adress: unknown key, did you mean "address"? (line 8, column 26)',
    ),
  );
});
