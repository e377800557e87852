/**
 * The edge end of a tunnel in KubeEdge's framing (lib/tunnel/kubeedge_frame.ts), used when the cloud is
 * KubeEdge's: each CONNECT message is one request for the kubelet-style server on this box.
 *
 * - LOGS_CONNECT, METRIC_CONNECT: a GET of the connector's path and query; the body goes back as DATA and
 *   REMOVE_CONNECT ends it (the protocol carries no status: an error reply's text is the body).
 * - EXEC_CONNECT, ATTACH_CONNECT: the request is replayed on a TCP connection to the kubelet-style server
 *   and bytes flow raw both ways, the 101 answer included, as KubeEdge's edge does with its SPDY dialer.
 * - REMOVE_CONNECT from the cloud ends that request and is answered with REMOVE_CONNECT (KubeEdge's cloud
 *   waits for that answer to end an exec or attach); no DATA follows it. CLOSE_CONNECT closes the tunnel.
 *
 * Stricter than KubeEdge's edge: the connector's url.Host is ignored (only the local kubelet-style server is
 * reached), its path must be printable ASCII, and at most `maxConnections` run at once.
 */
import http from "node:http";
import net from "node:net";
import { Writable } from "node:stream";
import type { WebSocket } from "ws";
import {
  decodeKeMessage,
  encodeKeMessage,
  KE_MESSAGE,
  type KeConnector,
  type KeMessageType,
  pathOfGoUrl,
} from "../../lib/tunnel/kubeedge_frame.ts";
import type { Logger } from "../../lib/log.ts";
import type { LocalTarget } from "./local_request.ts";

export interface KubeEdgeSessionOptions {
  readonly target: LocalTarget;
  readonly log: Logger;
  /** Requests at once; one more is answered with REMOVE_CONNECT. Default 256. */
  readonly maxConnections?: number;
  /** Largest DATA payload. Default 32 KiB. */
  readonly maxFrameBytes?: number;
  /** The socket buffers more than this: readers wait. Default 4 MiB. */
  readonly highWaterBytes?: number;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
]);

