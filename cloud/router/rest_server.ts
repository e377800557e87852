/**
 * The Router's rest endpoint on cloudcore (KubeEdge's: plain HTTP, port 9443, any method):
 * `/{nodeName}/{namespace}/{path}` goes by the namespace's rest rules to the node's EventBus (answer 200
 * "message delivered" once handed to the node's session) or to an app on the node through its ServiceBus
 * (the app's answer: status, headers, body). Refusals: 404 for a path of no rule or a node that is no edge
 * node, 503 for a node not connected here or too many calls waiting, 413 for a body over maxBodyBytes,
 * 408 when the box does not answer within restTimeout (KubeEdge's "wait to get response time out").
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../../lib/log.ts";
import { readBody, sendText } from "../../lib/http_body.ts";
import { headersFromWire, headersToWire } from "../../lib/http_headers.ts";
import type { Message } from "../../lib/protocol/mod.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, httpServerTimeouts } from "../../lib/server_timeouts.ts";
import { parseRequestPath } from "./rest_path.ts";
import type { RouteTable } from "./route_table.ts";
import type { Route } from "./rule_spec.ts";
import { CallTimeoutError, type ServiceCalls } from "./service_calls.ts";
import { publishMessage, serviceCallMessage } from "./wire.ts";

/** A message the node's session cannot take now (its socket is full); the caller gets 503 to retry. */
function isBusy(error: unknown): boolean {
  return (error as Error)?.name === "NodeBusyError";
}

/** Header KubeEdge's edge puts on answers it made itself (the app could not be called). */
export const EDGE_ERROR_SERVER = "kubeedge-edgecore";

export type RestRefusal =
  | "bad_path"
  | "no_rule"
  | "unknown_node"
  | "node_not_connected"
  | "too_large"
  | "bad_body"
  | "too_many_calls"
  | "node_busy"
  | "timeout";

export interface RestServerOptions {
  readonly address: string;
  readonly port: number;
  readonly log: Logger;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
  readonly table: RouteTable;
  readonly calls: ServiceCalls;
  readonly isEdgeNode: (node: string) => boolean;
  readonly isConnected: (node: string) => boolean;
  /** Writes a message to the node's session now; throws when it has none. */
  readonly post: (node: string, message: Message) => void;
  /** One routed message of `route`: counted on the Rule's status and in the metrics. */
  readonly record: (route: Route, ok: boolean, error?: string) => void;
  readonly refused: (reason: RestRefusal) => void;
}

export interface RestServer {
  readonly port: number;
  close(): Promise<void>;
}

const decoder = new TextDecoder();

export async function startRestServer(o: RestServerOptions): Promise<RestServer> {
  const server: Server = createServer(
    { ...httpServerTimeouts(DEFAULT_SERVER_TIMEOUT_MS) },
    (req, res) => {
      handle(o, req, res).catch((error) => {
        o.log.error("rest request failed", { error });
        if (!res.headersSent) void sendText(req, res, 500, "Cannot route: internal error\n");
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once(
      "error",
      (err) => reject(new Error(`Cannot listen on ${o.address}:${o.port}: ${err.message}`)),
    );
    server.listen(o.port, o.address, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : o.port;
  o.log.info("router rest endpoint listening", { address: o.address, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(o: RestServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refuse = (status: number, reason: RestRefusal, text: string) => {
    o.refused(reason);
    o.log.debug("rest request refused", { reason, path: (req.url ?? "").slice(0, 300) });
    return sendText(req, res, status, `${text}\n`);
  };
  const path = parseRequestPath(req.url ?? "");
  if (!path) return refuse(404, "bad_path", "Cannot route: the path must be /{nodeName}/{namespace}/{path}");
  const match = o.table.matchRest(path.namespace, path.levels, path.query);
  if (!match) return refuse(404, "no_rule", `Cannot route ${req.url}: no rule matches`);
  const { node } = path;
  const { route } = match;
  if (!o.isEdgeNode(node)) {
    return refuse(404, "unknown_node", `Cannot route to node ${node}: no such edge node`);
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > o.maxBodyBytes) {
    return refuse(413, "too_large", `Cannot route: the body is over ${o.maxBodyBytes} bytes`);
  }
  if (!o.isConnected(node)) {
    const why = `Cannot route to node ${node}: it is not connected to this cloudcore`;
    o.record(route, false, why);
    return refuse(503, "node_not_connected", why);
  }
  const read = await readBody(req, o.maxBodyBytes);
  if (!read.ok) {
    return read.status === 413
      ? refuse(413, "too_large", `Cannot route: the body is over ${o.maxBodyBytes} bytes`)
      : refuse(read.status, "bad_body", "Cannot route: the body could not be read");
  }
  if (route.kind === "rest->eventbus") {
    try {
      o.post(node, publishMessage(match.target, decoder.decode(read.body)));
    } catch (error) {
      const why = `Cannot publish to ${match.target} on node ${node}: ${(error as Error).message}`;
      o.record(route, false, why);
      return refuse(503, isBusy(error) ? "node_busy" : "node_not_connected", why);
    }
    o.record(route, true);
    return sendText(req, res, 200, "message delivered");
  }
  if (o.calls.full) return refuse(503, "too_many_calls", "Cannot route: too many calls are waiting");
  const call = serviceCallMessage(route.servicePort, match.target, {
    header: headersToWire(req.headers),
    body: read.body,
    method: req.method ?? "GET",
    url: "",
  });
  const left = new AbortController();
  res.once("close", () => left.abort());
  const answer = o.calls.wait(call.header.msg_id, node, o.timeoutMs, left.signal);
  try {
    o.post(node, call);
  } catch (error) {
    o.calls.cancel(call.header.msg_id, error as Error);
  }
  try {
    const got = await answer;
    const headers = headersFromWire(got.header);
    const madeByEdge = String(headers.server ?? "") === EDGE_ERROR_SERVER;
    if (madeByEdge) o.record(route, false, `node ${node}: ${decoder.decode(got.body).slice(0, 500)}`);
    else o.record(route, true);
    res.writeHead(got.status_code, { ...headers, "content-length": got.body.byteLength });
    res.end(got.body);
  } catch (error) {
    const why = (error as Error).message;
    o.record(route, false, why);
    if (left.signal.aborted) return;
    if (error instanceof CallTimeoutError) return refuse(408, "timeout", "wait to get response time out");
    return refuse(503, isBusy(error) ? "node_busy" : "node_not_connected", why);
  }
}
