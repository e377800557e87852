/**
 * The MetaServer (upstream's 127.0.0.1:10550): a Kubernetes-compatible API for apps on the box, served from
 * the edge store so it works with the cloud away. Reads: get, list and watch (resourceVersion, labelSelector,
 * fieldSelector) of this node's pods, ConfigMaps, Secrets, Services, Endpoints and its own Node, plus the
 * discovery documents kubectl needs. Writes go to the cloud through `forward` when connected; without the
 * cloud they are refused with 503 and a Status saying why. Plain HTTP, loopback only, no auth (as upstream).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { readBody } from "../../lib/http_body.ts";
import { isResourceVersion } from "../../lib/protocol/mod.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, httpServerTimeouts } from "../../lib/server_timeouts.ts";
import type { EdgeStore } from "../store/mod.ts";
import { type ChangeEvent, ChangeFeed } from "./change_feed.ts";
import { HttpError, pathSegments, queryFlag, queryInt, sendJson } from "./http_util.ts";
import {
  apiVersions,
  BY_NAME,
  coreResourceList,
  META_RESOURCES,
  type MetaResource,
  status,
} from "./meta_resources.ts";
import type { LocalPods } from "./pod_lookup.ts";
import { type KubeObject, parseFieldSelector, parseLabelSelector, type Selector } from "./selectors.ts";

export interface MetaServerOptions {
  /** Default 127.0.0.1. */
  readonly address?: string;
  /** Default 10550; 0 picks a free port. */
  readonly port?: number;
  readonly nodeName: string;
  readonly store: EdgeStore;
  /** When given, pods show the pod manager's current status (fresher than the cloud's copy when offline). */
  readonly pods?: LocalPods;
  /** Sends a write to the cloud (e.g. through the edge hub) and returns the cloud's answer. */
  readonly forward?: (request: Request) => Promise<Response>;
  /** Whether the cloud is reachable now; writes are refused while false. Default: true when forward is set. */
  readonly connected?: () => boolean;
  readonly log?: Logger;
  /** How often watched types are compared with the store. Default 500 ms; `notify()` is immediate. */
  readonly pollMs?: number;
  /** Largest write body, in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Time a connection gets to send its request headers, and a write its body. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Watches open at once. Default 100. */
  readonly maxWatches?: number;
  /** Longest watch before the server ends it (clients re-watch). Default 30 min. */
  readonly maxWatchSeconds?: number;
}

export interface MetaServer {
  readonly port: number;
  /** Tells the server the store changed (e.g. after the hub applied a cloud message), so watches see it now. */
  notify(): void;
  close(): Promise<void>;
}

/** The Status reason of each way a write is refused before it reaches the cloud. */
const WRITE_REFUSALS: Record<number, string> = {
  408: "Timeout",
  413: "RequestEntityTooLarge",
  503: "ServiceUnavailable",
};

interface ListRequest {
  resource: MetaResource;
  namespace?: string;
  name?: string;
}

