// A small Prometheus registry: counters and gauges with labels, rendered in the text exposition format.
// Enough for /metrics without a dependency; histograms are not needed yet.

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

abstract class Metric {
  readonly #series = new Map<string, Series>();
  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge") {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
      throw new RangeError(`Cannot register metric: bad name "${name}"`);
    }
  }
  protected series(labels: Labels): Series {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    let s = this.#series.get(key);
    if (!s) {
      s = { labels, value: 0 };
      this.#series.set(key, s);
    }
    return s;
  }
  get(labels: Labels = {}): number {
    return this.series(labels).value;
  }
  /** Forgets one labelled series, e.g. a node that disconnected. */
  remove(labels: Labels): void {
    this.#series.delete(JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))));
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.#series.values()) {
      const body = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
      lines.push(`${this.name}${body ? `{${body}}` : ""} ${Number.isFinite(value) ? value : "NaN"}`);
    }
    return lines.join("\n");
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError(`Cannot decrease counter ${this.name}`);
    this.series(labels).value += by;
  }
}

export class Gauge extends Metric {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(value: number, labels: Labels = {}): void {
    this.series(labels).value = value;
  }
  add(by: number, labels: Labels = {}): void {
    this.series(labels).value += by;
  }
}

/** Gauges computed when scraped, e.g. certificate days left or queue depth summed over sessions. */
export type Collector = () => void;

export class Registry {
  readonly #metrics = new Map<string, Metric>();
  readonly #collectors: Collector[] = [];
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }
  onCollect(collector: Collector): void {
    this.#collectors.push(collector);
  }
  render(): string {
    for (const collect of this.#collectors) collect();
    return [...this.#metrics.values()].map((m) => m.render()).join("\n") + "\n";
  }
  #add<M extends Metric>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new RangeError(`Cannot register metric: ${metric.name} exists`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}
