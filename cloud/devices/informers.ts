/**
 * One list+watch per device type (DeviceModel, Device) across namespaces, restarted after a failure.
 * Models start first, so that devices listed next find their model's property types.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
} from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import { DEVICES_GROUP, DEVICES_VERSION } from "../crds/mod.ts";
import type { DeviceModelResource, DeviceResource } from "./wire.ts";

export type WatchEvent = "add" | "update" | "delete";

export interface DeviceInformerHandlers {
  model(event: WatchEvent, model: DeviceModelResource): void;
  device(event: WatchEvent, device: DeviceResource): void;
}

type Informer = ReturnType<typeof makeInformer<KubernetesObject>>;

interface Entry {
  readonly plural: string;
  readonly informer: Informer;
  starting: boolean;
  failed: boolean;
}

export class DeviceInformers {
  readonly devices: ObjectCache<KubernetesObject>;
  readonly models: ObjectCache<KubernetesObject>;
  readonly #entries: Entry[];
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #wakes = new Set<() => void>();
  #stopped = false;

  constructor(kc: KubeConfig, handlers: DeviceInformerHandlers, log: Logger, retryMs: number) {
    this.#log = log;
    this.#retryMs = retryMs;
    const api = kc.makeApiClient(CustomObjectsApi);
    const models = this.#add(
      kc,
      api,
      "devicemodels",
      (event, o) => handlers.model(event, o as DeviceModelResource),
    );
    const devices = this.#add(kc, api, "devices", (event, o) => handlers.device(event, o as DeviceResource));
    this.#entries = [models, devices];
    this.models = models.informer;
    this.devices = devices.informer;
  }

  /** Lists and watches both types, models first; resolves when both have listed (or stop() was called). */
  async start(): Promise<void> {
    for (const entry of this.#entries) await this.#run(entry, false);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of this.#wakes) wake();
    for (const entry of this.#entries) await entry.informer.stop();
  }

  #add(
    kc: KubeConfig,
    api: CustomObjectsApi,
    plural: string,
    handler: (event: WatchEvent, object: KubernetesObject) => void,
  ): Entry {
    const list = async () =>
      await api.listClusterCustomObject({
        group: DEVICES_GROUP,
        version: DEVICES_VERSION,
        plural,
      }) as KubernetesListObject<KubernetesObject>;
    const informer = makeInformer(kc, `/apis/${DEVICES_GROUP}/${DEVICES_VERSION}/${plural}`, list);
    const entry: Entry = { plural, informer, starting: false, failed: false };
    for (const event of ["add", "update", "delete"] as const) {
      informer.on(event, (object) => {
        try {
          handler(event, object);
        } catch (error) {
          this.#log.error("informer handler failed", { resource: plural, event, error });
        }
      });
    }
    informer.on("error", (error?: unknown) => {
      entry.failed = true;
      if (this.#stopped) return;
      this.#log.warn("informer failed", { resource: plural, error });
      if (!entry.starting) void this.#run(entry, true);
    });
    return entry;
  }

  async #run(entry: Entry, delayFirst: boolean): Promise<void> {
    entry.starting = true;
    try {
      if (delayFirst) await this.#sleep();
      while (!this.#stopped) {
        entry.failed = false;
        await entry.informer.start().catch(() => entry.failed = true);
        if (!entry.failed) return;
        await this.#sleep();
      }
    } finally {
      entry.starting = false;
    }
  }

  #sleep(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(id);
        this.#wakes.delete(wake);
        resolve();
      };
      const id = setTimeout(wake, this.#retryMs);
      this.#wakes.add(wake);
    });
  }
}
