import assert from "node:assert/strict";
import { decodeAny, encodeAny } from "./any.ts";
import { toPbDevice, toPbDeviceModel } from "./convert.ts";

Deno.test("configData values pack as KubeEdge packs them: string, float32, bool; others are refused", () => {
  assert.equal(encodeAny("x").typeUrl, "type.googleapis.com/google.protobuf.StringValue");
  assert.deepEqual([...encodeAny("hi").value], [0x0a, 2, 0x68, 0x69]);
  assert.equal(decodeAny(encodeAny("hi")), "hi");
  assert.equal(encodeAny(115200).typeUrl, "type.googleapis.com/google.protobuf.FloatValue");
  assert.equal(decodeAny(encodeAny(115200)), 115200);
  assert.equal(decodeAny(encodeAny(0.5)), 0.5);
  assert.equal(decodeAny(encodeAny(true)), true);
  assert.equal(decodeAny(encodeAny(false)), false);
  assert.equal(decodeAny(encodeAny("")), "");
  assert.throws(() => encodeAny({ a: 1 }), /Cannot pack a object/);
  assert.throws(() => encodeAny(null), /Cannot pack a null/);
});

const model = {
  metadata: { name: "thermometer", namespace: "factory" },
  spec: {
    protocol: "virtual",
    protocolConfigData: { state: "ok", port: 1 },
    properties: [
      {
        name: "temperature",
        type: "INT",
        accessMode: "ReadOnly",
        unit: "C",
        visitors: { protocolName: "virtual", configData: { key: "t", step: 1 } },
      },
    ],
  },
};

Deno.test("a Device goes to the mapper with the model's visitors and protocol config under its own", () => {
  const device = {
    metadata: { name: "thermo", namespace: "factory" },
    spec: {
      deviceModelRef: { name: "thermometer" },
      protocol: { protocolName: "virtual", configData: { port: 2 } },
      stateReport: { reportCycle: 300, reportToCloud: true },
      properties: [
        {
          name: "temperature",
          collectCycle: 200,
          reportToCloud: true,
          visitors: { configData: { step: 2 } },
          pushMethod: {
            http: { hostName: "h", port: 80, requestPath: "/p", timeout: 5 },
            dbMethod: { TDEngine: { TDEngineClientConfig: { addr: "a", dbName: "d" } } },
          },
        },
        { name: "extra" },
      ],
      methods: [{ name: "m", propertyNames: ["temperature"] }],
    },
  };
  const pb = toPbDevice(device, model);
  assert.equal(pb.name, "thermo");
  assert.equal(pb.namespace, "factory");
  assert.equal(pb.spec.deviceModelReference, "thermometer");
  assert.equal(decodeAny(pb.spec.protocol.configData.data.port!), 2, "the device's value wins");
  assert.equal(decodeAny(pb.spec.protocol.configData.data.state!), "ok", "the model's value fills in");
  const [temperature, extra] = pb.spec.properties;
  assert.equal(temperature!.visitors.protocolName, "virtual");
  assert.equal(decodeAny(temperature!.visitors.configData.data.key!), "t");
  assert.equal(decodeAny(temperature!.visitors.configData.data.step!), 2);
  assert.deepEqual(temperature!.pushMethod, {
    http: { hostname: "h", port: 80, requestpath: "/p", timeout: 5 },
    dbMethod: { tdengine: { tdEngineClientConfig: { addr: "a", dbname: "d" } } },
  });
  assert.deepEqual(
    extra!.desired,
    { value: "", metadata: {} },
    "always there: the mapper-framework reads it",
  );
  assert.deepEqual(extra!.visitors, { protocolName: "", configData: { data: {} } });
  assert.deepEqual(pb.status, { twins: [], reportToCloud: true, reportCycle: 300 });
  assert.deepEqual(pb.spec.methods, [{ name: "m", description: "", propertyNames: ["temperature"] }]);
  assert.throws(
    () =>
      toPbDevice(
        { ...device, spec: { ...device.spec, protocol: { configData: { nested: { a: 1 } } } } },
        model,
      ),
    /Cannot convert device factory\/thermo protocol\.configData\.nested/,
  );
});

Deno.test("a DeviceModel goes with its properties as the proto has them", () => {
  assert.deepEqual(toPbDeviceModel(model), {
    name: "thermometer",
    namespace: "factory",
    spec: {
      properties: [{
        name: "temperature",
        description: "",
        type: "INT",
        accessMode: "ReadOnly",
        minimum: "",
        maximum: "",
        unit: "C",
      }],
      commands: [],
    },
  });
});
