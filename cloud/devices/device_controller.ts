/**
 * The device controller: Devices and DeviceModels down to the edge node each Device is bound to
 * (spec.nodeName), reported twins and device state back into Device.status.
 *
 * Down, through the hub's per-node delivery queue: a device joining or leaving a node is `updated
 * membership` keyed `<device uid>/membership` (a removal is a delete, so it wins); a change of desired values
 * is `update device/<ns>/<name>/twin/cloud_updated` keyed by the device uid. Both carry the Device's
 * resourceVersion, so the newest wins. On every connect the node gets its whole membership
 * (`membership/detail`), from which it also drops devices it should no longer hold.
 *
 * Full objects for DMI (objects.ts): the Device itself (`<ns>/device/<name>`, on binding and on spec changes,
 * a delete when it leaves the node) and its DeviceModel (`<ns>/devicemodel/<name>`, to every node holding a
 * Device of it), as KubeEdge v1.23 sends them; both again on every connect.
 *
 * Up: `update device/<ns>/<name>/twin/edge_updated` and `update device/<ns>/<name>/state/update` from node X
 * are served only for Devices bound to X, and written to the status subresource at most once per device
 * per second (see StatusWriter). The reply is `response` "OK", after which the edge forgets the report.
 */
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Counter, Registry } from "../../lib/metrics.ts";
import type { Message } from "../../lib/protocol/mod.ts";
import type { Downstream } from "../controllers/mod.ts";
import { DEVICES_GROUP, DEVICES_VERSION } from "../crds/mod.ts";
import { apiStatusOf } from "../kube/mod.ts";
import { DeviceInformers } from "./informers.ts";
import type { ReflectorTiming, WatchEvent } from "../kube/mod.ts";
import { StatusWriter } from "./status_writer.ts";
import { NodeModels, objectDelivery, specFingerprint } from "./objects.ts";
import { createEdgeReportHandler } from "./edge_reports.ts";
import {
  desiredFingerprint,
  desiredMessage,
  type DeviceModelResource,
  type DeviceResource,
  type DeviceStatus,
  membershipDetailMessage,
  membershipFingerprint,
  membershipMessage,
  wireDevice,
} from "./wire.ts";

export interface DeviceControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** The hub's per-node delivery queues (the same Downstream the edge controllers use). */
  readonly downstream: Downstream;
  readonly log: Logger;
  readonly registry: Registry;
  /**
   * Where denials are counted, by {operation, reason}: pass the edge controllers'
   * kedge_cloud_denied_requests_total. Without it the controller registers
   * kedge_cloud_device_denied_requests_total.
   */
  readonly denied?: Counter;
  /** At most one status write per device per this interval. Default 1 s. */
  readonly statusIntervalMs?: number;
  /** Backoff and staleness limits of the watches (tests shorten them). */
  readonly reflectorTiming?: Partial<ReflectorTiming>;
}

export interface DeviceController {
  /** Installs nothing; starts the informers and resolves once models and devices have listed. */
  start(): Promise<void>;
  /** Stops the informers and writes what reports are still held. */
  stop(): Promise<void>;
  /** A node connected: queue its whole membership. */
  onEdgeConnected(node: string): void;
  /** Serves a device message from `node`; the reply, or undefined when none is due. */
  handleEdgeMessage(node: string, message: Message): Promise<Message | undefined>;
}

interface Binding {
  readonly node: string;
  readonly uid: string;
  readonly modelKey: string;
  readonly membership: string;
  readonly desired: string;
  /** The Device's uid and spec: a change sends the object again. */
  readonly spec: string;
}

