// Exec and attach (/exec/{ns}/{pod}[/{uid}]/{container}, /attach/...): the request is an upgrade (SPDY from
// the apiserver, or WebSocket v4/v5.channel.k8s.io); CRI Exec/Attach returns a one-time URL on containerd's
// streaming server, and the upgrade is handed to it byte for byte, as the kubelet proxies it. So the stream
// protocol (channels, resize, exit status) is containerd's, never reimplemented here.
import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { CriClient } from "../cri/mod.ts";
import { HttpError, queryFlag } from "./http_util.ts";
import { findPod, type LocalPods, runningContainer } from "./pod_lookup.ts";
import { requestHead, splice } from "./raw_http.ts";

export interface StreamDeps {
  readonly cri: CriClient;
  readonly pods: LocalPods;
  /** Longest command accepted, in arguments. */
  readonly maxCommandArgs?: number;
}

export type StreamKind = "exec" | "attach";

export async function serveStream(
  deps: StreamDeps,
  kind: StreamKind,
  segments: string[],
  params: URLSearchParams,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  if (segments.length !== 3 && segments.length !== 4) {
    throw new HttpError(400, `Cannot ${kind}: the path must be /${kind}/{namespace}/{pod}/{container}`);
  }
  const namespace = segments[0] ?? "";
  const podName = segments[1] ?? "";
  const uid = segments.length === 4 ? segments[2] : undefined;
  const container = segments[segments.length - 1] ?? "";
  const tty = queryFlag(params, "tty");
  const streams = {
    tty,
    stdin: queryFlag(params, "input") || queryFlag(params, "stdin"),
    stdout: queryFlag(params, "output") || queryFlag(params, "stdout"),
    stderr: !tty && (queryFlag(params, "error") || queryFlag(params, "stderr")),
  };
  if (!streams.stdin && !streams.stdout && !streams.stderr) {
    throw new HttpError(400, `Cannot ${kind}: at least one of stdin, stdout and stderr must be asked for`);
  }
  const pod = findPod(deps.pods, namespace, podName, uid);
  const instance = await runningContainer(deps.cri, pod, container);
  let url: string;
  if (kind === "exec") {
    const command = params.getAll("command");
    if (command.length === 0) throw new HttpError(400, "Cannot exec: no command given");
    if (command.length > (deps.maxCommandArgs ?? 1024)) {
      throw new HttpError(400, "Cannot exec: command too long");
    }
    url = await deps.cri.exec(instance.id, command, streams);
  } else {
    url = await deps.cri.attach(instance.id, streams);
  }
  await handOver(url, req, socket, head);
}

/** Sends the request to the streaming server's URL and splices the two connections. */
function handOver(url: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const target = new URL(url);
  if (target.protocol !== "http:") {
    throw new HttpError(
      502,
      `Cannot stream: the runtime's streaming URL is ${target.protocol}, only http: is supported`,
    );
  }
  return new Promise((resolve, reject) => {
    const upstream = net.connect(Number(target.port || 80), target.hostname.replace(/^\[|\]$/g, ""));
    upstream.once(
      "error",
      (error) =>
        reject(new HttpError(502, `Cannot stream: the runtime's streaming server: ${error.message}`)),
    );
    upstream.once("connect", () => {
      upstream.write(requestHead(req, `${target.pathname}${target.search}`, target.host));
      if (head.length > 0) upstream.write(head);
      splice(socket, upstream);
      resolve();
    });
  });
}
