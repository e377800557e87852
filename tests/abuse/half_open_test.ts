/**
 * Half-open edges: 100 edges (kedge's edge client) in their own network namespace, joined to the host by a
 * veth pair, connect to the hub; then the namespace drops every packet both ways (nftables) and the process
 * holding their sockets is killed, so no FIN or RST ever reaches the hub. The hub must declare each dead
 * within its keepalive timeout and free what the session held; 10 rounds make 1,000 such sessions, beside
 * the 50 honest edges. Needs root (network namespaces); skipped otherwise.
 */
import assert from "node:assert/strict";
import { waitFor } from "../../cloud/hub/test_util.ts";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../../lib/pki/mod.ts";
import { createRunDir } from "../cluster/mod.ts";
import { assertWithstood, MiB, mib, pki, TEST_HUB_OPTIONS, underAttack } from "./hub_under_attack.ts";
import { crowdCredentials, startCrowd } from "./crowd_process.ts";

const EDGES = 100;
const ROUNDS = 10;
const KEEPALIVE_TIMEOUT_MS = TEST_HUB_OPTIONS.keepaliveTimeoutMs;
const isRoot = Deno.uid() === 0;

async function sh(argv: string[]): Promise<void> {
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`Cannot run ${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

function rss(): number {
  const line = Deno.readTextFileSync("/proc/self/status").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

Deno.test({
  name:
    `${ROUNDS} x ${EDGES} half-open edges in a network namespace (packets dropped, no FIN): each declared dead within the keepalive timeout, nothing kept`,
  ignore: !isRoot,
  async fn() {
    const gc = (globalThis as { gc?: () => void }).gc;
    assert.ok(
      gc,
      "run with --v8-flags=--expose-gc (tests/run_all.ts does): the heap is read after a full GC",
    );
    const run = await createRunDir("abuse-half-open");
    const tag = `${Deno.pid % 100_000}`;
    const ns = `kedge-ho-${tag}`;
    const hostIf = `kho${tag}`;
    const nsIf = `khn${tag}`;
    const net = `10.251.${Deno.pid % 250}`;
    const inNs = ["ip", "netns", "exec", ns];
    run.atReap(["ip", "netns", "del", ns]);
    run.atReap(["ip", "link", "del", hostIf]);
    try {
      await sh(["ip", "netns", "add", ns]);
      await sh(["ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
      await sh(["ip", "link", "set", nsIf, "netns", ns]);
      await sh(["ip", "addr", "add", `${net}.1/30`, "dev", hostIf]);
      await sh(["ip", "link", "set", hostIf, "up"]);
      await sh([...inNs, "ip", "addr", "add", `${net}.2/30`, "dev", nsIf]);
      await sh([...inNs, "ip", "link", "set", nsIf, "up"]);
      await sh([...inNs, "ip", "link", "set", "lo", "up"]);
      const drop = () =>
        sh([
          ...inNs,
          "nft",
          `add table inet halfopen; add chain inet halfopen in { type filter hook input priority 0; policy drop; }; ` +
          `add chain inet halfopen out { type filter hook output priority 0; policy drop; }`,
        ]);
      const pass = () => sh([...inNs, "nft", "delete table inet halfopen"]);
      // The hub's certificate names the host end of the veth too.
      const server = await issueCertificate({
        ca: pki.ca,
        commonName: "cloudcore",
        usages: ["server"],
        ipAddresses: ["127.0.0.1", `${net}.1`],
      });
      const tls = {
        caPem: pki.caPem,
        certPem: certificateToPem(server.cert),
        keyPem: await privateKeyToPem(server.keys!.privateKey),
      };
      const credentials = await crowdCredentials(pki, EDGES, "half-");
      const detections: number[] = [];
      const rssAfterRound: number[] = [];
      const heapAfterRound: number[] = [];
      let gone = 0;
      const report = await underAttack(
        { address: "0.0.0.0", tls, keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS },
        async ({ hub, port }) => {
          const names = Array.from({ length: EDGES }, (_, i) => `half-${i}`);
          for (let round = 0; round < ROUNDS; round++) {
            const crowd = await startCrowd(credentials, { address: `${net}.1:${port}`, wrap: inNs });
            try {
              await waitFor(
                () => names.every((n) => hub.connectedNodes().includes(n)),
                20_000,
                `round ${round}: all ${EDGES} connected from the namespace`,
              );
              await drop();
              const cut = performance.now();
              // Killed behind the drop: the kernel's FINs and RSTs for its sockets never leave the namespace.
              await crowd.kill();
              await waitFor(
                () => !names.some((n) => hub.connectedNodes().includes(n)),
                KEEPALIVE_TIMEOUT_MS + 5_000,
                `round ${round}: every half-open session dropped`,
              );
              detections.push(performance.now() - cut);
              gone += EDGES;
              for (const n of names) {
                assert.equal(
                  hub.queueStats(n).unacked,
                  0,
                  `${n}: nothing waits for an ack from a dead session`,
                );
              }
            } finally {
              await crowd.kill().catch(() => {});
              await pass().catch(() => {});
            }
            gc();
            rssAfterRound.push(rss());
            heapAfterRound.push(Deno.memoryUsage().heapUsed);
          }
        },
      );
      assertWithstood("half-open", report, 192 * MiB);
      const growth = heapAfterRound.at(-1)! - heapAfterRound[1]!;
      console.log(
        `half-open: ${gone} sessions, declared dead after ${Math.min(...detections).toFixed(0)}-${
          Math.max(...detections).toFixed(0)
        } ms (keepalive timeout ${KEEPALIVE_TIMEOUT_MS} ms); RSS after each round ${
          rssAfterRound.map(mib).join(", ")
        } MiB; heap ${heapAfterRound.map(mib).join(", ")} MiB`,
      );
      for (const d of detections) {
        assert.ok(d < KEEPALIVE_TIMEOUT_MS + 2_000, `declared dead after ${d.toFixed(0)} ms`);
      }
      // Rounds 2 to 10 repeat the same 100 nodes: what a dead session kept would show as steady growth of the
      // heap after a full GC (RSS is no measure: V8 keeps the pages it grew into). The honest edges' figures
      // grow meanwhile too, by about 0.1 MiB a round.
      assert.ok(growth < 4 * MiB, `the heap grew ${mib(growth)} MiB over ${ROUNDS - 2} rounds`);
    } finally {
      await sh(["ip", "netns", "del", ns]).catch(() => {});
      await sh(["ip", "link", "del", hostIf]).catch(() => {});
      await run.remove();
    }
  },
});
