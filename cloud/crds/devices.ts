/**
 * The CRDs of devices.kubeedge.io/v1beta1, Device and DeviceModel, as KubeEdge ships them (fields as in
 * KubeEdge's v1beta1 API), embedded so that nothing is read from disk at run time. Apply with
 * `kubectl apply -f -` or the apiextensions API; `DEVICE_CRDS` holds both.
 */

export const DEVICES_GROUP = "devices.kubeedge.io";
export const DEVICES_VERSION = "v1beta1";

export const DEVICE_MODEL_CRD_YAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: devicemodels.devices.kubeedge.io
spec:
  group: devices.kubeedge.io
  names:
    kind: DeviceModel
    listKind: DeviceModelList
    plural: devicemodels
    singular: devicemodel
  scope: Namespaced
  versions:
    - name: v1beta1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          description: DeviceModel is the schema for the device model API.
          type: object
          properties:
            apiVersion:
              type: string
            kind:
              type: string
            metadata:
              type: object
            spec:
              description: DeviceModelSpec defines the model for a device.
              type: object
              properties:
                protocol:
                  description: Protocol name used by the device.
                  type: string
                properties:
                  description: Properties the devices of this model have.
                  type: array
                  items:
                    type: object
                    required:
                      - name
                    properties:
                      name:
                        type: string
                      description:
                        type: string
                      type:
                        description: Type of the property's value.
                        type: string
                        enum: [INT, FLOAT, DOUBLE, STRING, BOOLEAN, BYTES, STREAM]
                      accessMode:
                        type: string
                        enum: [ReadWrite, ReadOnly]
                      minimum:
                        type: string
                      maximum:
                        type: string
                      unit:
                        type: string
`;

export const DEVICE_CRD_YAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: devices.devices.kubeedge.io
spec:
  group: devices.kubeedge.io
  names:
    kind: Device
    listKind: DeviceList
    plural: devices
    singular: device
  scope: Namespaced
  versions:
    - name: v1beta1
      served: true
      storage: true
      subresources:
        status: {}
      schema:
        openAPIV3Schema:
          description: Device is the schema for the devices API.
          type: object
          properties:
            apiVersion:
              type: string
            kind:
              type: string
            metadata:
              type: object
            spec:
              description: DeviceSpec is the desired state of a device.
              type: object
              properties:
                deviceModelRef:
                  description: The DeviceModel this device follows.
                  type: object
                  properties:
                    name:
                      type: string
                nodeName:
                  description: The edge node the device is bound to.
                  type: string
                protocol:
                  type: object
                  properties:
                    protocolName:
                      type: string
                    configData:
                      type: object
                      x-kubernetes-preserve-unknown-fields: true
                properties:
                  type: array
                  items:
                    type: object
                    required:
                      - name
                    properties:
                      name:
                        type: string
                      desired:
                        description: The value the cloud wants; the edge sends it to the mapper as a delta.
                        type: object
                        properties:
                          value:
                            type: string
                          metadata:
                            type: object
                            additionalProperties:
                              type: string
                      visitors:
                        type: object
                        properties:
                          protocolName:
                            type: string
                          configData:
                            type: object
                            x-kubernetes-preserve-unknown-fields: true
                      reportCycle:
                        type: integer
                        format: int64
                      collectCycle:
                        type: integer
                        format: int64
                      reportToCloud:
                        type: boolean
                      pushMethod:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
                methods:
                  type: array
                  items:
                    type: object
                    properties:
                      name:
                        type: string
                      description:
                        type: string
                      propertyNames:
                        type: array
                        items:
                          type: string
            status:
              description: DeviceStatus is what the edge reports.
              type: object
              properties:
                twins:
                  type: array
                  items:
                    type: object
                    properties:
                      propertyName:
                        type: string
                      reported:
                        type: object
                        properties:
                          value:
                            type: string
                          metadata:
                            type: object
                            additionalProperties:
                              type: string
                      observedDesired:
                        type: object
                        properties:
                          value:
                            type: string
                          metadata:
                            type: object
                            additionalProperties:
                              type: string
                state:
                  type: string
                lastOnlineTime:
                  type: string
`;

/** Both CRDs, DeviceModel first (a Device refers to a model). */
export const DEVICE_CRDS_YAML: readonly string[] = [DEVICE_MODEL_CRD_YAML, DEVICE_CRD_YAML];
