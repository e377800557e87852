/**
 * A crowd of edges in their own process (so that their TLS and timers do not run on the hub's thread): kedge's
 * edge client (edge/hub, full-jitter backoff) once per certificate in FILE, all dialling ADDRESS at
 * once, or spread over STAGGER_MS (boxes that boot one after another). Prints one JSON line per event: {"event":"connect","edge":i,"at":epochMs} and
 * {"event":"retry","edge":i,"reason":...,"delayMs":n,"at":epochMs}; closes every edge and exits when stdin closes.
 *
 *   deno run -A tests/abuse/crowd.ts ADDRESS FILE [STAGGER_MS]   (FILE: {caPem, edges: [{name, certPem, keyPem}]})
 */
import { startEdgeHub } from "../../edge/hub/mod.ts";
import { createLogger } from "../../lib/log.ts";

interface CrowdFile {
  caPem: string;
  edges: Array<{ name: string; certPem: string; keyPem: string }>;
}

// ADDRESS is HOST:PORT, or a port on 127.0.0.1.
const [addressArg = "", file, staggerArg] = Deno.args;
const address = addressArg.includes(":") ? addressArg : `127.0.0.1:${addressArg}`;
const staggerMs = Number(staggerArg ?? 0);
const { caPem, edges } = JSON.parse(await Deno.readTextFile(file ?? "")) as CrowdFile;
const encoder = new TextEncoder();
const emit = (record: Record<string, unknown>) =>
  Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(record)}\n`));

const hubs: Array<ReturnType<typeof startEdgeHub>> = [];
for (const [i, edge] of edges.entries()) {
  if (staggerMs > 0) await new Promise((r) => setTimeout(r, staggerMs / edges.length));
  hubs.push(startEdgeHub({
    server: address,
    projectID: "e632aba927ea4ac2b575ec1603d56f10",
    nodeName: edge.name,
    credentials: () => Promise.resolve({ caPem, certPem: edge.certPem, keyPem: edge.keyPem }),
    log: createLogger({
      level: "info",
      write: (line) => {
        const record = JSON.parse(line) as { msg?: string; reason?: string; delayMs?: number };
        if (record.msg === "reconnecting") {
          emit({ event: "retry", edge: i, reason: record.reason, delayMs: record.delayMs, at: Date.now() });
        }
      },
    }),
    onMessage: () => Promise.resolve(),
    onConnect: () => emit({ event: "connect", edge: i, at: Date.now() }),
    heartbeatMs: 1_000,
  }));
}

for await (const _ of Deno.stdin.readable) { /* until the parent closes stdin */ }
await Promise.all(hubs.map((hub) => hub.close()));
