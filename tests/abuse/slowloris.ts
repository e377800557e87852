/**
 * Slowloris against a TLS port: many TCP sockets that never finish the TLS handshake (silent, or a byte of a
 * ClientHello every 5 s), and TLS sockets that finish it and then trickle their request headers. Each
 * socket's lifetime is measured from its TCP connect to the server closing it. Against a plain HTTP port
 * (`plain`), the stalled sockets send a byte of a request line instead, and the trickling ones skip TLS.
 */
import net from "node:net";
import tls from "node:tls";
import { delay } from "../../cloud/hub/test_util.ts";
import type { Credentials } from "./raw_ws.ts";

/** The start of a TLS 1.2 ClientHello record, sent a byte at a time. */
const CLIENT_HELLO = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03];
/** The same for a plain HTTP port: a request line, a byte at a time. */
const REQUEST_LINE = [...new TextEncoder().encode("GET / HTTP/1.1\r\n")];
const HELLO_BYTE_EVERY_MS = 5_000;
const HEADER_LINE_EVERY_MS = 200;
/** Connects opened at once: more would overflow the listen backlog (511) and retry SYNs after 1 s. */
const CONNECT_BATCH = 200;

export interface Slowloris {
  readonly sockets: number;
  /** Resolves with each socket's lifetime (connect to close) once all are closed, or after `timeoutMs`. */
  closed(timeoutMs: number): Promise<{ lifetimesMs: number[]; stillOpen: number }>;
  /** Destroys whatever is still open. */
  destroy(): void;
}

export interface SlowlorisFigures {
  readonly stalled: SocketFigures;
  readonly trickling: SocketFigures;
  /** How long each honest connect took while the attack held its sockets. */
  readonly honestConnectMs: number[];
}

export interface SocketFigures {
  readonly sockets: number;
  /** The longest a socket lived before the server closed it. */
  readonly maxMs: number;
  readonly stillOpen: number;
}

/**
 * `wanted` stalled sockets, fewer when `ulimit -n` has no room: in a test each costs two descriptors of
 * this process (client and server side) besides the `inUse` ones.
 */
export async function slowlorisCount(wanted: number, inUse: number): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const limit = text === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(text);
  const room = Math.floor((limit - inUse - 512) / 2);
  if (room < wanted) console.log(`slowloris: ${room} sockets instead of ${wanted}: ulimit -n is ${limit}`);
  return Math.min(wanted, room);
}

export interface SlowlorisAttack {
  readonly port: number;
  readonly stalled: number;
  readonly trickling: { count: number; credentials?: Credentials; path: string };
  /** A plain HTTP port: no TLS. */
  readonly plain?: boolean;
  /** How long to wait for the server to close them all. */
  readonly timeoutMs: number;
  /** An honest connect, timed 5 times while the attack holds its sockets. */
  honestConnect(): Promise<void>;
}

/** Stalled handshakes and trickling headers at once; every socket is destroyed before this returns. */
export async function runSlowloris(attack: SlowlorisAttack): Promise<SlowlorisFigures> {
  const open: Slowloris[] = [];
  try {
    const plain = attack.plain ?? false;
    const stalled = await stalledHandshakes(attack.port, attack.stalled, plain);
    open.push(stalled);
    const { count, credentials, path } = attack.trickling;
    const trickling = await tricklingHeaders(attack.port, count, credentials, path, plain);
    open.push(trickling);
    const honestConnectMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await attack.honestConnect();
      honestConnectMs.push(Math.round(performance.now() - start));
    }
    const [s, t] = await Promise.all([stalled.closed(attack.timeoutMs), trickling.closed(attack.timeoutMs)]);
    const figures = (of: Slowloris, closed: { lifetimesMs: number[]; stillOpen: number }) => ({
      sockets: of.sockets,
      maxMs: Math.round(Math.max(0, ...closed.lifetimesMs)),
      stillOpen: closed.stillOpen,
    });
    return { stalled: figures(stalled, s), trickling: figures(trickling, t), honestConnectMs };
  } finally {
    for (const s of open) s.destroy();
  }
}

