// DMI end to end with a real mapper: KubeEdge's mapper-framework `_template` built from KubeEdge's source with
// a virtual-device driver (tests/mapper/build.sh) registers with a joined kedge edgecore over its DMI socket.
// `kubectl apply` of KubeEdge-shaped DeviceModel and Device manifests, then: RegisterDevice, reports into
// Device.status, desired values down, RemoveDevice, a mapper restart, an edgecore restart with the cloud
// away; and bad input (unknown device, 10 MB, not protobuf, a mapper socket that never answers).
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { parse } from "yaml";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { readLogLines } from "./harness/cores.ts";
import { joinEdge, metric, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor, runKubectl } from "./harness/kubectl.ts";
import { mapperBinary, startMapper } from "./mapper/mapper.ts";
import { dmiServicesForTests } from "./mapper/dmi_client.ts";

const NODE = "edge-dmi";
const bin = await mapperBinary();
if ("missing" in bin) console.log(`skipping the DMI mapper tests: ${bin.missing}`);

// KubeEdge's v1beta1 shapes, every section a KubeEdge sample uses (visitors on the model, protocol configData,
// pushMethod, stateReport, methods, a status block that a status subresource ignores).
const MODEL = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: virtual-thermometer, namespace: default}
spec:
  protocol: virtual
  protocolConfigData: {state: ok}
  properties:
  - name: temperature
    description: counts up by one per read
    type: INT
    accessMode: ReadOnly
    minimum: "-50"
    maximum: "1000000"
    unit: C
    visitors:
      protocolName: virtual
      configData: {dataType: int, key: temperature, initial: "20", step: 1}
  - name: target
    type: INT
    accessMode: ReadWrite
`;
const device = (desired: string) => `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: thermo, namespace: default, labels: {model: virtual-thermometer}}
spec:
  deviceModelRef: {name: virtual-thermometer}
  nodeName: ${NODE}
  protocol:
    protocolName: virtual
    configData: {serialPort: "1", baudRate: 115200, enabled: true}
  stateReport: {reportCycle: 300, reportToCloud: true}
  properties:
  - name: temperature
    collectCycle: 200
    reportCycle: 200
    reportToCloud: true
    pushMethod:
      mqtt: {address: "tcp://127.0.0.1:1", topic: temperature, qos: 0, retained: false}
  - name: target
    desired: {value: "${desired}", metadata: {type: int}}
    visitors:
      protocolName: virtual
      configData: {dataType: int, key: target, initial: "0"}
    collectCycle: 200
    reportCycle: 200
    reportToCloud: true
  methods:
  - {name: setTarget, description: writes the target, propertyNames: [target]}
status:
  twins:
  - propertyName: temperature
    reported: {value: "20", metadata: {timestamp: "1550049403598", type: int}}
