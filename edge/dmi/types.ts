/**
 * TypeScript shapes of the DMI v1beta1 messages (proto.ts) as @grpc/proto-loader encodes and decodes them
 * (lowerCamelCase fields, int64 as number, bytes as Uint8Array). Only what edgecore builds or reads.
 */

export interface PbAny {
  typeUrl: string;
  value: Uint8Array;
}
export interface PbCustomizedValue {
  data: Record<string, PbAny>;
}
export interface PbTwinProperty {
  value: string;
  metadata: Record<string, string>;
}
export interface PbTwin {
  propertyName: string;
  observedDesired?: PbTwinProperty | null;
  reported?: PbTwinProperty | null;
}
export interface PbDeviceStatus {
  twins: PbTwin[];
  reportToCloud: boolean;
  reportCycle: number;
}
export interface PbVisitorConfig {
  protocolName: string;
  configData: PbCustomizedValue;
}
export interface PbDeviceProperty {
  name: string;
  desired: PbTwinProperty;
  visitors: PbVisitorConfig;
  reportCycle: number;
  collectCycle: number;
  reportToCloud: boolean;
  pushMethod?: Record<string, unknown> | null;
}
export interface PbDeviceMethod {
  name: string;
  description: string;
  propertyNames: string[];
}
export interface PbDevice {
  name: string;
  namespace: string;
  spec: {
    deviceModelReference: string;
    protocol: { protocolName: string; configData: PbCustomizedValue };
    properties: PbDeviceProperty[];
    methods: PbDeviceMethod[];
  };
  status: PbDeviceStatus;
}
export interface PbModelProperty {
  name: string;
  description: string;
  type: string;
  accessMode: string;
  minimum: string;
  maximum: string;
  unit: string;
}
export interface PbDeviceModel {
  name: string;
  namespace: string;
  spec: { properties: PbModelProperty[]; commands: unknown[] };
}
export interface PbMapperInfo {
  name: string;
  version: string;
  apiVersion: string;
  protocol: string;
  address: Uint8Array;
  state: string;
}
export interface PbMapperRegisterRequest {
  withData: boolean;
  mapper?: PbMapperInfo | null;
}
export interface PbReportDeviceStatusRequest {
  deviceName: string;
  deviceNamespace: string;
  reportedDevice?: PbDeviceStatus | null;
}
export interface PbReportDeviceStatesRequest {
  deviceName: string;
  deviceNamespace: string;
  state: string;
}