/** `count` TCP sockets: half silent, half sending a ClientHello (`plain`: request line) byte every 5 s. */
export function stalledHandshakes(port: number, count: number, plain = false): Promise<Slowloris> {
  const bytes = plain ? REQUEST_LINE : CLIENT_HELLO;
  return open(count, (i, onClose) => {
    const socket = net.connect(port, "127.0.0.1");
    let timer: ReturnType<typeof setInterval> | undefined;
    let connectedAt = 0;
    socket.on("error", () => {/* reset by the server: closed */});
    // A plain HTTP server answers 408 before it closes: read it, or the close is never seen.
    socket.on("data", () => {});
    socket.once("connect", () => {
      connectedAt = performance.now();
      if (i % 2 === 0) return; // the silent half
      let next = 0;
      const sendByte = () => socket.write(Uint8Array.of(bytes[next++ % bytes.length]!));
      sendByte();
      timer = setInterval(sendByte, HELLO_BYTE_EVERY_MS);
    });
    socket.once("close", () => {
      clearInterval(timer);
      onClose(connectedAt ? performance.now() - connectedAt : 0);
    });
    return { connected: once(socket, "connect"), destroy: () => socket.destroy() };
  });
}

/**
 * `count` TLS sockets (`plain`: TCP) that finish the handshake (with `credentials` when given) and then send
 * a request line and one header line every 200 ms, never the blank line that ends the headers.
 */
export function tricklingHeaders(
  port: number,
  count: number,
  credentials: Credentials | undefined,
  path: string,
  plain = false,
): Promise<Slowloris> {
  const ready = plain ? "connect" : "secureConnect";
  return open(count, (_i, onClose) => {
    const socket = plain ? net.connect(port, "127.0.0.1") : tls.connect({
      host: "127.0.0.1",
      port,
      ca: credentials?.caPem,
      cert: credentials?.certPem,
      key: credentials?.keyPem,
      rejectUnauthorized: false,
    });
    let timer: ReturnType<typeof setInterval> | undefined;
    let connectedAt = 0;
    socket.on("error", () => {/* reset by the server: closed */});
    socket.on("data", () => {/* the 408, if any */});
    socket.once(ready, () => {
      connectedAt = performance.now();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
      let n = 0;
      timer = setInterval(() => socket.write(`x-slow-${n++}: 1\r\n`), HEADER_LINE_EVERY_MS);
    });
    socket.once("close", () => {
      clearInterval(timer);
      onClose(connectedAt ? performance.now() - connectedAt : 0);
    });
    return { connected: once(socket, ready), destroy: () => socket.destroy() };
  });
}

type Opener = (
  index: number,
  onClose: (lifetimeMs: number) => void,
) => { connected: Promise<void>; destroy(): void };

async function open(count: number, openOne: Opener): Promise<Slowloris> {
  const lifetimesMs: number[] = [];
  const destroyers: Array<() => void> = [];
  for (let from = 0; from < count; from += CONNECT_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = from; i < Math.min(count, from + CONNECT_BATCH); i++) {
      const socket = openOne(i, (ms) => lifetimesMs.push(ms));
      destroyers.push(socket.destroy);
      batch.push(socket.connected);
    }
    await Promise.all(batch);
  }
  return {
    sockets: count,
    async closed(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (lifetimesMs.length < count && performance.now() < deadline) await delay(20);
      return { lifetimesMs: [...lifetimesMs], stillOpen: count - lifetimesMs.length };
    },
    destroy: () => destroyers.forEach((destroy) => destroy()),
  };
}

/** Resolves on `event`, or on close (a socket the server refused still counts as opened). */
function once(socket: net.Socket, event: string): Promise<void> {
  return new Promise((resolve) => {
    socket.once(event, () => resolve());
    socket.once("close", () => resolve());
  });
}
