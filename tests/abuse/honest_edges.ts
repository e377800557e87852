/**
 * Honest simulated edges that run beside an attack: each with its own client certificate, dialled as
 * kedge's edgecore dials (bench/edge_sim_messages.ts), sending the KubeEdge keepalive every second and one
 * `query default/configmap/x` a second, and timing each reply. The period is short so a test of a few
 * seconds sees many of both. "Unaffected" means no edge lost its session and every request had its
 * answer within REPLY_DEADLINE_MS.
 */
import { WebSocket } from "ws";
import type { TestPki } from "../../cloud/hub/test_util.ts";
import { encode, keepaliveMessage, type Message, newMessage } from "../../lib/protocol/mod.ts";
import { dialEdge, everyWhileOpen } from "../../bench/edge_sim_messages.ts";

export const HONEST_EDGES = 50;
/** A request unanswered this long counts as missed. */
export const REPLY_DEADLINE_MS = 2_000;
const KEEPALIVE_EVERY_MS = 1_000;
const REQUEST_EVERY_MS = 1_000;

export interface EdgeCredentials {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface EdgeFigures {
  readonly node: string;
  /** Sessions lost before stop(). */
  readonly disconnects: number;
  readonly requests: number;
  /** Requests with no reply (or an error reply) within REPLY_DEADLINE_MS. */
  readonly missedReplies: number;
  readonly keepalives: number;
  /** Reply time of this edge's requests, 99th percentile. */
  readonly p99ReplyMs: number;
  readonly replyMs: readonly number[];
}

export interface HonestEdges {
  readonly nodes: readonly string[];
  /** Stops sending, waits for the replies still due, closes every edge and returns each one's figures. */
  stop(): Promise<EdgeFigures[]>;
}

/** The query an honest edge sends; the test hub answers it with a response. */
export function honestRequest(_node?: string): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/x",
    content: null,
  });
}

/** Issues `count` client certificates (honest-0 ...), once per test file: issuing is the slow part. */
export function honestCredentials(pki: TestPki, count = HONEST_EDGES): Promise<EdgeCredentials[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const name = `honest-${i}`;
    const { certPem, keyPem } = await pki.nodeCredentials(name);
    return { name, certPem, keyPem };
  }));
}

export async function startHonestEdges(
  port: number,
  caPem: string,
  credentials: readonly EdgeCredentials[],
  /** What each edge asks once a second; against a real cloudcore, something its node may ask. */
  request: (node: string) => Message = honestRequest,
): Promise<HonestEdges> {
  const edges = await Promise.all(credentials.map((c) => startEdge(port, caPem, c, request)));
  return {
    nodes: credentials.map((c) => c.name),
    async stop() {
      for (const edge of edges) edge.stopSending();
      await Promise.all(edges.map((edge) => edge.settled()));
      return Promise.all(edges.map((edge) => edge.close()));
    },
  };
}

/** The honest edges' figures in one line, for a failed assertion or the test's log. */
export function describe(figures: readonly EdgeFigures[]): string {
  const sum = (f: (e: EdgeFigures) => number) => figures.reduce((n, e) => n + f(e), 0);
  const all = figures.flatMap((e) => e.replyMs);
  return `${figures.length} honest edges: ${sum((e) => e.disconnects)} disconnects, ` +
    `${sum((e) => e.missedReplies)}/${sum((e) => e.requests)} replies missed, ` +
    `${sum((e) => e.keepalives)} keepalives, reply p99 ${percentile(all, 0.99).toFixed(1)} ms, ` +
    `worst edge p99 ${Math.max(0, ...figures.map((e) => e.p99ReplyMs)).toFixed(1)} ms`;
}

/** None of them lost its session or missed a reply. */
export function unaffected(figures: readonly EdgeFigures[]): boolean {
  return figures.every((e) => e.disconnects === 0 && e.missedReplies === 0 && e.requests > 0);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

interface Edge {
  stopSending(): void;
  /** Resolves once no request is waiting for its reply. */
  settled(): Promise<void>;
  close(): Promise<EdgeFigures>;
}

async function startEdge(
  port: number,
  caPem: string,
  credentials: EdgeCredentials,
  request: (node: string) => Message,
): Promise<Edge> {
  const node = credentials.name;
  const ws = await dialEdge(port, caPem, node, credentials);
  /** msg_id -> send time. */
  const waiting = new Map<string, number>();
  const replyMs: number[] = [];
  let requests = 0;
  let missedReplies = 0;
  let keepalives = 0;
  let disconnects = 0;
  let sending = true;
  let stopping = false;

  ws.on("error", () => {/* counted as a disconnect on close */});
  ws.once("close", () => {
    if (!stopping) disconnects++;
  });
  ws.on("message", (data) => {
    const reply = parseReply(data);
    const sentAt = reply && waiting.get(reply.parent);
    if (!reply || sentAt === undefined) return;
    waiting.delete(reply.parent);
    const elapsed = performance.now() - sentAt;
    if (reply.operation !== "response" || elapsed > REPLY_DEADLINE_MS) missedReplies++;
    else replyMs.push(elapsed);
  });
  const expire = () => {
    const cutoff = performance.now() - REPLY_DEADLINE_MS;
    for (const [id, sentAt] of waiting) {
      if (sentAt > cutoff) break; // insertion order is send order
      waiting.delete(id);
      missedReplies++;
    }
  };
  const sweeper = setInterval(expire, 100);
  const send = (message: Message) => {
    if (sending && ws.readyState === WebSocket.OPEN) ws.send(encode(message));
  };
  everyWhileOpen(ws, KEEPALIVE_EVERY_MS, () => {
    if (!sending) return;
    keepalives++;
    send(keepaliveMessage());
  });
  everyWhileOpen(ws, REQUEST_EVERY_MS, () => {
    if (!sending || ws.readyState !== WebSocket.OPEN) return;
    const message = request(node);
    waiting.set(message.header.msg_id, performance.now());
    requests++;
    send(message);
  });

  return {
    stopSending: () => void (sending = false),
    async settled() {
      while (waiting.size > 0 && ws.readyState === WebSocket.OPEN) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        expire();
      }
    },
    async close() {
      stopping = true;
      clearInterval(sweeper);
      // Whatever is still waiting (the socket closed under it) is missed.
      missedReplies += waiting.size;
      waiting.clear();
      if (ws.readyState !== WebSocket.CLOSED) {
        const closed = new Promise((resolve) => ws.once("close", resolve));
        ws.terminate();
        await closed;
      }
      return {
        node,
        disconnects,
        requests,
        missedReplies,
        keepalives,
        p99ReplyMs: percentile(replyMs, 0.99),
        replyMs,
      };
    },
  };
}

function parseReply(data: unknown): { parent: string; operation: string } | undefined {
  try {
    const message = JSON.parse(String(data)) as {
      header?: { parent_msg_id?: unknown };
      route?: { operation?: unknown };
    };
    const parent = message.header?.parent_msg_id;
    const operation = message.route?.operation;
    return typeof parent === "string" && typeof operation === "string" ? { parent, operation } : undefined;
  } catch {
    return undefined;
  }
}
