/**
 * Starts tests/abuse/crowd.ts (kedge's edge client for many edges, in a child process) and collects what it
 * reports: each edge's connects and each failed dial or lost session with its reason and backoff wait.
 */
import type { TestPki } from "../../cloud/hub/test_util.ts";

export interface Crowd {
  /** Per edge: the epoch ms of each connect. */
  readonly connects: number[][];
  /** Per edge: why each dial or session ended (edge/hub logs it with "reconnecting"), its wait, and when. */
  readonly refusals: Array<Array<{ reason: string; delayMs: number; at: number }>>;
  /** The child's pid (the process holding every edge's socket). */
  readonly pid: number;
  /** Closes every edge cleanly (stdin closed); SIGKILL after 5 s. */
  close(): Promise<void>;
  /** SIGKILL now: the edges' sockets are left to the kernel. */
  kill(): Promise<void>;
}

export interface CrowdOptions {
  /** HOST:PORT of the hub. */
  readonly address: string;
  /** Start the edges one after another over this long. Default 0: all at once. */
  readonly staggerMs?: number;
  /** Runs the child through this command, e.g. ["ip", "netns", "exec", NS]. */
  readonly wrap?: readonly string[];
}

export interface CrowdCredentials {
  readonly caPem: string;
  readonly edges: ReadonlyArray<{ name: string; certPem: string; keyPem: string }>;
}

/**
 * Certificates for `count` edges named `${prefix}${i}`. Issue them before an attack starts: issuing is slow
 * and runs on the thread the hub under test shares.
 */
export async function crowdCredentials(
  pki: TestPki,
  count: number,
  prefix = "crowd-",
): Promise<CrowdCredentials> {
  const edges = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      name: `${prefix}${i}`,
      ...await pki.nodeCredentials(`${prefix}${i}`),
    })),
  );
  return { caPem: pki.caPem, edges };
}

/** One edge per certificate, kedge's edge client each, in a child process. */
export async function startCrowd(credentials: CrowdCredentials, o: CrowdOptions): Promise<Crowd> {
  const { edges } = credentials;
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(credentials));
  const connects: number[][] = edges.map(() => []);
  const refusals: Crowd["refusals"] = edges.map(() => []);
  const argv = [
    Deno.execPath(),
    "run",
    "--frozen",
    "-A",
    new URL("./crowd.ts", import.meta.url).pathname,
    o.address,
    file,
    String(o.staggerMs ?? 0),
  ];
  const [command, ...args] = [...(o.wrap ?? []), ...argv];
  const child = new Deno.Command(command!, { args, stdin: "piped", stdout: "piped", stderr: "inherit" })
    .spawn();
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        const record = JSON.parse(line) as {
          event: string;
          edge: number;
          at: number;
          reason?: string;
          delayMs?: number;
        };
        if (record.event === "connect") connects[record.edge]!.push(record.at);
        else {refusals[record.edge]!.push({
            reason: String(record.reason),
            delayMs: record.delayMs!,
            at: record.at,
          });}
      }
    }
  })();
  const done = async () => {
    await child.status;
    await reading.catch(() => {});
    await Deno.remove(file).catch(() => {});
  };
  return {
    connects,
    refusals,
    pid: child.pid,
    async close() {
      await child.stdin.close().catch(() => {});
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await done();
      clearTimeout(killer);
    },
    async kill() {
      child.kill("SIGKILL");
      await child.stdin.close().catch(() => {});
      await done();
    },
  };
}
