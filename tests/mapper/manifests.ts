/**
 * What the DMI end-to-end tests apply: the virtual-device driver's DeviceModel and a Device bound to a node
 * (tests/mapper/virtual), and a wait that says how long it took.
 */
export const VIRTUAL_MODEL = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: virtual-thermometer, namespace: default}
spec:
  protocol: virtual
  properties:
  - name: temperature
    type: INT
    accessMode: ReadOnly
  - name: target
    type: INT
    accessMode: ReadWrite
`;
export const virtualDevice = (node: string, desired: string) => `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: thermo, namespace: default}
spec:
  deviceModelRef: {name: virtual-thermometer}
  nodeName: ${node}
  protocol:
    protocolName: virtual
    configData: {state: ok}
  properties:
  - name: temperature
    visitors:
      protocolName: virtual
      configData: {dataType: int, key: temperature, initial: "20", step: 1}
    collectCycle: 300
    reportCycle: 300
    reportToCloud: true
  - name: target
    desired: {value: "${desired}"}
    visitors:
      protocolName: virtual
      configData: {dataType: int, key: target, initial: "0"}
    collectCycle: 300
    reportCycle: 300
    reportToCloud: true
`;

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined>,
  timeoutMs: number,
) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
