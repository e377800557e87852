/**
 * Port forwarding (/portForward/{namespace}/{pod}[/{uid}]), the way exec is served (stream_proxy.ts): CRI
 * PortForward(sandbox) returns a one-time URL on containerd's streaming server, and the upgrade is handed
 * to it byte for byte. containerd speaks portforward.k8s.io (SPDY/3.1 from the apiserver, or WebSocket),
 * reads each stream pair's `port` header, dials that port inside the pod's network namespace (the host's
 * for a hostNetwork pod) and writes a refused dial on the error stream, which kubectl prints.
 *
 * What the edge adds: the SPDY frames are watched as they pass (spdy_guard.ts: streams at once, frame
 * sizes) and the connection is cut at the first one over a limit; a WebSocket request names its ports in
 * the query, at most `maxPorts`; and every forward to a pod ends once the pod has left the node, so kubectl
 * sees the connection end ("lost connection to pod") instead of a forward to nothing.
 */
import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { CriClient } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import { HttpError } from "./http_util.ts";
import { findPod, type LocalPods, readySandbox } from "./pod_lookup.ts";
import { requestHead } from "./raw_http.ts";
import { SpdyGuard, type SpdyLimits } from "./spdy_guard.ts";

export interface PortForwardOptions {
  readonly cri: CriClient;
  readonly pods: LocalPods;
  readonly log: Logger;
  readonly registry?: Registry;
  /** Limits on each SPDY connection. */
  readonly spdy?: SpdyLimits;
  /** Ports one WebSocket request may name. Default 64. */
  readonly maxPorts?: number;
  /** Forwards open at once on this node; one more is refused with 429. Default 256. */
  readonly maxConnections?: number;
  /** How often open forwards are checked against the node's pods. Default 1 s. */
  readonly podCheckMs?: number;
}

export interface PortForwards {
  serve(
    segments: string[],
    params: URLSearchParams,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void>;
  /** Forwards open now. */
  readonly open: number;
  close(): void;
}

/** Ports of a WebSocket request's `port` query values (each a comma list), as the kubelet reads them. */
export function queryPorts(params: URLSearchParams, maxPorts: number): number[] {
  const ports: number[] = [];
  for (const value of params.getAll("port")) {
    for (const text of value.split(",")) {
      const port = Number(text);
      if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
        throw new HttpError(400, `Cannot forward ports: "${text.slice(0, 20)}" is not a port (1-65535)`);
      }
      ports.push(port);
      if (ports.length > maxPorts) {
        throw new HttpError(400, `Cannot forward ports: more than ${maxPorts} ports asked for`);
      }
    }
  }
  if (ports.length === 0) {
    throw new HttpError(400, 'Cannot forward ports: query parameter "port" is required');
  }
  return ports;
}

export function portForwards(options: PortForwardOptions): PortForwards {
  const { cri, pods, log } = options;
  const maxConnections = options.maxConnections ?? 256;
  /** Open forward -> the UID of its pod; the function cuts it. */
  const open = new Map<() => void, string>();
  /** Forwards between the request and the relay (CRI calls, the dial). */
  let starting = 0;
  const gauge = options.registry?.gauge("kedge_edge_port_forwards", "Port forward connections open.");
  const cut = options.registry?.counter(
    "kedge_edge_port_forward_cut_total",
    "Port forward connections the edge ended, by reason (limit: a peer broke a limit; pod_gone).",
  );
  let timer: ReturnType<typeof setInterval> | undefined;
  const changed = () => {
    gauge?.set(open.size);
    if (open.size > 0 && !timer) {
      timer = setInterval(checkPods, options.podCheckMs ?? 1000);
      Deno.unrefTimer(timer);
    } else if (open.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  const checkPods = () => {
    const present = new Set(pods.pods().map((pod) => pod.metadata.uid));
    for (const [end, uid] of [...open]) {
      if (present.has(uid)) continue;
      log.info("port forward ended: pod left the node", { uid });
      cut?.inc({ reason: "pod_gone" });
      end();
    }
  };

  return {
    async serve(segments, params, req, socket, head) {
      if (segments.length !== 2 && segments.length !== 3) {
        throw new HttpError(
          400,
          "Cannot forward ports: the path must be /portForward/{namespace}/{pod}[/{uid}]",
        );
      }
      const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
      const spdy = upgrade.startsWith("spdy/");
      if (!spdy && upgrade !== "websocket") {
        throw new HttpError(
          400,
          `Cannot forward ports: upgrade "${upgrade.slice(0, 40)}" is neither SPDY nor WebSocket`,
        );
      }
      // SPDY names each port in its streams' headers; WebSocket in the query.
      const ports = spdy ? [] : queryPorts(params, options.maxPorts ?? 64);
      if (open.size + starting >= maxConnections) {
        throw new HttpError(429, `Cannot forward ports: ${maxConnections} forwards are open on this node`);
      }
      const pod = findPod(pods, segments[0] ?? "", segments[1] ?? "", segments[2]);
      let upstream: net.Socket;
      let url: URL;
      starting++;
      try {
        const sandbox = await readySandbox(cri, pod);
        url = new URL(await cri.portForward(sandbox.id, ports));
        if (url.protocol !== "http:") {
          throw new HttpError(
            502,
            `Cannot forward ports: the runtime's streaming URL is ${url.protocol}, only http: is supported`,
          );
        }
        upstream = await dial(url);
      } finally {
        starting--;
      }
      if (socket.destroyed) return void upstream.destroy();
      // As the kubelet's proxy does: the request's query goes along (a WebSocket forward's ports).
      const search = url.search || (params.size > 0 ? `?${params}` : "");
      upstream.write(requestHead(req, `${url.pathname}${search}`, url.host));
      const guard = spdy ? new SpdyGuard(options.spdy) : undefined;
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      const refuse = (problem: string) => {
        log.warn("port forward cut: a limit was broken", { pod: pod.metadata.name, uid: pod.uid, problem });
        cut?.inc({ reason: "limit" });
        end();
      };
      const early = head.length > 0 ? guard?.fromClient(head) : undefined;
      if (early) return refuse(early);
      if (head.length > 0) upstream.write(head);
      relay(socket, upstream, (chunk) => guard?.fromClient(chunk), refuse);
      relay(upstream, socket, (chunk) => guard?.fromServer(chunk), refuse);
      open.set(end, pod.uid);
      changed();
      let closed = false;
      const onClose = () => {
        if (closed) return;
        closed = true;
        end();
        open.delete(end);
        changed();
      };
      socket.on("close", onClose);
      upstream.on("close", onClose);
      socket.on("error", end);
      upstream.on("error", end);
    },
    get open() {
      return open.size;
    },
    close() {
      for (const end of [...open.keys()]) end();
      clearInterval(timer);
    },
  };
}

function dial(url: URL): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const upstream = net.connect(Number(url.port || 80), url.hostname.replace(/^\[|\]$/g, ""));
    upstream.once(
      "error",
      (error) =>
        reject(new HttpError(502, `Cannot forward ports: the runtime's streaming server: ${error.message}`)),
    );
    upstream.once("connect", () => resolve(upstream));
  });
}

/** Copies `from` to `to` with backpressure, each chunk first shown to `check`; a problem stops the copy. */
function relay(
  from: Duplex,
  to: Duplex,
  check: (chunk: Uint8Array) => string | undefined,
  refuse: (problem: string) => void,
): void {
  from.on("data", (chunk: Buffer) => {
    const problem = check(chunk);
    if (problem) return refuse(problem);
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.on("end", () => to.end());
}
