/**
 * Node by node: what the apiserver says each edge should hold (docs/resync.md: its Node, the pods bound to
 * it, the ConfigMaps and Secrets those pods refer to; the Devices bound to it) against what the edge holds
 * (a simulated edge's own map, the real edgecore's SQLite file). An object is missing (uid not held),
 * extra (held, not expected) or stale (held at an older resourceVersion than the apiserver's). Held at a
 * newer one is "ahead": the edge read after the apiserver list, not an error. Twins: the last value an
 * edge got "OK" for against Device.status.twins[].reported.
 */
import { DatabaseSync } from "node:sqlite";
import { compareResourceVersion } from "../lib/protocol/mod.ts";
import type { Kube, KubeObject } from "./soak_kube.ts";
import { TWIN_PROPERTY } from "./soak_setup.ts";

export interface Held {
  objects: Array<{ uid: string; resourceVersion: string; resource: string }>;
  devices: string[];
  /** device id -> last reported value acknowledged (or published, for the real edge). */
  twins: Record<string, string>;
}

export interface Expected {
  objects: Map<string, { resource: string; resourceVersion: string }>;
  devices: Set<string>;
  /** device id -> Device.status reported value of the twin property. */
  twins: Map<string, string | undefined>;
}

export interface NodeResult {
  node: string;
  expected: number;
  held: number;
  missing: string[];
  extra: string[];
  stale: string[];
  ahead: number;
  devicesMissing: string[];
  devicesExtra: string[];
  twinMismatches: string[];
}

type Pod = KubeObject & {
  spec?: {
    volumes?: Array<{
      configMap?: { name?: string };
      secret?: { secretName?: string };
      projected?: { sources?: Array<{ configMap?: { name?: string }; secret?: { name?: string } }> };
    }>;
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    imagePullSecrets?: Array<{ name?: string }>;
  };
};
interface Container {
  env?: Array<{ valueFrom?: { configMapKeyRef?: { name?: string }; secretKeyRef?: { name?: string } } }>;
  envFrom?: Array<{ configMapRef?: { name?: string }; secretRef?: { name?: string } }>;
}

/** `configmap/<ns>/<name>` and `secret/<ns>/<name>` a pod refers to (as cloud/controllers/pod_references.ts). */
function references(pod: Pod): string[] {
  const ns = pod.metadata.namespace ?? "";
  const refs: string[] = [];
  const add = (type: string, name: string | undefined) => name && refs.push(`${type}/${ns}/${name}`);
  const spec = pod.spec ?? {};
  for (const v of spec.volumes ?? []) {
    add("configmap", v.configMap?.name);
    add("secret", v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) {
      add("configmap", s.configMap?.name);
      add("secret", s.secret?.name);
    }
  }
  for (
    const c of [
      ...(spec.initContainers ?? []),
      ...(spec.containers ?? []),
      ...(spec.ephemeralContainers ?? []),
    ]
  ) {
    for (const e of c.env ?? []) {
      add("configmap", e.valueFrom?.configMapKeyRef?.name);
      add("secret", e.valueFrom?.secretKeyRef?.name);
    }
    for (const f of c.envFrom ?? []) {
      add("configmap", f.configMapRef?.name);
      add("secret", f.secretRef?.name);
    }
  }
  for (const p of spec.imagePullSecrets ?? []) add("secret", p.name);
  return refs;
}

/** What each of `nodes` should hold, from one list of each kind. */
/** `<ns>/device/<name>`: Device objects, delivered for DMI mappers. */
const DEVICE_OBJECT = /^[^/]+\/device\//;

