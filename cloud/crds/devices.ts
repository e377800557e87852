/**
 * The CRDs of devices.kubeedge.io/v1beta1, Device and DeviceModel, as KubeEdge v1.23.1 ships them
 * (build/crds/devices/devices_v1beta1_{device,devicemodel}.yaml, every field and validation of the v1beta1
 * version; descriptions left out), embedded so that nothing is read from disk at run time. Where kedge differs
 * (docs/devices.md): the Device has a status subresource, and its status spells out the fields kedge writes
 * (`twins`, `state`, `lastOnlineTime`) beside KubeEdge's `reportCycle`/`reportToCloud`; it still keeps unknown
 * status fields, as KubeEdge's does. The v1alpha2 versions KubeEdge still serves are not served.
 * Apply with `kubectl apply -f -` or the apiextensions API; `DEVICE_CRDS_YAML` holds both.
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
      schema:
        openAPIV3Schema:
          properties:
            apiVersion:
              type: string
            kind:
              type: string
            metadata:
              type: object
            spec:
              properties:
                properties:
                  items:
                    properties:
                      accessMode:
                        enum:
                          - ReadWrite
                          - ReadOnly
                        type: string
                      description:
                        type: string
                      maximum:
                        type: string
                      minimum:
                        type: string
                      name:
                        type: string
                      type:
                        enum:
                          - INT
                          - FLOAT
                          - DOUBLE
                          - STRING
                          - BOOLEAN
                          - BYTES
                          - STREAM
                        type: string
                      unit:
                        type: string
                      visitors:
                        properties:
                          configData:
                            type: object
                            x-kubernetes-preserve-unknown-fields: true
                          protocolName:
                            type: string
                        type: object
                    type: object
                  type: array
                protocol:
                  type: string
                protocolConfigData:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
              type: object
          type: object
      served: true
      storage: true
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
      subresources:
        status: {}
      schema:
        openAPIV3Schema:
          properties:
            apiVersion:
              type: string
            kind:
              type: string
            metadata:
              type: object
            spec:
              properties:
                deviceModelRef:
                  properties:
                    name:
                      default: ""
                      type: string
                  type: object
                  x-kubernetes-map-type: atomic
                methods:
                  items:
                    properties:
                      description:
                        type: string
                      name:
                        type: string
                      propertyNames:
                        items:
                          type: string
                        type: array
                    type: object
                  type: array
                nodeName:
                  type: string
                properties:
                  items:
                    properties:
                      collectCycle:
                        format: int64
                        type: integer
                      desired:
                        properties:
                          metadata:
                            additionalProperties:
                              type: string
                            type: object
                          value:
                            type: string
                        required:
                          - value
                        type: object
                      name:
                        type: string
                      pushMethod:
                        properties:
                          anomalyDetection:
                            type: object
                            x-kubernetes-preserve-unknown-fields: true
                          dbMethod:
                            properties:
                              TDEngine:
                                properties:
                                  TDEngineClientConfig:
                                    properties:
                                      addr:
                                        type: string
                                      dbName:
                                        type: string
                                    type: object
                                type: object
                              influxdb2:
                                properties:
                                  influxdb2ClientConfig:
                                    properties:
                                      bucket:
                                        type: string
                                      org:
                                        type: string
                                      url:
                                        type: string
                                    type: object
                                  influxdb2DataConfig:
                                    properties:
                                      fieldKey:
                                        type: string
                                      measurement:
                                        type: string
                                      tag:
                                        additionalProperties:
                                          type: string
                                        type: object
                                    type: object
                                type: object
                              mysql:
                                properties:
                                  mysqlClientConfig:
                                    properties:
                                      addr:
                                        type: string
                                      database:
                                        type: string
                                      userName:
                                        type: string
                                    type: object
                                type: object
                              redis:
                                properties:
                                  redisClientConfig:
                                    properties:
                                      addr:
                                        type: string
                                      db:
                                        type: integer
                                      minIdleConns:
                                        type: integer
                                      poolsize:
                                        type: integer
                                    type: object
                                type: object
                            type: object
                          http:
                            properties:
                              hostName:
                                type: string
                              port:
                                format: int64
                                type: integer
                              requestPath:
                                type: string
                              timeout:
                                format: int64
                                type: integer
                            type: object
                          mqtt:
                            properties:
                              address:
                                type: string
                              qos:
                                format: int32
                                type: integer
                              retained:
                                type: boolean
                              topic:
                                type: string
                            type: object
                          otel:
                            properties:
                              endpointURL:
                                type: string
                            type: object
                        type: object
                      reportCycle:
                        format: int64
                        type: integer
                      reportToCloud:
                        type: boolean
                      visitors:
                        properties:
                          configData:
                            type: object
                            x-kubernetes-preserve-unknown-fields: true
                          protocolName:
                            type: string
                        type: object
                    type: object
                  type: array
                protocol:
                  properties:
                    configData:
                      type: object
                      x-kubernetes-preserve-unknown-fields: true
                    protocolName:
                      type: string
                  type: object
                stateReport:
                  properties:
                    reportCycle:
                      format: int64
                      type: integer
                    reportToCloud:
                      type: boolean
                  type: object
              type: object
            status:
              properties:
                lastOnlineTime:
                  type: string
                reportCycle:
                  format: int64
                  type: integer
                reportToCloud:
                  type: boolean
                state:
                  type: string
                twins:
                  items:
                    properties:
                      observedDesired:
                        properties:
                          metadata:
                            additionalProperties:
                              type: string
                            type: object
                          value:
                            type: string
                        type: object
                      propertyName:
                        type: string
                      reported:
                        properties:
                          metadata:
                            additionalProperties:
                              type: string
                            type: object
                          value:
                            type: string
                        type: object
                    type: object
                  type: array
              type: object
              x-kubernetes-preserve-unknown-fields: true
          type: object
      served: true
      storage: true
`;

/** Both CRDs, DeviceModel first (a Device refers to a model). */
export const DEVICE_CRDS_YAML: readonly string[] = [DEVICE_MODEL_CRD_YAML, DEVICE_CRD_YAML];
