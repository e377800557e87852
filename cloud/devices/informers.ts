/**
 * One list+watch per device type (DeviceModel, Device) across namespaces (cloud/kube's Reflector).
 * Models start first, so that devices listed next find their model's property types.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import { type Reflector, reflectorsFor, type ReflectorTiming, type WatchEvent } from "../kube/mod.ts";
import { withKinds } from "../controllers/informers.ts";
import { DEVICES_GROUP, DEVICES_VERSION } from "../crds/mod.ts";
import type { DeviceModelResource, DeviceResource } from "./wire.ts";

export interface DeviceInformerHandlers {
  model(event: WatchEvent, model: DeviceModelResource): void;
  device(event: WatchEvent, device: DeviceResource): void;
}

export class DeviceInformers {
  readonly devices: ObjectCache<KubernetesObject>;
  readonly models: ObjectCache<KubernetesObject>;
  readonly #reflectors: Reflector<KubernetesObject>[];

  constructor(
    kc: KubeConfig,
    handlers: DeviceInformerHandlers,
    deps: { log: Logger; registry: Registry; timing?: Partial<ReflectorTiming> },
  ) {
    const make = reflectorsFor(kc, deps);
    const api = kc.makeApiClient(CustomObjectsApi);
    const reflect = (
      plural: string,
      kind: string,
      handler: (event: WatchEvent, o: KubernetesObject) => void,
    ) =>
      make<KubernetesObject>({
        resource: plural,
        path: `/apis/${DEVICES_GROUP}/${DEVICES_VERSION}/${plural}`,
        list: async () => {
          const list = await api.listClusterCustomObject({
            group: DEVICES_GROUP,
            version: DEVICES_VERSION,
            plural,
          });
          return withKinds(
            list as KubernetesListObject<KubernetesObject>,
            kind,
            `${DEVICES_GROUP}/${DEVICES_VERSION}`,
          );
        },
        handler,
      });
    const models = reflect(
      "devicemodels",
      "DeviceModel",
      (e, o) => handlers.model(e, o as DeviceModelResource),
    );
    const devices = reflect("devices", "Device", (e, o) => handlers.device(e, o as DeviceResource));
    this.#reflectors = [models, devices];
    this.models = models.store;
    this.devices = devices.store;
  }

  /** Lists both types, models first, then keeps them watched; resolves when both have listed. */
  async start(): Promise<void> {
    for (const reflector of this.#reflectors) await reflector.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }
}
