/**
 * The child that tests/abuse/store_test.ts kills with SIGKILL: an EdgeStore on the given file, written as the
 * cloud delivers (EdgeStore.put) and as the edge queues status (putUpstream). A line goes to stdout only
 * after the write returned, which is when edgecore would ack the delivery: "acked <uid> <resourceVersion>"
 * and "queued <key> <seq>". Usage: store_writer.ts <file> <first resourceVersion>.
 */
import { EdgeStore } from "../../edge/store/mod.ts";
import { createLogger } from "../../lib/log.ts";

/** Objects written over and over, so most puts update a row and some replace a larger or smaller one. */
export const WRITER_OBJECTS = 40;
/** Outbox keys, one per simulated pod status. */
export const WRITER_OUTBOX_KEYS = 10;

if (import.meta.main) {
  const [path, first] = Deno.args;
  if (!path || !first) throw new Error("usage: store_writer.ts <file> <first resourceVersion>");
  const store = new EdgeStore(path, createLogger({ level: "warn" }));
  const out = Deno.stdout;
  const encoder = new TextEncoder();
  const say = (line: string) => {
    const bytes = encoder.encode(line + "\n");
    for (let done = 0; done < bytes.length;) done += out.writeSync(bytes.subarray(done));
  };
  for (let version = Number(first);; version++) {
    const n = version % WRITER_OBJECTS;
    const uid = `uid-${n}`;
    const resourceVersion = String(version);
    // 0.2-6 KB: a value past a page's worth goes to overflow pages, so rows move between pages.
    const filler = "x".repeat(200 + (version * 7919) % 6000);
    store.put({
      key: `default/pod/pod-${n}`,
      type: "pod",
      uid,
      resourceVersion,
      value: { metadata: { name: `pod-${n}`, uid, resourceVersion }, spec: { filler } },
    });
    say(`acked ${uid} ${resourceVersion}`);
    if (version % 3 === 0) {
      const key = `default/podpatch/pod-${version % WRITER_OUTBOX_KEYS}`;
      store.putUpstream(key, { seq: version, status: { phase: "Running" } });
      say(`queued ${key} ${version}`);
    }
  }
}
