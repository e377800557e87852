// A small Prometheus registry: counters and gauges with labels, rendered in the text exposition format.
// Enough for /metrics without a dependency; histograms are not needed yet.

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
  /** Set by remove(): a bound child holding this series looks its labels up again. */
  removed?: boolean;
}

/**
 * Series are found through a trie keyed by label name, value, name, value... with the names in sorted order:
 * the same label set in any order reaches the same node, distinct sets distinct nodes. Each step is a Map
 * lookup on a string that is usually a literal or an interned operation name, whose hash V8 has cached, so
 * the common inc/set with one or two labels builds no key string at all (no sort, no JSON).
 */
interface Node {
  next?: Map<string, Node>;
  series?: Series;
}

/** The label names in canonical (sorted) order; no copy or sort for the usual zero, one or two labels. */
function sortedNames(labels: Labels): string[] {
  const names = Object.keys(labels);
  if (names.length === 2) {
    const [a, b] = names as [string, string];
    if (b < a) {
      names[0] = b;
      names[1] = a;
    }
  } else if (names.length > 2) {
    names.sort();
  }
  return names;
}

function step(node: Node, key: string): Node {
  const next = node.next ??= new Map();
  let child = next.get(key);
  if (!child) {
    child = {};
    next.set(key, child);
  }
  return child;
}

abstract class Metric {
  readonly #root: Node = {};
  /** Every series, in creation order (the order they render in). */
  readonly #series = new Set<Series>();
  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge") {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
      throw new RangeError(`Cannot register metric: bad name "${name}"`);
    }
  }
  /** The series for `labels`, created (with a copy of `labels`) when absent. */
  protected series(labels: Labels): Series {
    let node = this.#root;
    for (const name of sortedNames(labels)) {
      node = step(step(node, name), String(labels[name]));
    }
    let s = node.series;
    if (!s) {
      s = { labels: { ...labels }, value: 0 };
      node.series = s;
      this.#series.add(s);
    }
    return s;
  }
  get(labels: Labels = {}): number {
    return this.series(labels).value;
  }
  /** A getter of the series for `labels` that skips the lookup until the series is removed. */
  protected bind(labels: Labels): () => Series {
    const copy = { ...labels };
    let s = this.series(copy);
    return () => s.removed ? (s = this.series(copy)) : s;
  }
  /** Forgets one labelled series, e.g. a node that disconnected. */
  remove(labels: Labels): void {
    const path: [Node, string][] = [];
    let node: Node | undefined = this.#root;
    for (const name of sortedNames(labels)) {
      for (const key of [name, String(labels[name])]) {
        path.push([node, key]);
        node = node.next?.get(key);
        if (!node) return;
      }
    }
    if (!node.series) return;
    node.series.removed = true;
    this.#series.delete(node.series);
    node.series = undefined;
    // Prune the branch that led only to this series, so label values that come and go (nodes) leave nothing.
    for (let i = path.length - 1; i >= 0 && !node.series && !node.next?.size; i--) {
      const [parent, key] = path[i]!;
      parent.next!.delete(key);
      node = parent;
    }
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.#series) {
      const body = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
      lines.push(`${this.name}${body ? `{${body}}` : ""} ${Number.isFinite(value) ? value : "NaN"}`);
    }
    return lines.join("\n");
  }
}

/** One labelled series of a counter, bound once so a hot path skips the labels lookup. */
export interface CounterChild {
  inc(by?: number): void;
  get(): number;
}

/** One labelled series of a gauge, bound once. */
export interface GaugeChild {
  set(value: number): void;
  add(by: number): void;
  get(): number;
}

export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError(`Cannot decrease counter ${this.name}`);
    this.series(labels).value += by;
  }
  /**
   * The series for `labels`, bound: `c.labels({ operation: "insert" }).inc()` counts the same as
   * `c.inc({ operation: "insert" })`. Still counts after `remove()` of the same labels (a new series).
   */
  labels(labels: Labels): CounterChild {
    const series = this.bind(labels);
    return {
      inc: (by = 1) => {
        if (by < 0) throw new RangeError(`Cannot decrease counter ${this.name}`);
        series().value += by;
      },
      get: () => series().value,
    };
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
  /** The series for `labels`, bound; see Counter.labels. */
  labels(labels: Labels): GaugeChild {
    const series = this.bind(labels);
    return {
      set: (value) => void (series().value = value),
      add: (by) => void (series().value += by),
      get: () => series().value,
    };
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
