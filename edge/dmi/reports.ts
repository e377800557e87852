/**
 * Mapper reports into the device twin (KubeEdge's dmiserver ReportDeviceStatus / ReportDeviceStates): each
 * twin's `reported` value takes the MQTT twin/update path (type checks, commit, document and delta on the
 * EventBus, the uplink to Device.status); a state takes MQTT's state/update path. Refusals are DmiErrors with
 * the gRPC status the mapper gets.
 */
import { GRPC_STATUS, type GrpcStatus } from "./status.ts";
import { DEVICE_STATES, type DeviceState, type DeviceTwin, RequestError, type Twins } from "../twin/mod.ts";
import type { PbReportDeviceStatesRequest, PbReportDeviceStatusRequest } from "./types.ts";

/** A refused DMI request: `code` is the gRPC status the mapper gets. */
export class DmiError extends Error {
  override readonly name = "DmiError";
  constructor(readonly code: GrpcStatus, message: string) {
    super(message);
  }
}

type TwinOf = () => Promise<DeviceTwin | undefined>;
const MAX_NAME = 253;

export async function reportStatus(twinOf: TwinOf, request: PbReportDeviceStatusRequest): Promise<void> {
  const id = deviceId(request.deviceNamespace, request.deviceName, "report device status");
  const twins = request.reportedDevice?.twins ?? [];
  if (twins.length === 0) {
    throw new DmiError(GRPC_STATUS.INVALID_ARGUMENT, `Cannot report device status of ${id}: no twins`);
  }
  const update: Twins = {};
  for (const twin of twins) {
    if (!twin.propertyName) {
      throw new DmiError(
        GRPC_STATUS.INVALID_ARGUMENT,
        `Cannot report device status of ${id}: a twin without propertyName`,
      );
    }
    if (!twin.reported) continue;
    const at = Number(twin.reported.metadata?.timestamp);
    update[twin.propertyName] = {
      actual: {
        value: twin.reported.value,
        metadata: { timestamp: Number.isFinite(at) && at > 0 ? at : Date.now() },
      },
    };
  }
  if (Object.keys(update).length === 0) return;
  await twinCall(twinOf, id, "report device status", (twin) => twin.reportFromMapper(id, update));
}

export async function reportStates(twinOf: TwinOf, request: PbReportDeviceStatesRequest): Promise<void> {
  const id = deviceId(request.deviceNamespace, request.deviceName, "report device states");
  const state = request.state;
  if (!(DEVICE_STATES as readonly string[]).includes(state)) {
    throw new DmiError(
      GRPC_STATUS.INVALID_ARGUMENT,
      `Cannot report device states of ${id}: state ${JSON.stringify(state.slice(0, 40))} is not one of ${
        DEVICE_STATES.join(", ")
      }`,
    );
  }
  await twinCall(
    twinOf,
    id,
    "report device states",
    (twin) => twin.stateFromMapper(id, state as DeviceState),
  );
}

function deviceId(namespace: string, name: string, what: string): string {
  if (!name || name.length > MAX_NAME || namespace.length > 63) {
    throw new DmiError(
      GRPC_STATUS.INVALID_ARGUMENT,
      `Cannot ${what}: bad device name ${JSON.stringify(name.slice(0, 80))}`,
    );
  }
  return `${namespace || "default"}/${name}`;
}

async function twinCall(
  twinOf: TwinOf,
  id: string,
  what: string,
  call: (twin: DeviceTwin) => Promise<void>,
): Promise<void> {
  const twin = await twinOf();
  if (!twin) {
    throw new DmiError(GRPC_STATUS.UNAVAILABLE, `Cannot ${what} of ${id}: the device twin is not running`);
  }
  try {
    await call(twin);
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    const code = error.code === 404
      ? GRPC_STATUS.NOT_FOUND
      : error.code === 413
      ? GRPC_STATUS.RESOURCE_EXHAUSTED
      : GRPC_STATUS.INVALID_ARGUMENT;
    throw new DmiError(code, error.message);
  }
}
