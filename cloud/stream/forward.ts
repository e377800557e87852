// Replica to replica: a request that landed on a replica without the node's tunnel goes to the replica
// holding it, over HTTPS with mutual TLS (certificates from the KubeEdge CA), naming the node in a header.
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { headerPairs, HOP_BY_HOP, rawHead, splice, writeRawError } from "./raw_http.ts";

/** Names the node on a forwarded request; only accepted from a peer replica's certificate. */
export const NODE_HEADER = "x-kedge-stream-node";

export interface PeerTls {
  /** The CA that signs replica certificates (the KubeEdge CA). */
  readonly caPem: string;
  /** This replica's certificate: serverAuth + clientAuth, SAN = its forward address. */
  readonly certPem: string;
  readonly keyPem: string;
  /** CN every replica certificate has; other certificates (edge nodes) are refused. Default "kedge-cloudcore". */
  readonly commonName?: string;
}

function hostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) throw new RangeError(`Cannot forward: bad peer address ${address}`);
  return { host: match[1] ?? "", port: Number(match[2]) };
}

export function forwardRequest(
  peer: string,
  node: string,
  peerTls: PeerTls,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const { host, port } = hostPort(peer);
  const headers: Record<string, string[]> = { [NODE_HEADER]: [node] };
  for (const [name, value] of headerPairs(req, new Set([...HOP_BY_HOP, NODE_HEADER]))) {
    (headers[name.toLowerCase()] ??= []).push(value);
  }
  const out = https.request({
    host,
    port,
    method: req.method,
    path: req.url,
    headers,
    ca: peerTls.caPem,
    cert: peerTls.certPem,
    key: peerTls.keyPem,
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
  });
  out.on("response", (reply) => {
    const headers: Record<string, string[]> = {};
    for (let i = 0; i + 1 < reply.rawHeaders.length; i += 2) {
      const name = (reply.rawHeaders[i] ?? "").toLowerCase();
      if (!HOP_BY_HOP.has(name)) (headers[name] ??= []).push(reply.rawHeaders[i + 1] ?? "");
    }
    res.writeHead(reply.statusCode ?? 502, headers);
    reply.pipe(res);
    res.on("close", () => reply.destroy());
  });
  out.on("error", (error) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`Cannot reach node ${node}: the replica holding its tunnel (${peer}) failed: ${error.message}`);
  });
  req.pipe(out);
}

export function forwardUpgrade(
  peer: string,
  node: string,
  peerTls: PeerTls,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const { host, port } = hostPort(peer);
  const out = tls.connect({
    host,
    port,
    ca: peerTls.caPem,
    cert: peerTls.certPem,
    key: peerTls.keyPem,
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
  });
  out.once("error", (error) => writeRawError(socket, 502, `Cannot reach node ${node}: ${error.message}`));
  out.once("secureConnect", () => {
    out.write(
      rawHead(req.method ?? "GET", req.url ?? "/", peer, [...headerPairs(req, new Set([NODE_HEADER])), [
        NODE_HEADER,
        node,
      ]]),
    );
    if (head.length > 0) out.write(head);
    splice(socket, out);
  });
}