`;

interface DeviceJson {
  metadata: { uid: string };
  status?: {
    state?: string;
    lastOnlineTime?: string;
    twins?: Array<{ propertyName: string; reported?: { value: string } }>;
  };
}

async function waitFor<T>(what: string, check: () => Promise<T | false | undefined>, timeoutMs: number) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test({
  name:
    "dmi: a real KubeEdge mapper registers, gets its devices, reports, takes desired values, survives restarts",
  ignore: "missing" in bin,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    if ("missing" in bin) return;
    await using cp = await startControlPlane();
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const get = async (): Promise<DeviceJson | undefined> => {
      const out = await runKubectl([
        "--kubeconfig",
        cp.kubeconfigPath,
        "get",
        "device",
        "thermo",
        "-o",
        "json",
      ]);
      return out.code === 0 ? JSON.parse(out.stdout) : undefined;
    };
    const reported = async (prop: string) =>
      (await get())?.status?.twins?.find((tw) => tw.propertyName === prop)?.reported?.value;

    const run = await createRunDir("dmi");
    const stops: Array<() => Promise<void>> = [];
    try {
      let cloud = await startCloud(run, cp);
      stops.push(() => cloud.stop());
      const joined = await joinEdge(run, cloud, NODE, (config) => {
        config.modules!.deviceTwin = { ...config.modules!.deviceTwin, dmiCallTimeoutMs: 1_000 };
      });
      const edgeConfig = parse(await Deno.readTextFile(joined.configFile));
      const dmiSock = join(edgeConfig.modules.deviceTwin.dmiSockPath, "dmi.sock");
      const edgeMetricsPort = Number(edgeConfig.modules.edgeStream.server.split(":")[1]);
      let edge = await startEdge(run, joined);
      stops.push(() => edge.stop());
      await edge.waitForLog("dmi socket listening");
      await edge.waitForLog("connected to cloudcore");
      const loaded = async () =>
        (await readLogLines(edge.logFile)).some((l) => l.msg === "dmi server loaded");
      assert.equal(await loaded(), false, "the gRPC server waits for a mapper");

      let mapper = await startMapper(run, bin.binary, {
        name: "virtual-mapper",
        protocol: "virtual",
        edgecoreSock: dmiSock,
      });
      stops.push(() => mapper.stop());
      await edge.waitForLog("dmi mapper registered");
      assert.equal(await loaded(), true);

      await t.step(
        "KubeEdge-shaped manifests apply unchanged; the apiserver still validates them",
        async () => {
          await kubectl(["apply", "-f", "-"], MODEL);
          const bad = await runKubectl(
            ["--kubeconfig", cp.kubeconfigPath, "apply", "-f", "-"],
            device("1").replace(
              `desired: {value: "1", metadata: {type: int}}`,
              "desired: {metadata: {type: int}}",
            ),
          );
          assert.notEqual(bad.code, 0);
          assert.match(bad.stderr, /desired\.value: Required value/);
        },
      );

      await t.step(
        "kubectl apply of a Device bound to the edge -> the mapper has it within 2 s",
        async () => {
          const started = Date.now();
          await kubectl(["apply", "-f", "-"], device("5"));
          // The mapper answers with the property's initial 0 until it has applied the desired value it was
          // given with the device; both must happen within the 2 s.
          const got = await waitFor(
            "RegisterDevice with its desired value",
            async () => {
              const value = await mapper.read("default", "thermo", "target");
              return value === "5" ? value : undefined;
            },
            2_000,
          );
          assert.equal(got.value, "5", "the desired value came with the device");
          console.log(`apply -> device on the mapper: ${Date.now() - started} ms`);
          assert.match(await mapper.log(), /virtual device set key=target value=5/);
        },
      );

      await t.step(
        "the mapper's reports are Device.status (twins, state, lastOnlineTime) within 2 s",
        async () => {
          const started = Date.now();
          await waitFor(
            "reported temperature",
            async () => Number(await reported("temperature")) > 20 || false,
            2_000,
          );
          console.log(`mapper report -> Device.status: ${Date.now() - started} ms`);
          const { value: status } = await waitFor(
            "state and lastOnlineTime",
            async () => {
              const status = (await get())?.status;
              return status?.state === "ok" && status.lastOnlineTime ? status : false;
            },
            Math.max(0, 2_000 - (Date.now() - started)),
          );
          assert.ok(Date.parse(status.lastOnlineTime!) > Date.now() - 60_000);
          await waitFor("reported target", async () => (await reported("target")) === "5", 2_000);
        },
      );

      await t.step("a desired value patched with kubectl reaches the mapper within 2 s", async () => {
        const started = Date.now();
        await kubectl([
          "patch",
          "device",
          "thermo",
          "--type=json",
          "-p",
          `[{"op":"replace","path":"/spec/properties/1/desired/value","value":"42"}]`,
        ]);
        await waitFor(
          "desired 42 on the mapper",
          async () => (await mapper.read("default", "thermo", "target")) === "42",
          2_000,
        );
        console.log(`desired patch -> mapper: ${Date.now() - started} ms`);
        await waitFor("reported 42", async () => (await reported("target")) === "42", 3_000);
      });

      await t.step("a mapper killed and restarted registers again and gets the device back", async () => {
        const httpPort = mapper.httpPort;
        Deno.kill(mapper.pid, "SIGKILL");
        await mapper.status;
        const started = Date.now();
        mapper = await startMapper(run, bin.binary, {
          name: "virtual-mapper-2",
          protocol: "virtual",
          edgecoreSock: dmiSock,
          httpPort,
        });
        const got = await waitFor(
          "device back on the mapper",
          () => mapper.read("default", "thermo", "target"),
          5_000,
        );
        assert.equal(got.value, "42");
        console.log(`mapper restart -> device back: ${Date.now() - started} ms`);
        const before = Number(await reported("temperature"));
        await waitFor(
          "reports again",
          async () => Number(await reported("temperature")) !== before || false,
          3_000,
        );
      });

      await t.step("bad input: a clear error each, nothing stored, the mapper unaffected", async () => {
        const dmi = dmiServicesForTests(dmiSock);
        try {
          const unknown = await dmi.reportStatus({
            deviceName: "ghost",
            deviceNamespace: "default",
            reportedDevice: {
              twins: [{ propertyName: "temperature", reported: { value: "1", metadata: {} } }],
            },
          });
          assert.equal(unknown?.code, grpc.status.NOT_FOUND);
          assert.match(unknown!.details, /device default\/ghost is not a member of this node/);

          const big = await dmi.reportStatus({
            deviceName: "thermo",
            deviceNamespace: "default",
            reportedDevice: {
              twins: [{
                propertyName: "temperature",
                reported: { value: "9".repeat(10 * 1024 * 1024), metadata: {} },
              }],
            },
          });
          assert.equal(big?.code, grpc.status.RESOURCE_EXHAUSTED);

          // A ReportDeviceStatusRequest whose nested DeviceStatus is cut short: not protobuf.
          const garbage = await dmi.raw(
            "/v1beta1.DeviceManagerService/ReportDeviceStatus",
            Uint8Array.of(0x12, 0x03, 0x0a, 0x05, 0x01),
          );
          console.log(`not protobuf -> ${garbage?.code} ${garbage?.details}`);
          assert.equal(garbage?.code, grpc.status.INTERNAL);
          assert.match(garbage!.details, /deserializ/i);

          const badState = await dmi.reportStates({
            deviceName: "thermo",
            deviceNamespace: "default",
            state: "melting",
          });
          assert.equal(badState?.code, grpc.status.INVALID_ARGUMENT);

          // A mapper whose socket accepts and never answers, with a Device of its protocol.
          const silentDir = join(run.path, "silent");
          await Deno.mkdir(silentDir, { recursive: true });
          const silentSock = join(silentDir, "silent.sock");
          const held: net.Socket[] = [];
          const silent = net.createServer((s) => void held.push(s));
          await new Promise<void>((r) => silent.listen(silentSock, r));
          stops.push(() =>
            new Promise<void>((r) => {
              for (const s of held) s.destroy();
              silent.close(() => r());
            })
          );
          const reg = await dmi.register({
            withData: true,
            mapper: {
              name: "silent",
              protocol: "silent",
              address: new TextEncoder().encode(silentSock),
              state: "ok",
            },
          });
          assert.equal(reg, undefined);
          await kubectl(
            ["apply", "-f", "-"],
            device("42").replace("name: thermo,", "name: mute,").replace(
              "protocolName: virtual\n    configData: {serial",
              "protocolName: silent\n    configData: {serial",
            ),
          );
          await edge.waitForLog("dmi call failed", 10_000);
          const failed = (await Deno.readTextFile(edge.logFile)).split("\n").find((l) =>
            l.includes("dmi call failed")
          )!;
          assert.match(failed, /did not answer within 1000 ms/);

          // The real mapper goes on meanwhile: a desired value still reaches it, reports still land.
          await kubectl([
            "patch",
            "device",
            "thermo",
            "--type=json",
            "-p",
            `[{"op":"replace","path":"/spec/properties/1/desired/value","value":"43"}]`,
          ]);
          await waitFor(
            "desired 43",
            async () => (await mapper.read("default", "thermo", "target")) === "43",
            2_000,
          );
          await waitFor("reported 43", async () => (await reported("target")) === "43", 3_000);
          const ghost = await runKubectl(["--kubeconfig", cp.kubeconfigPath, "get", "device", "ghost"]);
          assert.notEqual(ghost.code, 0);
          assert.ok(!(await get())!.status!.twins!.some((tw) => (tw.reported?.value ?? "").length > 100));
          await kubectl(["delete", "device", "mute"]);
        } finally {
          dmi.close();
        }
      });

      await t.step("Device deleted -> RemoveDevice on the mapper", async () => {
        const started = Date.now();
        await kubectl(["delete", "device", "thermo"]);
        await waitFor(
          "device gone from the mapper",
          async () => (await mapper.read("default", "thermo", "target")) === undefined,
          2_000,
        );
        console.log(`delete -> RemoveDevice: ${Date.now() - started} ms`);
        await kubectl(["apply", "-f", "-"], device("7"));
        await waitFor(
          "device back",
          async () => (await mapper.read("default", "thermo", "target")) === "7",
          2_000,
        );
      });

      await t.step("edgecore restarted with the cloud away: the mapper is still served", async () => {
        await cloud.stop();
        await edge.stop();
        edge = await startEdge(run, joined, `${NODE}-restarted`);
        await edge.waitForLog("dmi socket listening");
        const ok = async () =>
          (await metric(
            edgeMetricsPort,
            'kedge_edge_dmi_requests_total{method="ReportDeviceStatus",result="ok"}',
          ).catch(() => undefined)) ?? 0;
        await waitFor("reports served after the restart", async () => (await ok()) > 3 || false, 5_000);
        const registered = await metric(
          edgeMetricsPort,
          'kedge_edge_dmi_mapper_calls_total{method="RegisterDevice",result="ok"}',
        );
        assert.ok((registered ?? 0) >= 1, "edgecore gave the remembered mapper its device again");
        assert.equal(await mapper.read("default", "thermo", "target"), "7");
        cloud = await startCloud(run, cp, { name: "cloudcore-back", ports: cloud.ports });
        const before = Number(await reported("temperature"));
        await waitFor(
          "reports reach the cloud again",
          async () => Number(await reported("temperature")) !== before || false,
          15_000,
        );
      });
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await run.remove();
    }
  },
});
