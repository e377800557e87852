// The CRI container log format, one record per line: `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>`,
// where P marks a partial record continued on the next line (the runtime splits long lines).

export interface CriLogRecord {
  /** The time as written (RFC 3339 with nanoseconds). */
  readonly time: string;
  /** Milliseconds since the epoch, for comparisons. */
  readonly timeMs: number;
  readonly stream: "stdout" | "stderr";
  /** False for a partial record (tag P): no newline follows its text. */
  readonly full: boolean;
  readonly text: Uint8Array;
}

const SPACE = 0x20;

/** Parses one line without its newline; undefined when it is not a CRI record. */
export function parseCriLine(line: Uint8Array): CriLogRecord | undefined {
  const first = line.indexOf(SPACE);
  if (first < 0) return undefined;
  const second = line.indexOf(SPACE, first + 1);
  if (second < 0) return undefined;
  const third = line.indexOf(SPACE, second + 1);
  const decoder = new TextDecoder();
  const time = decoder.decode(line.subarray(0, first));
  const stream = decoder.decode(line.subarray(first + 1, second));
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const tag = decoder.decode(line.subarray(second + 1, third < 0 ? line.length : third));
  const timeMs = Date.parse(time);
  if (Number.isNaN(timeMs)) return undefined;
  return {
    time,
    timeMs,
    stream,
    full: !tag.split(":").includes("P"),
    text: third < 0 ? new Uint8Array() : line.subarray(third + 1),
  };
}

/** What a reader of `kubectl logs` sees for one record, with the time in front when asked. */
export function renderCriRecord(record: CriLogRecord, timestamps: boolean): Uint8Array {
  const prefix = timestamps ? new TextEncoder().encode(`${record.time} `) : new Uint8Array();
  const out = new Uint8Array(prefix.length + record.text.length + (record.full ? 1 : 0));
  out.set(prefix, 0);
  out.set(record.text, prefix.length);
  if (record.full) out[out.length - 1] = 0x0a;
  return out;
}
