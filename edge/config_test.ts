import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors.ts";
import { toYaml } from "../lib/config/mod.ts";
import {
  DEFAULT_PROJECT_ID,
  defaultEdgeCoreConfig,
  type EdgeCoreConfig,
  isValidNodeName,
  nodeNameOf,
  parseEdgeCoreConfig,
} from "./config.ts";

function problemsOf(text: string): readonly string[] {
  try {
    parseEdgeCoreConfig(text, "edgecore.yaml");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("edgecore defaults match KubeEdge's", () => {
  const c = defaultEdgeCoreConfig();
  assert.equal(c.kind, "EdgeCore");
  assert.equal(c.database.dataSource, "/var/lib/kubeedge/edgecore.db");
  const { edged, edgeHub, eventBus, metaManager, deviceTwin } = c.modules;
  assert.equal(edged.containerRuntimeEndpoint, "unix:///run/containerd/containerd.sock");
  assert.equal(edged.cgroupDriver, "systemd");
  assert.deepEqual([edged.nodeStatusUpdateFrequency, edged.nodeLeaseDurationSeconds], [10, 40]);
  assert.equal(edgeHub.heartbeat, 15);
  assert.equal(edgeHub.projectID, DEFAULT_PROJECT_ID);
  assert.equal(edgeHub.tlsCaFile, "/etc/kubeedge/ca/rootCA.crt");
  assert.equal(edgeHub.rotateCertificates, true);
  assert.equal(edgeHub.maxMessageBytes, 8 * 1024 * 1024);
  assert.deepEqual(eventBus, {
    mqttMode: 2,
    mqttServerInternal: "tcp://127.0.0.1:1884",
    mqttServerExternal: "tcp://127.0.0.1:1883",
    mqttQOS: 0,
  });
  assert.deepEqual(metaManager.metaServer, { enable: true, server: "127.0.0.1:10550" });
  assert.equal(deviceTwin.enable, true);
  assert.equal(
    deviceTwin.dmiSockPath,
    "/etc/kubeedge",
    "KubeEdge's DMISockPath default (constants.KubeEdgePath)",
  );
  // KubeEdge's ServiceBus keys and defaults (off, 127.0.0.1:9060, 60 s), then kedge's limits.
  assert.deepEqual(c.modules.serviceBus, {
    enable: false,
    server: "127.0.0.1",
    port: 9060,
    timeout: 60,
    tlsCertFile: "",
    tlsPrivateKeyFile: "",
    maxBodyBytes: 4 * 1024 * 1024,
    maxConcurrentCalls: 100,
  });
});

Deno.test("the default edgecore config printed as YAML parses back to the same config", () => {
  assert.deepEqual(parseEdgeCoreConfig(toYaml(defaultEdgeCoreConfig())), defaultEdgeCoreConfig());
});

Deno.test("a partial edgecore file merges over the defaults", () => {
  const config = parseEdgeCoreConfig(`modules:
  edgeHub:
    websocket: {server: "cloud.example.com:10000"}
    httpServer: https://cloud.example.com:10002
    token: abc.def.ghi.jkl
  edged:
    hostnameOverride: edge-1
    nodeLabels: {"node-role.kubernetes.io/edge": ""}
`);
  const expected: EdgeCoreConfig = defaultEdgeCoreConfig();
  expected.modules.edgeHub.websocket.server = "cloud.example.com:10000";
  expected.modules.edgeHub.httpServer = "https://cloud.example.com:10002";
  expected.modules.edgeHub.token = "abc.def.ghi.jkl";
  expected.modules.edged.hostnameOverride = "edge-1";
  expected.modules.edged.nodeLabels = { "node-role.kubernetes.io/edge": "" };
  assert.deepEqual(config, expected);
});

Deno.test("edgecore config problems are all reported", () => {
  const problems = problemsOf(`database: {dataSource: ""}
modules:
  edged: {cgroupDriver: cgroupv2, hostnameOverride: Edge_1}
  edgeHub:
    websocket: {server: "https://cloud:10000"}
    httpServer: cloud:10002
    rotateCertificates: "yes"
  eventBus: {mqttMode: 3, mqttQOS: 1, mqttServerExternal: "localhost:1883"}
  metaManager: {metaServer: {enable: true, server: 10550}}
  devicetwin: {enable: false}
`);
  assert.deepEqual(problems.map((p) => p.split(":")[0]), [
    "database.dataSource",
    "modules.edged.cgroupDriver",
    "modules.edged.hostnameOverride",
    "modules.edgeHub.websocket.server",
    "modules.edgeHub.httpServer",
    "modules.edgeHub.rotateCertificates",
    "modules.eventBus.mqttMode",
    "modules.eventBus.mqttServerExternal",
    "modules.metaManager.metaServer.server",
    "modules.devicetwin",
  ]);
  assert.ok(
    problems.includes('modules.devicetwin: unknown key, did you mean "deviceTwin"? (line 10, column 3)'),
  );
  assert.ok(
    problems.includes(
      'modules.edged.cgroupDriver: must be one of "systemd", "cgroupfs", got "cgroupv2" (line 3, column 25)',
    ),
  );
});

Deno.test("the node name is hostnameOverride, else the hostname lowercased", () => {
  const config = defaultEdgeCoreConfig();
  assert.equal(nodeNameOf(config, () => " Edge-Box.local "), "edge-box.local");
  config.modules.edged.hostnameOverride = "edge-7";
  assert.equal(nodeNameOf(config, () => "ignored"), "edge-7");
  assert.equal(isValidNodeName("edge-7"), true);
  assert.equal(isValidNodeName("edge_7"), false);
});

Deno.test("allowedUnsafeSysctls takes sysctl names and prefixes, nothing else", () => {
  const ok = parseEdgeCoreConfig(`modules: {edged: {allowedUnsafeSysctls: ["kernel.msgmax", "net.core.*"]}}`);
  assert.deepEqual(ok.modules.edged.allowedUnsafeSysctls, ["kernel.msgmax", "net.core.*"]);
  assert.deepEqual(defaultEdgeCoreConfig().modules.edged.allowedUnsafeSysctls, []);
  const problems = problemsOf(`modules: {edged: {allowedUnsafeSysctls: ["kernel.msgmax", "Bad Name", "*"]}}`);
  assert.deepEqual(problems.map((p) => p.split(":")[0]), [
    "modules.edged.allowedUnsafeSysctls[1]",
    "modules.edged.allowedUnsafeSysctls[2]",
  ]);
});
