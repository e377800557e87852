/**
 * Test helpers for the edge channel: a KubeEdge-style PKI made with lib/pki, a raw `ws` edge client that
 * records what it receives, and small waits. Used by tests/cloudhub_test.ts and tests/edgehub_test.ts.
 */
import { WebSocket } from "ws";
import { createLogger, type Logger } from "../../lib/log.ts";
import {
  certificateToPem,
  createCa,
  issueCertificate,
  type Issued,
  privateKeyToPem,
} from "../../lib/pki/mod.ts";
import { decode, encode, type Message } from "../../lib/protocol/mod.ts";

export interface TestPki {
  readonly ca: Issued;
  readonly caPem: string;
  readonly server: { readonly certPem: string; readonly keyPem: string };
  /** A client certificate for `node` (CN=system:node:<node>, O=system:nodes, clientAuth). */
  nodeCredentials(node: string, ca?: Issued): Promise<{ caPem: string; certPem: string; keyPem: string }>;
}

export async function createTestPki(): Promise<TestPki> {
  const ca = await createCa({ commonName: "KubeEdge" });
  const caPem = certificateToPem(ca.cert);
  const server = await serverCertificate(ca);
  return {
    ca,
    caPem,
    server,
    async nodeCredentials(node, signer = ca) {
      const leaf = await issueCertificate({
        ca: signer,
        commonName: `system:node:${node}`,
        organizations: ["system:nodes"],
        usages: ["client"],
      });
      return {
        caPem,
        certPem: certificateToPem(leaf.cert),
        keyPem: await privateKeyToPem(leaf.keys!.privateKey),
      };
    },
  };
}

export async function serverCertificate(ca: Issued): Promise<{ certPem: string; keyPem: string }> {
  const leaf = await issueCertificate({
    ca,
    commonName: "cloudcore",
    usages: ["server"],
    ipAddresses: ["127.0.0.1"],
  });
  return { certPem: certificateToPem(leaf.cert), keyPem: await privateKeyToPem(leaf.keys!.privateKey) };
}

/** Logs to nowhere unless KEDGE_TEST_LOG is set. */
export function testLogger(): Logger {
  const show = Deno.env.get("KEDGE_TEST_LOG") !== undefined;
  return createLogger({ level: "debug", write: show ? (line) => console.error(line) : () => {} });
}

export interface RawEdge {
  readonly ws: WebSocket;
  readonly received: Message[];
  /** Close code and reason once closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: Message): void;
  /** Resolves with the first received message (already received or future) that matches. */
  next(match?: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
  close(): Promise<void>;
}

export interface RawEdgeOptions {
  readonly port: number;
  readonly credentials: { caPem: string; certPem: string; keyPem: string };
  readonly nodeId?: string;
  readonly path?: string;
}

/** Opens a `ws` client like an upstream edge; rejects with the HTTP status or TLS error when refused. */
export function connectRawEdge(options: RawEdgeOptions): Promise<RawEdge> {
  const { port, credentials } = options;
  const headers: Record<string, string> = { project_id: "p" };
  if (options.nodeId !== undefined) headers.node_id = options.nodeId;
  const ws = new WebSocket(`wss://127.0.0.1:${port}${options.path ?? `/p/${options.nodeId ?? "x"}/events`}`, {
    ca: credentials.caPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
    headers,
    perMessageDeflate: false,
  });
  const received: Message[] = [];
  const waiters = new Set<() => void>();
  let resolveClosed: (value: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => resolveClosed = resolve);
  ws.on("message", (data) => {
    const result = decode(data as Uint8Array, { maxBytes: 64 * 1024 * 1024 });
    if (result.ok) received.push(result.message);
    for (const wake of waiters) wake();
  });
  ws.on("error", () => {/* surfaced through `closed` */});
  ws.on("close", (code, reason) => resolveClosed({ code, reason: reason.toString("utf8") }));
  const edge: RawEdge = {
    ws,
    received,
    closed,
    send: (message) => ws.send(encode(message)),
    next(match = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < received.length; seen++) {
            const m = received[seen]!;
            if (match(m)) {
              done();
              resolve(m);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`Cannot receive message: none matched within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) {
        ws.terminate();
        await closed;
      }
    },
  };
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(edge));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      ws.terminate();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.once("error", (err) => reject(err));
  });
}

/** Polls `predicate` every 10 ms until true, or throws after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) {
      throw new Error(`Cannot wait for ${what}: still false after ${timeoutMs} ms`);
    }
    await delay(10);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
