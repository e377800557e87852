/**
 * Device and DeviceModel objects (devices.kubeedge.io/v1beta1 JSON, as the cloud sent them) into the DMI
 * messages a mapper gets, the way KubeEdge v1.23's edge builds them (dmicache.GetOverriddenDevice, then
 * dtcommon.ConvertDevice / ConvertDeviceModel):
 * - a model property's visitors are the default of the device property of that name; the device's own
 *   visitor configData keys override them; the model's protocolConfigData likewise under the device's
 *   protocol configData;
 * - configData values are packed as google.protobuf.Any (any.ts);
 * - pushMethod fields are matched to the proto's by name ignoring case, as Go's encoding/json does
 *   (`hostName` -> `hostname`, `TDEngine` -> `tdengine`);
 * - spec.stateReport, when set, is the status' reportCycle/reportToCloud.
 * Every device property carries `desired` and `visitors` (empty when the object has none): the
 * mapper-framework dereferences both without a nil check.
 */
import { encodeCustomizedValue } from "./any.ts";
import type { PbDevice, PbDeviceModel, PbDeviceProperty, PbTwin, PbTwinProperty } from "./types.ts";

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? v as Json : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0);
const bool = (v: unknown): boolean => v === true;
const strings = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v)).filter(([, x]) => typeof x === "string")) as Record<
    string,
    string
  >;

/** The proto message shapes of pushMethod: field name -> nested shape, or the scalar kind. */
type Shape = { [field: string]: Shape | "string" | "int" | "bool" | "strings" };
const PUSH_METHOD: Shape = {
  http: { hostname: "string", port: "int", requestpath: "string", timeout: "int" },
  mqtt: { address: "string", topic: "string", qos: "int", retained: "bool" },
  otel: { endpointURL: "string" },
  dbMethod: {
    influxdb2: {
      influxdb2ClientConfig: { url: "string", org: "string", bucket: "string" },
      influxdb2DataConfig: { measurement: "string", tag: "strings", fieldKey: "string" },
    },
    redis: { redisClientConfig: { addr: "string", db: "int", poolsize: "int", minIdleConns: "int" } },
    tdengine: { tdEngineClientConfig: { addr: "string", dbname: "string" } },
    mysql: { mysqlClientConfig: { addr: "string", database: "string", userName: "string" } },
  },
};

function byShape(value: unknown, shape: Shape): Json | undefined {
  const input = obj(value);
  const keys = new Map(Object.keys(input).map((k) => [k.toLowerCase(), k]));
  const out: Json = {};
  for (const [field, kind] of Object.entries(shape)) {
    const key = keys.get(field.toLowerCase());
    if (key === undefined) continue;
    const v = input[key];
    if (kind === "string") out[field] = str(v);
    else if (kind === "int") out[field] = num(v);
    else if (kind === "bool") out[field] = bool(v);
    else if (kind === "strings") out[field] = strings(v);
    else {
      const nested = byShape(v, kind);
      if (nested) out[field] = nested;
    }
  }
  return typeof value === "object" && value !== null ? out : undefined;
}

function twinProperty(v: unknown): PbTwinProperty {
  const o = obj(v);
  return { value: str(o.value), metadata: strings(o.metadata) };
}

export function toPbDeviceModel(model: unknown): PbDeviceModel {
  const m = obj(model);
  const meta = obj(m.metadata);
  return {
    name: str(meta.name),
    namespace: str(meta.namespace) || "default",
    spec: {
      properties: arr(obj(m.spec).properties).map((p) => {
        const o = obj(p);
        return {
          name: str(o.name),
          description: str(o.description),
          type: str(o.type),
          accessMode: str(o.accessMode),
          minimum: str(o.minimum),
          maximum: str(o.maximum),
          unit: str(o.unit),
        };
      }),
      commands: [],
    },
  };
}

/** The full Device as a mapper gets it. Throws RangeError for configData that cannot be packed. */
export function toPbDevice(device: unknown, model: unknown): PbDevice {
  const d = obj(device);
  const meta = obj(d.metadata);
  const spec = obj(d.spec);
  const modelSpec = obj(obj(model).spec);
  const name = str(meta.name);
  const where = `device ${str(meta.namespace) || "default"}/${name}`;
  const modelProps = new Map(arr(modelSpec.properties).map((p) => [str(obj(p).name), obj(p)]));
  const protocol = obj(spec.protocol);
  const properties: PbDeviceProperty[] = arr(spec.properties).map((p, i) => {
    const o = obj(p);
    const own = obj(o.visitors);
    const fromModel = obj(modelProps.get(str(o.name))?.visitors);
    const configData = { ...obj(fromModel.configData), ...obj(own.configData) };
    const property: PbDeviceProperty = {
      name: str(o.name),
      desired: twinProperty(o.desired),
      visitors: {
        protocolName: str(own.protocolName) || str(fromModel.protocolName),
        configData: encodeCustomizedValue(configData, `${where} properties[${i}].visitors.configData`),
      },
      reportCycle: num(o.reportCycle),
      collectCycle: num(o.collectCycle),
      reportToCloud: bool(o.reportToCloud),
    };
    const push = byShape(o.pushMethod, PUSH_METHOD);
    if (push) {
      const anomaly = obj(o.pushMethod).anomalyDetection;
      if (anomaly !== undefined) {
        push.anomalyDetection = encodeCustomizedValue(
          anomaly,
          `${where} properties[${i}].pushMethod.anomalyDetection`,
        );
      }
      property.pushMethod = push;
    }
    return property;
  });
  const status = obj(d.status);
  const stateReport = spec.stateReport === undefined ? undefined : obj(spec.stateReport);
  const twins: PbTwin[] = arr(status.twins).map((t) => {
    const o = obj(t);
    return {
      propertyName: str(o.propertyName),
      ...(o.observedDesired !== undefined ? { observedDesired: twinProperty(o.observedDesired) } : {}),
      ...(o.reported !== undefined ? { reported: twinProperty(o.reported) } : {}),
    };
  });
  return {
    name,
    namespace: str(meta.namespace) || "default",
    spec: {
      deviceModelReference: str(obj(spec.deviceModelRef).name),
      protocol: {
        protocolName: str(protocol.protocolName),
        configData: encodeCustomizedValue(
          { ...obj(modelSpec.protocolConfigData), ...obj(protocol.configData) },
          `${where} protocol.configData`,
        ),
      },
      properties,
      methods: arr(spec.methods).map((m) => {
        const o = obj(m);
        return {
          name: str(o.name),
          description: str(o.description),
          propertyNames: arr(o.propertyNames).map(str),
        };
      }),
    },
    status: {
      twins,
      reportToCloud: bool((stateReport ?? status).reportToCloud),
      reportCycle: num((stateReport ?? status).reportCycle),
    },
  };
}

/** The protocol a Device's mapper speaks (`spec.protocol.protocolName`). */
export function protocolOf(device: unknown): string {
  return str(obj(obj(obj(device).spec).protocol).protocolName);
}

/** `<ns>/<name>` of the Device's model. */
export function modelIdOf(device: unknown): string {
  const d = obj(device);
  return `${str(obj(d.metadata).namespace) || "default"}/${str(obj(obj(d.spec).deviceModelRef).name)}`;
}