const DETAIL_REFRESH_MS = 200;
const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export function createDeviceController(options: DeviceControllerOptions): DeviceController {
  const log = options.log.child({ module: "devicecontroller" });
  const { registry, downstream } = options;
  const denied = options.denied ??
    registry.counter(
      "kedge_cloud_device_denied_requests_total",
      "Device messages refused by node authorization, by operation and reason.",
    );
  const writes = registry.counter(
    "kedge_cloud_device_status_writes_total",
    "Device.status writes (merge patches of the status subresource), by result.",
  );
  const reports = registry.counter(
    "kedge_cloud_device_reports_total",
    "Device reports accepted from edges, by kind (twin, state).",
  );
  const coalesced = registry.counter(
    "kedge_cloud_device_reports_coalesced_total",
    "Device reports folded into a later status write instead of one of their own.",
  );
  const deliveries = registry.counter(
    "kedge_cloud_device_deliveries_total",
    "Device messages queued to edges, by kind (membership, twin, detail).",
  );
  const userMessages = registry.counter(
    "kedge_cloud_device_user_messages_total",
    "Messages of group user (MQTT uploads) received from edges.",
  );
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const bindings = new Map<string, Binding>();
  let synced = false;
  let stopped = false;
  let settle: (ok: boolean) => void = () => {};
  const syncedPromise = new Promise<boolean>((resolve) => settle = resolve);

  const key = (o: { metadata?: { namespace?: string; name?: string } }) =>
    `${o.metadata?.namespace ?? "default"}/${o.metadata?.name ?? ""}`;
  const cachedDevice = (k: string): DeviceResource | undefined => {
    const [namespace = "", name = ""] = k.split("/");
    return informers.devices.get(name, namespace) as DeviceResource | undefined;
  };
  const modelOf = (device: DeviceResource): DeviceModelResource | undefined => {
    const ref = device.spec?.deviceModelRef?.name;
    return ref
      ? informers.models.get(ref, device.metadata?.namespace ?? "default") as DeviceModelResource
      : undefined;
  };
  const modelKeyOf = (device: DeviceResource) =>
    `${device.metadata?.namespace ?? "default"}/${device.spec?.deviceModelRef?.name ?? ""}`;

  const send = (node: string, kind: string, delivery: Parameters<Downstream["send"]>[1]) => {
    if (!synced) return;
    try {
      downstream.send(node, delivery);
      deliveries.inc({ kind });
    } catch (error) {
      log.warn("device delivery refused", { node, kind, uid: delivery.uid, error });
    }
  };
  const sendRemoval = (k: string, binding: Binding, resourceVersion: string | undefined) => {
    const name = k.slice(k.indexOf("/") + 1);
    send(binding.node, "membership", {
      message: membershipMessage({ removed: { id: k, name } }, resourceVersion),
      uid: `${binding.uid}/membership`,
      resourceVersion,
      isDelete: true,
    });
  };

  const models = new NodeModels((node, delivery) => send(node, "object", delivery));
  /** The models `node` should hold: those of its Devices that exist. */
  const syncModels = (node: string) => {
    const wanted = new Map<string, DeviceModelResource>();
    for (const [k, binding] of bindings) {
      if (binding.node !== node || wanted.has(binding.modelKey)) continue;
      const device = cachedDevice(k);
      const model = device && modelOf(device);
      if (model) wanted.set(binding.modelKey, model);
    }
    models.sync(node, wanted);
  };
  const sendObject = (node: string, operation: "insert" | "update" | "delete", device: DeviceResource) => {
    const delivery = objectDelivery("device", operation, device);
    if (delivery) send(node, "object", delivery);
  };

  /** Queues the node's whole membership; returns its Devices. */
  const sendDetail = (node: string): DeviceResource[] => {
    const devices = [];
    const objects: DeviceResource[] = [];
    for (const [k, binding] of bindings) {
      if (binding.node !== node) continue;
      const device = cachedDevice(k);
      if (!device) continue;
      devices.push(wireDevice(device, modelOf(device), Date.now()));
      objects.push(device);
    }
    send(node, "detail", { message: membershipDetailMessage(devices), uid: `membership-detail/${node}` });
    return objects;
  };
  // A KubeEdge edge never acks twin messages, so the hub writes its detail again every resend interval: it
  // must then say what the node holds now, or it removes the devices added since the connect. So a change
  // of a node's membership queues a fresh detail (at most one per node per DETAIL_REFRESH_MS); for a kedge
  // edge, which acks it, it is one more idempotent message.
  const detailDue = new Set<string>();
  let detailTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshDetail = (node: string) => {
    if (!synced || stopped) return;
    detailDue.add(node);
    detailTimer ??= setTimeout(() => {
      detailTimer = undefined;
      const nodes = [...detailDue];
      detailDue.clear();
      if (!stopped) { for (const n of nodes) sendDetail(n); }
    }, DETAIL_REFRESH_MS);
  };

  const onDevice = (event: WatchEvent, device: DeviceResource) => {
    const k = key(device);
    const previous = bindings.get(k);
    const uid = device.metadata?.uid ?? "";
    const rv = device.metadata?.resourceVersion;
    const node = event === "delete" ? "" : device.spec?.nodeName ?? "";
    if (previous && (previous.node !== node || previous.uid !== uid)) {
      sendRemoval(k, previous, rv);
      refreshDetail(previous.node);
      bindings.delete(k);
      writer.forget(k);
      sendObject(
        previous.node,
        "delete",
        previous.uid === uid ? device : { ...device, metadata: { ...device.metadata, uid: previous.uid } },
      );
      syncModels(previous.node);
    }
    if (!node) return;
    const wire = wireDevice(device, modelOf(device), Date.now());
    const binding: Binding = {
      node,
      uid,
      modelKey: modelKeyOf(device),
      membership: membershipFingerprint(wire),
      desired: desiredFingerprint(wire),
      spec: specFingerprint(device),
    };
    const current = bindings.get(k);
    bindings.set(k, binding);
    syncModels(node);
    if (!current || current.spec !== binding.spec) sendObject(node, current ? "update" : "insert", device);
    if (!current || current.membership !== binding.membership) {
      // The membership carries the desired values too.
      send(node, "membership", {
        message: membershipMessage({ added: wire }, rv),
        uid: `${uid}/membership`,
        resourceVersion: rv,
      });
      refreshDetail(node);
    } else if (current.desired !== binding.desired) {
      send(node, "twin", { message: desiredMessage(wire, rv), uid, resourceVersion: rv });
    }
  };

  const onModel = (_event: WatchEvent, model: DeviceModelResource) => {
    const modelKey = key(model);
    const nodes = new Set<string>();
    for (const [k, binding] of bindings) {
      if (binding.modelKey !== modelKey) continue;
      nodes.add(binding.node);
      const device = cachedDevice(k);
      if (device) onDevice("update", device);
    }
    for (const node of nodes) syncModels(node);
  };

  const informers = new DeviceInformers(
    options.kubeConfig,
    { device: onDevice, model: onModel },
    { log, registry: options.registry, timing: options.reflectorTiming },
  );

  const writer = new StatusWriter({
    current: (k) => {
      const device = cachedDevice(k);
      return device ? device.status ?? {} : undefined;
    },
    patch: async (k, status: DeviceStatus) => {
      const [namespace = "", name = ""] = k.split("/");
      await api.patchNamespacedCustomObjectStatus({
        group: DEVICES_GROUP,
        version: DEVICES_VERSION,
        namespace,
        plural: "devices",
        name,
        body: { status },
      }, MERGE_PATCH);
    },
    isGone: (error) => apiStatusOf(error) === 404,
    log,
    intervalMs: options.statusIntervalMs,
    onWrite: (result) => writes.inc({ result }),
    onCoalesced: () => coalesced.inc(),
  });

  const handleEdgeMessage = createEdgeReportHandler({
    log,
    denied,
    reports,
    userMessages,
    synced: () => syncedPromise,
    boundNode: (k) => cachedDevice(k)?.spec?.nodeName,
    submit: (k, update) => writer.submit(k, update),
  });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(detailTimer);
    settle(false);
    await informers.stop();
    await writer.stop();
  };

  return {
    async start() {
      await informers.start();
      if (stopped) return;
      synced = true;
      settle(true);
      log.info("device controller synced", { devices: bindings.size });
    },
    stop,
    onEdgeConnected(node) {
      void syncedPromise.then((ok) => {
        if (!ok) return;
        const objects = sendDetail(node);
        // The edge prunes what the detail does not list; then the objects come again (the edge keeps
        // those it holds at the same resourceVersion).
        models.reset(node);
        syncModels(node);
        for (const device of objects) sendObject(node, "insert", device);
      });
    },
    handleEdgeMessage,
  };
}
