/**
 * Child of tests/socket_reads_memory_test.ts, run with edgecore's V8 flags: a node:net client reads what a
 * server in the same process writes every 5 ms, with a full GC after every 50 reads (from a timer, so that the
 * event loop turns between the GC and the next read, as in an idle edgecore), and prints the malloc heap
 * (`[heap]` resident kB in /proc/self/smaps) after a warm-up and after `reads` more reads, as one JSON line.
 *
 * Each read of a node:net socket (Deno 2.8) lands in a 64 KiB malloc'd slab that the read's ArrayBuffer owns;
 * when V8 frees the ArrayBuffer, the slab goes back to a pool of the thread that frees it. Freed on one of
 * V8's background threads (concurrent ArrayBuffer sweeping), it is never used again: the main thread, which
 * reads, allocates a new slab, and the heap grows by 64 KiB a read until those threads' pools are full.
 */
import * as net from "node:net";

const WARM_UP = 100;
const READS = Number(Deno.args[0] ?? 2000);
const WRITE_EVERY_MS = 5;
const GC_EVERY = 50;

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== "function") throw new Error("Cannot measure: no gc(), run with --v8-flags=--expose-gc");

function heapKb(): number {
  let inHeap = false;
  let kb = 0;
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith("[heap]");
    else if (inHeap && line.startsWith("Rss:")) kb += Number(line.split(/\s+/)[1]);
  }
  return kb;
}

const server = net.createServer((socket) => {
  const chunk = new Uint8Array(900).fill(65);
  const timer = setInterval(() => socket.write(chunk), WRITE_EVERY_MS);
  socket.on("close", () => clearInterval(timer));
  socket.on("error", () => clearInterval(timer));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as net.AddressInfo;

let reads = 0;
let before = 0;
const done = Promise.withResolvers<number>();
const client = net.connect({ port, host: "127.0.0.1" });
client.on("data", () => {
  reads++;
  if (reads % GC_EVERY === 0) setTimeout(() => gc(), 0);
  if (reads === WARM_UP) before = heapKb();
  if (reads === WARM_UP + READS) done.resolve(heapKb());
});
const after = await done.promise;
client.destroy();
server.close();
console.log(JSON.stringify({ reads: READS, beforeKb: before, afterKb: after }));
Deno.exit(0);
