/**
 * Plain HTTP requests with bodies no honest client sends: 10 MB at loopback speed (with Content-Length or
 * chunked), or a byte every 200 ms. The answer is read while the body is still going out, as curl and Go's
 * client do, and the connection's lifetime is measured until the server closes it.
 */
import net from "node:net";
import http from "node:http";

export type BodyKind = "declared" | "chunked" | "trickle";

export interface RawReply {
  /** The answer's status, 0 when none came. */
  readonly status: number;
  /** From connect to the server closing the connection; -1 when it was still open after `waitMs`. */
  readonly closedAfterMs: number;
  /** Body bytes handed to the socket before the server closed it. */
  readonly bodyBytesSent: number;
}

const CHUNK = new Uint8Array(64 * 1024).fill(0x61);
const TRICKLE_EVERY_MS = 200;

/** `method path` with a body of `bytes` sent as `kind`; resolves once the server closed, or after `waitMs`. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  kind: BodyKind,
  bytes: number,
  waitMs: number,
): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    let sent = 0;
    let connectedAt = 0;
    let trickle: ReturnType<typeof setInterval> | undefined;
    const status = () => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ status: status(), closedAfterMs: -1, bodyBytesSent: sent });
    }, waitMs);
    socket.on("data", (data: Uint8Array) => answer += new TextDecoder().decode(data));
    socket.on("error", () => {/* EPIPE or a reset once the server closed: measured at close */});
    socket.once("close", () => {
      clearTimeout(giveUp);
      clearInterval(trickle);
      resolve({
        status: status(),
        closedAfterMs: Math.round(performance.now() - connectedAt),
        bodyBytesSent: sent,
      });
    });
    socket.once("connect", () => {
      connectedAt = performance.now();
      const length = kind === "chunked" ? "transfer-encoding: chunked" : `content-length: ${bytes}`;
      socket.write(
        `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${length}\r\n\r\n`,
      );
      if (kind === "trickle") {
        trickle = setInterval(() => {
          if (sent < bytes) socket.write("a", () => sent++);
        }, TRICKLE_EVERY_MS);
        return;
      }
      const pump = () => {
        while (sent < bytes && !socket.destroyed) {
          const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, bytes - sent));
          sent += chunk.length;
          const more = kind === "chunked"
            ? socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write("\r\n")
            : socket.write(chunk);
          if (!more) return void socket.once("drain", pump);
        }
        if (kind === "chunked" && !socket.destroyed) socket.write("0\r\n\r\n");
      };
      pump();
    });
  });
}

/** `method path` (with `body` if given) on its own connection; resolves with the status. */
export function plainRequest(port: number, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    if (body !== undefined) req.setHeader("content-type", "application/json");
    req.end(body);
  });
}