export async function expectedHoldings(kube: Kube, nodes: readonly string[]): Promise<Map<string, Expected>> {
  const [nodeList, pods, configMaps, secrets, devices, models] = await Promise.all([
    kube.list("/api/v1/nodes"),
    kube.list("/api/v1/pods") as Promise<Pod[]>,
    kube.list("/api/v1/configmaps"),
    kube.list("/api/v1/secrets"),
    kube.list("/apis/devices.kubeedge.io/v1beta1/devices"),
    kube.list("/apis/devices.kubeedge.io/v1beta1/devicemodels"),
  ]);
  const modelByRef = new Map(models.map((m) => [`${m.metadata.namespace}/${m.metadata.name}`, m]));
  const byRef = new Map<string, KubeObject>();
  for (const cm of configMaps) byRef.set(`configmap/${cm.metadata.namespace}/${cm.metadata.name}`, cm);
  for (const s of secrets) byRef.set(`secret/${s.metadata.namespace}/${s.metadata.name}`, s);
  const out = new Map<string, Expected>();
  for (const node of nodes) out.set(node, { objects: new Map(), devices: new Set(), twins: new Map() });
  const put = (node: string, resource: string, o: KubeObject) =>
    out.get(node)?.objects.set(o.metadata.uid, { resource, resourceVersion: o.metadata.resourceVersion });
  for (const n of nodeList) put(n.metadata.name, `null/node/${n.metadata.name}`, n);
  for (const pod of pods) {
    const node = pod.spec?.nodeName as string | undefined;
    if (!node || !out.has(node)) continue;
    put(node, `${pod.metadata.namespace}/pod/${pod.metadata.name}`, pod);
    for (const ref of references(pod)) {
      const object = byRef.get(ref);
      const [type, ns, name] = ref.split("/");
      if (object) put(node, `${ns}/${type}/${name}`, object);
    }
  }
  for (const d of devices) {
    const expected = out.get(d.spec?.nodeName as string);
    if (!expected) continue;
    const id = `${d.metadata.namespace}/${d.metadata.name}`;
    expected.devices.add(id);
    // The Device and its DeviceModel are delivered as objects too (KubeEdge's form, for DMI mappers).
    const node = d.spec?.nodeName as string;
    put(node, `${d.metadata.namespace}/device/${d.metadata.name}`, d);
    const modelName = (d.spec?.deviceModelRef as { name?: string } | undefined)?.name;
    const model = modelName ? modelByRef.get(`${d.metadata.namespace}/${modelName}`) : undefined;
    if (model) put(node, `${model.metadata.namespace}/devicemodel/${model.metadata.name}`, model);
    const twins = (d.status?.twins ?? []) as Array<{ propertyName: string; reported?: { value: string } }>;
    expected.twins.set(id, twins.find((t) => t.propertyName === TWIN_PROPERTY)?.reported?.value);
  }
  return out;
}

/** What a real edgecore holds, read from its SQLite file (read-only; edgecore keeps writing it). */
export function realEdgeHoldings(dbPath: string, lastTwins: Record<string, string>): Held {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const objects = (db.prepare("SELECT key, uid, resource_version FROM meta").all() as Array<
      { key: string; uid: string; resource_version: string }
    >).map((r) => ({ uid: r.uid, resourceVersion: r.resource_version, resource: r.key }));
    const devices = (db.prepare("SELECT id FROM device").all() as Array<{ id: string }>).map((r) => r.id);
    return { objects, devices, twins: lastTwins };
  } finally {
    db.close();
  }
}

export function compareNode(node: string, expected: Expected, held: Held): NodeResult {
  const result: NodeResult = {
    node,
    expected: expected.objects.size,
    held: held.objects.length,
    missing: [],
    extra: [],
    stale: [],
    ahead: 0,
    devicesMissing: [],
    devicesExtra: [],
    twinMismatches: [],
  };
  const heldByUid = new Map(held.objects.map((o) => [o.uid, o]));
  for (const [uid, want] of expected.objects) {
    const have = heldByUid.get(uid);
    if (!have) result.missing.push(`${want.resource} (uid ${uid}, rv ${want.resourceVersion})`);
    else {
      const order = compareResourceVersion(have.resourceVersion, want.resourceVersion);
      // A Device is sent again when its spec changes, not for the status writes its own reports cause (each
      // twin report bumps its resourceVersion): held at an older version is expected, held at all is the check.
      if (order < 0 && !DEVICE_OBJECT.test(want.resource)) {
        result.stale.push(`${want.resource} held rv ${have.resourceVersion} < ${want.resourceVersion}`);
      }
      if (order > 0) result.ahead++;
    }
  }
  for (const o of held.objects) {
    if (!expected.objects.has(o.uid)) {
      result.extra.push(`${o.resource} (uid ${o.uid}, rv ${o.resourceVersion})`);
    }
  }
  const heldDevices = new Set(held.devices);
  for (const id of expected.devices) if (!heldDevices.has(id)) result.devicesMissing.push(id);
  for (const id of heldDevices) if (!expected.devices.has(id)) result.devicesExtra.push(id);
  for (const [id, value] of Object.entries(held.twins)) {
    if (!expected.devices.has(id)) continue;
    const reported = expected.twins.get(id);
    if (reported !== value) {
      result.twinMismatches.push(`${id}: edge ${value}, apiserver ${reported ?? "none"}`);
    }
  }
  return result;
}

export function problems(r: NodeResult): number {
  return r.missing.length + r.extra.length + r.stale.length + r.devicesMissing.length +
    r.devicesExtra.length +
    r.twinMismatches.length;
}