export async function startMetaServer(options: MetaServerOptions): Promise<MetaServer> {
  const log = (options.log ?? createLogger({ component: "edgecore" })).child({ module: "metaserver" });
  const address = options.address ?? "127.0.0.1";
  const feed = new ChangeFeed(options.store, META_RESOURCES.map((r) => r.type));
  // The store is compared with the feed every pollMs only while someone watches: an idle box is not woken.
  const polling = pollWhileWatching(feed, options.pollMs ?? 500);
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS;
  const maxWatches = options.maxWatches ?? 100;
  const sockets = new Set<Duplex>();
  let advertised = address;

  const present = (resource: MetaResource, object: KubeObject): KubeObject => {
    const out: KubeObject = { apiVersion: "v1", kind: resource.kind, ...object };
    if (resource.type === "pod" && options.pods) {
      const live = options.pods.status(String(object.metadata && (object.metadata as { uid?: string }).uid));
      if (live) out.status = live;
    }
    return out;
  };
  /** Objects this node may see: its pods, its own Node, everything else in the store. */
  const visible = (resource: MetaResource, object: KubeObject): boolean => {
    if (resource.type === "node") return object.metadata?.name === options.nodeName;
    if (resource.type === "pod") {
      const nodeName = (object.spec as { nodeName?: string } | undefined)?.nodeName;
      return nodeName === undefined || nodeName === options.nodeName;
    }
    return true;
  };
  const matches = (req: ListRequest, labels: Selector, fields: Selector) => (object: KubeObject) =>
    visible(req.resource, object) &&
    (!req.namespace || object.metadata?.namespace === req.namespace) &&
    (!req.name || object.metadata?.name === req.name) &&
    labels(object) && fields(object);

  const parsePath = (segments: string[]): ListRequest | undefined => {
    // /api/v1/{resource}[/{name}] or /api/v1/namespaces/{ns}/{resource}[/{name}]
    if (segments[0] !== "api" || segments[1] !== "v1") return undefined;
    const rest = segments.slice(2);
    if (rest[0] === "namespaces" && rest.length >= 3) {
      const resource = BY_NAME.get(rest[2] ?? "");
      if (!resource?.namespaced || rest.length > 4) return undefined;
      return { resource, namespace: rest[1], name: rest[3] };
    }
    const resource = BY_NAME.get(rest[0] ?? "");
    if (!resource || rest.length > 2 || (rest.length === 2 && resource.namespaced)) return undefined;
    return { resource, name: rest[1] };
  };

  const read = (
    req: ListRequest,
    params: URLSearchParams,
    res: ServerResponse,
    incoming: IncomingMessage,
  ) => {
    const labels = parseLabelSelector(params.get("labelSelector"));
    const fields = parseFieldSelector(params.get("fieldSelector"));
    const filter = matches(req, labels, fields);
    const rv = params.get("resourceVersion");
    if (rv && !isResourceVersion(rv)) {
      throw new HttpError(400, "Cannot read resourceVersion: not a decimal number");
    }
    feed.scan();
    if (queryFlag(params, "watch")) return watch(req, filter, rv ?? "", params, res, incoming);
    const objects = options.store.list<KubeObject>(req.resource.type).map((s) => s.value).filter(filter);
    if (req.name) {
      const found = objects[0];
      if (!found) {
        const what = `${req.resource.name} "${req.name}"`;
        return sendJson(res, 404, status(404, "NotFound", `${what} not found`));
      }
      return sendJson(res, 200, present(req.resource, found));
    }
    sendJson(res, 200, {
      kind: `${req.resource.kind}List`,
      apiVersion: "v1",
      metadata: { resourceVersion: feed.latest },
      items: objects.map((o) => present(req.resource, o)),
    });
  };

  const watch = (
    req: ListRequest,
    filter: (o: KubeObject) => boolean,
    rv: string,
    params: URLSearchParams,
    res: ServerResponse,
    incoming: IncomingMessage,
  ) => {
    if (feed.watching >= maxWatches) throw new HttpError(429, "Cannot watch: too many watches open");
    const timeoutSeconds = Math.min(
      queryInt(params, "timeoutSeconds") ?? Infinity,
      options.maxWatchSeconds ?? 1800,
    );
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const send = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + "\n");
    const deliver = (event: ChangeEvent) => {
      if (event.storeType !== req.resource.type) return;
      const now = filter(event.object);
      const before = event.previous ? filter(event.previous) : false;
      if (event.type === "MODIFIED" && !now && before) {
        return send("DELETED", present(req.resource, event.object));
      }
      if (event.type === "MODIFIED" && now && !before) {
        return send("ADDED", present(req.resource, event.object));
      }
      if (now) send(event.type, present(req.resource, event.object));
    };
    if (rv === "" || rv === "0") {
      for (const stored of options.store.list<KubeObject>(req.resource.type)) {
        if (filter(stored.value)) send("ADDED", present(req.resource, stored.value));
      }
    } else {
      const missed = feed.since(rv, req.resource.type);
      if (!missed) {
        send("ERROR", status(410, "Expired", `too old resource version: ${rv} (${feed.latest})`));
        return void res.end();
      }
      for (const event of missed) deliver(event);
    }
    const unsubscribe = feed.subscribe(deliver);
    polling.update();
    const timer = setTimeout(() => res.end(), timeoutSeconds * 1000);
    const stop = () => {
      unsubscribe();
      polling.update();
      clearTimeout(timer);
    };
    incoming.on("close", stop);
    res.on("close", stop);
  };

  /** Answers a write without its body: the connection closes, or an unread body would hold it open. */
  const refuseWrite = (incoming: IncomingMessage, res: ServerResponse, code: number, message: string) => {
    if (!incoming.complete) res.setHeader("connection", "close");
    sendJson(res, code, status(code, WRITE_REFUSALS[code] ?? "BadRequest", message));
  };

  const write = async (incoming: IncomingMessage, res: ServerResponse) => {
    const connected = options.forward && (options.connected?.() ?? true);
    if (!options.forward || !connected) {
      return refuseWrite(
        incoming,
        res,
        503,
        "Cannot write: the cloud is not connected; the MetaServer serves reads only while offline",
      );
    }
    const tooLarge = `Cannot write: body larger than ${maxBody} bytes`;
    if (Number(incoming.headers["content-length"] ?? 0) > maxBody) {
      return refuseWrite(incoming, res, 413, tooLarge);
    }
    const read = await readBody(incoming, maxBody, requestTimeoutMs);
    if (!read.ok) {
      const why = read.status === 413
        ? tooLarge
        : read.status === 408
        ? `Cannot write: the body did not arrive within ${requestTimeoutMs} ms`
        : "Cannot write: the body could not be read";
      return refuseWrite(incoming, res, read.status, why);
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (typeof value === "string" && name !== "host" && name !== "connection") headers.set(name, value);
    }
    const body = read.body.length ? read.body : undefined;
    let reply: Response;
    try {
      reply = await options.forward(
        new Request(`http://${advertised}${incoming.url}`, { method: incoming.method, headers, body }),
      );
    } catch (error) {
      log.info("metaserver write not forwarded", { error });
      return sendJson(
        res,
        503,
        status(
          503,
          "ServiceUnavailable",
          `Cannot write: the cloud did not answer: ${(error as Error).message}`,
        ),
      );
    }
    const text = await reply.text();
    res.writeHead(reply.status, { "content-type": reply.headers.get("content-type") ?? "application/json" });
    res.end(text);
  };

  const route = async (incoming: IncomingMessage, res: ServerResponse) => {
    const url = new URL(incoming.url ?? "/", "http://metaserver");
    const segments = pathSegments(url.pathname);
    const path = "/" + segments.join("/");
    if (incoming.method === "GET" || incoming.method === "HEAD") {
      switch (path) {
        case "/api":
          return sendJson(res, 200, apiVersions(advertised));
        case "/apis":
          return sendJson(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: [] });
        case "/api/v1":
          return sendJson(res, 200, coreResourceList());
        case "/version":
          return sendJson(res, 200, {
            major: "1",
            minor: "34",
            gitVersion: "v1.34.0-kedge",
            platform: "linux",
          });
        case "/healthz":
        case "/readyz":
        case "/livez":
          res.writeHead(200, { "content-type": "text/plain" });
          return void res.end("ok");
      }
    }
    const target = parsePath(segments);
    if (!target) {
      return sendJson(
        res,
        404,
        status(404, "NotFound", `Cannot serve ${url.pathname}: not a resource the MetaServer has`),
      );
    }
    if (incoming.method === "GET" || incoming.method === "HEAD") {
      return read(target, url.searchParams, res, incoming);
    }
    if (["POST", "PUT", "PATCH", "DELETE"].includes(incoming.method ?? "")) return await write(incoming, res);
    return sendJson(res, 405, status(405, "MethodNotAllowed", `Cannot ${incoming.method} ${url.pathname}`));
  };

  const server = http.createServer({ maxHeaderSize: 16 * 1024, ...httpServerTimeouts(requestTimeoutMs) });
  server.on("request", (incoming: IncomingMessage, res: ServerResponse) => {
    route(incoming, res).catch((error) => {
      const code = error instanceof HttpError ? error.status : 500;
      if (code >= 500) log.warn("metaserver request failed", { path: incoming.url, error });
      const reason = code === 400 ? "BadRequest" : code === 429 ? "TooManyRequests" : "InternalError";
      sendJson(res, code, status(code, reason, (error as Error).message));
    });
  });
  server.on("connection", (socket: Duplex) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 10550, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  advertised = `${address}:${port}`;
  log.info("metaserver listening", { address, port });
  return {
    port,
    notify: () => feed.scan(),
    close: () =>
      new Promise<void>((resolve) => {
        polling.stop();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Runs `feed.scan()` every `everyMs` while the feed has watchers; `update()` after each (un)subscribe. */
function pollWhileWatching(feed: ChangeFeed, everyMs: number): { update(): void; stop(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  return {
    update() {
      if (feed.watching === 0) stop();
      else timer ??= setInterval(() => feed.scan(), everyMs);
    },
    stop,
  };
}
