/**
 * The soak's churn, through the apiserver as a user would: every tick one pod created (nodes round-robin,
 * spec.nodeName set, so no scheduler is involved) and the oldest deleted once `perNode` pods per node
 * live; a ConfigMap updated every `configMapEveryTicks` ticks; the real edge's device twin reported over
 * MQTT every `twinEveryMs` (the simulated edges report their own twins). Calls that fail (the apiserver
 * is down) are counted and tried again at the next tick.
 */
import { mosquittoPub } from "../tests/harness/mqtt_clients.ts";
import type { Kube } from "./soak_kube.ts";
import { CONFIGMAPS, deviceName, NAMESPACE, podManifest, TWIN_PROPERTY } from "./soak_setup.ts";

export interface ChurnOptions {
  readonly kube: Kube;
  readonly nodes: readonly string[];
  readonly perNode: number;
  readonly image: string;
  readonly tickMs: number;
  readonly configMapEveryTicks: number;
  /** The real edge: its name and the port of its built-in MQTT broker. */
  readonly realEdge: { name: string; mqttPort: number };
  readonly twinEveryMs: number;
  readonly record: (pid: number) => void;
}

export interface ChurnCounts {
  /** Pods created by fill(), before the churn. */
  filled: number;
  created: number;
  deleted: number;
  configMapUpdates: number;
  twinPublishes: number;
  failures: number;
  failureSamples: string[];
}

export class Churn {
  readonly counts: ChurnCounts = {
    filled: 0,
    created: 0,
    deleted: 0,
    configMapUpdates: 0,
    twinPublishes: 0,
    failures: 0,
    failureSamples: [],
  };
  /** The last twin value published to the real edge's broker. */
  lastRealTwin: string | undefined;
  readonly #o: ChurnOptions;
  readonly #live: string[] = [];
  #seq = 0;
  #tick = 0;
  #twinValue = 0;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #busy: Promise<void> = Promise.resolve();

  constructor(options: ChurnOptions) {
    this.#o = options;
  }

  /** Creates `perNode` pods per node, `parallel` requests at a time. */
  async fill(parallel = 8): Promise<void> {
    const total = this.#o.nodes.length * this.#o.perNode;
    const workers = Array.from({ length: parallel }, async () => {
      while (this.#seq < total) await this.#create(this.#seq++);
    });
    await Promise.all(workers);
    this.counts.filled = this.counts.created;
  }

  get livePods(): number {
    return this.#live.length;
  }

  start(): void {
    this.#timers.push(setInterval(() => {
      // One tick at a time: a slow apiserver delays the churn rather than piling requests up.
      this.#busy = this.#busy.then(() => this.#step());
    }, this.#o.tickMs));
    this.#timers.push(setInterval(() => void this.#publishTwin(), this.#o.twinEveryMs));
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#busy;
  }

  async #step(): Promise<void> {
    const tick = this.#tick++;
    const seq = this.#seq++;
    await this.#create(seq);
    if (this.#live.length > this.#o.nodes.length * this.#o.perNode) await this.#deleteOldest();
    if (tick % this.#o.configMapEveryTicks === 0) {
      await this.#updateConfigMap(tick / this.#o.configMapEveryTicks);
    }
  }

  async #create(seq: number): Promise<void> {
    const node = this.#o.nodes[seq % this.#o.nodes.length]!;
    try {
      await this.#o.kube.json(
        "POST",
        `/api/v1/namespaces/${NAMESPACE}/pods`,
        podManifest(seq, node, this.#o.image),
      );
      this.#live.push(`soak-${seq}`);
      this.counts.created++;
    } catch (error) {
      this.#failed(error);
    }
  }

  async #deleteOldest(): Promise<void> {
    const name = this.#live[0]!;
    try {
      const res = await this.#o.kube.raw("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${name}`);
      await res.body?.cancel();
      if (!res.ok && res.status !== 404) throw new Error(`Cannot delete pod ${name}: HTTP ${res.status}`);
      this.#live.shift();
      this.counts.deleted++;
    } catch (error) {
      this.#failed(error);
    }
  }

  async #updateConfigMap(n: number): Promise<void> {
    const name = `soak-cm-${n % CONFIGMAPS}`;
    try {
      await this.#o.kube.json("PATCH", `/api/v1/namespaces/${NAMESPACE}/configmaps/${name}`, {
        data: { value: String(n) },
      });
      this.counts.configMapUpdates++;
    } catch (error) {
      this.#failed(error);
    }
  }

  async #publishTwin(): Promise<void> {
    const { name, mqttPort } = this.#o.realEdge;
    const value = String(++this.#twinValue);
    const topic = `$hw/events/device/${NAMESPACE}/${deviceName(name)}/twin/update`;
    const payload = JSON.stringify({
      event_id: crypto.randomUUID(),
      timestamp: Date.now(),
      twin: { [TWIN_PROPERTY]: { actual: { value }, metadata: { type: "int" } } },
    });
    const out = await mosquittoPub(mqttPort, topic, payload, { record: this.#o.record }).catch((error) => ({
      code: -1,
      stderr: String(error),
    }));
    if (out.code === 0) {
      this.lastRealTwin = value;
      this.counts.twinPublishes++;
    } else {this.#failed(
        new Error(`Cannot publish the twin: mosquitto_pub exited ${out.code}: ${out.stderr}`),
      );}
  }

  #failed(error: unknown): void {
    this.counts.failures++;
    if (this.counts.failureSamples.length < 5) {
      this.counts.failureSamples.push(((error as Error).message ?? String(error)).slice(0, 200));
    }
  }
}
