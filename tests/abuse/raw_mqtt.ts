/**
 * MQTT 3.1.1 packets built by hand, for what a client library will not send (a length that lies, a malformed
 * varint, wildcards in a PUBLISH topic), and a raw client on Deno.connect that reads only when asked: one that
 * never reads again is the slow subscriber.
 */
const encoder = new TextEncoder();

/** MQTT's remaining-length varint. */
export function varint(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

function utf8(text: string): number[] {
  const bytes = encoder.encode(text);
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

function packet(type: number, body: Uint8Array | number[]): Uint8Array {
  const header = [type, ...varint(body.length)];
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

export function connectPacket(clientId: string, username?: string, password?: string): Uint8Array {
  const flags = 0x02 | (username !== undefined ? 0x80 : 0) | (password !== undefined ? 0x40 : 0);
  return packet(0x10, [
    ...utf8("MQTT"),
    4,
    flags,
    0,
    60,
    ...utf8(clientId),
    ...(username !== undefined ? utf8(username) : []),
    ...(password !== undefined ? utf8(password) : []),
  ]);
}

export function subscribePacket(messageId: number, filters: readonly string[]): Uint8Array {
  return packet(0x82, [messageId >> 8, messageId & 0xff, ...filters.flatMap((f) => [...utf8(f), 0])]);
}

/** A QoS 0 PUBLISH; `size` pads the payload so the whole packet is that many bytes. */
export function publishPacket(topic: string, payload: string | { size: number }): Uint8Array {
  const name = utf8(topic);
  if (typeof payload === "string") return packet(0x30, [...name, ...encoder.encode(payload)]);
  // 1 type byte, the varint, then the body (topic and payload): the longest body that makes `size` in all.
  let body = payload.size - 1;
  while (1 + varint(body).length + body > payload.size) body--;
  const bytes = new Uint8Array(body).fill(0x61);
  bytes.set(name);
  return packet(0x30, bytes);
}

/** A PUBLISH fixed header claiming `remaining` bytes, for a body that never comes in full. */
export function lyingPublishHeader(remaining: number): Uint8Array {
  return Uint8Array.from([0x30, ...varint(remaining)]);
}

export interface RawMqtt {
  write(bytes: Uint8Array): Promise<boolean>;
  /** Reads until `bytes` bytes arrived (or the connection ended); returns what came. */
  read(bytes: number, timeoutMs?: number): Promise<Uint8Array>;
  /** Reads and drops everything until the broker closes; resolves with the bytes read, -1 after `timeoutMs`. */
  readToEnd(timeoutMs: number): Promise<number>;
  close(): void;
}

/** Connects, sends CONNECT and waits for a CONNACK that accepts it. */
export async function openRawMqtt(
  port: number,
  clientId: string,
  credentials: { username?: string; password?: string } = {},
): Promise<RawMqtt> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let closed = false;
  const raw: RawMqtt = {
    write: (bytes) => conn.write(bytes).then(() => true, () => false),
    async read(bytes, timeoutMs = 3_000) {
      const out = new Uint8Array(bytes);
      let at = 0;
      const deadline = setTimeout(() => raw.close(), timeoutMs);
      try {
        while (at < bytes) {
          const n = await conn.read(out.subarray(at)).catch(() => null);
          if (n === null) break;
          at += n;
        }
      } finally {
        clearTimeout(deadline);
      }
      return out.subarray(0, at);
    },
    async readToEnd(timeoutMs) {
      const buffer = new Uint8Array(256 * 1024);
      let total = 0;
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        raw.close();
      }, timeoutMs);
      for (;;) {
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) break;
        total += n;
      }
      clearTimeout(deadline);
      raw.close();
      return timedOut ? -1 : total;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* closed by the broker */ }
    },
  };
  await raw.write(connectPacket(clientId, credentials.username, credentials.password));
  const connack = await raw.read(4);
  if (connack[0] !== 0x20 || connack[3] !== 0) {
    raw.close();
    throw new Error(`Cannot connect ${clientId}: CONNACK ${[...connack]}`);
  }
  return raw;
}