export function serveKubeEdgeSession(ws: WebSocket, options: KubeEdgeSessionOptions): void {
  const maxConnections = options.maxConnections ?? 256;
  const maxFrame = options.maxFrameBytes ?? 32 * 1024;
  const highWater = options.highWaterBytes ?? 4 * 1024 * 1024;
  const { target, log } = options;
  /** id -> what DATA and REMOVE_CONNECT from the cloud do. */
  const open = new Map<number, { data(bytes: Uint8Array): void; removed(): void }>();

  const send = (id: number, type: KeMessageType, data?: Uint8Array, done?: (error?: Error) => void) => {
    if (ws.readyState !== 1) return done?.(new Error("Cannot send: the tunnel is closed"));
    ws.send(
      encodeKeMessage(id, type, data),
      { binary: false },
      done ? (e) => done(e ?? undefined) : undefined,
    );
  };
  /** DATA towards the cloud, as a Writable that waits while the socket buffers more than highWater. */
  const toCloud = (id: number) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        // Nothing after REMOVE_CONNECT: the cloud has forgotten the id.
        if (!open.has(id)) return callback();
        let waiting = false;
        for (let at = 0; at < chunk.length; at += maxFrame) {
          const piece = chunk.subarray(at, at + maxFrame);
          const last = at + maxFrame >= chunk.length;
          if (last && ws.readyState === 1 && ws.bufferedAmount >= highWater) {
            waiting = true;
            send(id, KE_MESSAGE.DATA, piece, callback);
          } else send(id, KE_MESSAGE.DATA, piece);
        }
        if (!waiting) callback();
      },
    });
  const finish = (id: number, tellCloud: boolean) => {
    if (!open.delete(id)) return;
    if (tellCloud) send(id, KE_MESSAGE.REMOVE_CONNECT);
  };

  const serve = (id: number, type: number, connector: KeConnector) => {
    const path = pathOfGoUrl(connector.url);
    if (!path || !/^\/[\x21-\x7e]*$/.test(path) || path.startsWith("//")) {
      log.info("kubeedge stream request refused", { id, reason: "bad path" });
      return send(id, KE_MESSAGE.REMOVE_CONNECT);
    }
    const headers: [string, string][] = [];
    for (const [name, values] of Object.entries(connector.header ?? {})) {
      if (!Array.isArray(values)) continue;
      for (const value of values) {
        if (typeof value === "string" && !/[\r\n]/.test(name + value)) headers.push([name, value]);
      }
    }
    if (type === KE_MESSAGE.EXEC_CONNECT || type === KE_MESSAGE.ATTACH_CONNECT) {
      const method = typeof connector.method === "string" && /^[A-Z]+$/.test(connector.method)
        ? connector.method
        : "GET";
      const socket = net.connect(target.port, target.host);
      const lines = [`${method} ${path} HTTP/1.1`, `Host: ${target.host}:${target.port}`];
      for (const [name, value] of headers) if (name.toLowerCase() !== "host") lines.push(`${name}: ${value}`);
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      open.set(id, {
        data: (bytes) => socket.write(bytes),
        removed: () => socket.destroy(),
      });
      const writer = toCloud(id);
      socket.pipe(writer);
      // REMOVE_CONNECT after the last DATA: once the writer has sent everything the socket gave it.
      writer.on("finish", () => finish(id, true));
      socket.on("error", () => socket.destroy());
      socket.on("close", () => !writer.writableEnded && finish(id, true));
      return;
    }
    const plain: Record<string, string[]> = {};
    for (const [name, value] of headers) {
      if (!HOP_BY_HOP.has(name.toLowerCase())) (plain[name.toLowerCase()] ??= []).push(value);
    }
    const req = http.request({
      host: target.host,
      port: target.port,
      method: "GET",
      path,
      headers: { ...plain, connection: "close" },
    });
    open.set(id, { data: () => {}, removed: () => req.destroy() });
    req.on("response", (res) => {
      const writer = toCloud(id);
      res.pipe(writer);
      writer.on("finish", () => finish(id, true));
      res.on("error", () => finish(id, true));
    });
    req.on("error", () => finish(id, true));
    req.end();
  };

  ws.on("message", (raw: Buffer) => {
    const message = decodeKeMessage(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    if (!message) return;
    switch (message.type) {
      case KE_MESSAGE.DATA:
        return open.get(message.id)?.data(message.data);
      case KE_MESSAGE.REMOVE_CONNECT: {
        // Answered with REMOVE_CONNECT, as KubeEdge's edge always does: KubeEdge's cloud ends an exec or
        // attach only on that answer (until then it resends REMOVE_CONNECT in a loop).
        const connection = open.get(message.id);
        finish(message.id, true);
        return connection?.removed();
      }
      case KE_MESSAGE.CLOSE_CONNECT:
        log.warn("kubeedge stream tunnel closed by the cloud", {
          reason: new TextDecoder().decode(message.data.subarray(0, 512)),
        });
        return void ws.close(1000);
      case KE_MESSAGE.LOGS_CONNECT:
      case KE_MESSAGE.METRIC_CONNECT:
      case KE_MESSAGE.EXEC_CONNECT:
      case KE_MESSAGE.ATTACH_CONNECT: {
        if (open.has(message.id) || open.size >= maxConnections) {
          return send(message.id, KE_MESSAGE.REMOVE_CONNECT);
        }
        let connector: KeConnector;
        try {
          connector = JSON.parse(new TextDecoder().decode(message.data));
        } catch {
          return send(message.id, KE_MESSAGE.REMOVE_CONNECT);
        }
        return serve(message.id, message.type, connector);
      }
      default:
        log.debug("kubeedge stream message of unknown type", { type: message.type });
    }
  });
  ws.on("close", () => {
    for (const [id, connection] of [...open]) {
      open.delete(id);
      connection.removed();
    }
  });
}
