// GET /containerLogs/{namespace}/{pod}/{container}: the kubelet's log endpoint, with its query options
// (follow, tailLines, sinceSeconds, sinceTime, timestamps, previous, limitBytes).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CriClient } from "../cri/mod.ts";
import { findPod, type LocalPods, pickInstance } from "./pod_lookup.ts";
import { HttpError, queryFlag, queryInt } from "./http_util.ts";
import { readContainerLog } from "./log_reader.ts";

export interface LogsDeps {
  readonly cri: CriClient;
  readonly pods: LocalPods;
  /** How often a followed log looks for new lines. */
  readonly followPollMs?: number;
}

export async function serveContainerLogs(
  deps: LogsDeps,
  segments: string[],
  params: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const [namespace, podName, container] = segments;
  if (segments.length !== 3 || !namespace || !podName || !container) {
    throw new HttpError(
      400,
      "Cannot get logs: the path must be /containerLogs/{namespace}/{pod}/{container}",
    );
  }
  const follow = queryFlag(params, "follow");
  const previous = queryFlag(params, "previous");
  const timestamps = queryFlag(params, "timestamps");
  const tailLines = queryInt(params, "tailLines");
  const limitBytes = queryInt(params, "limitBytes");
  const sinceSeconds = queryInt(params, "sinceSeconds");
  const sinceTime = params.get("sinceTime");
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = Date.now() - sinceSeconds * 1000;
  if (sinceTime) {
    const parsed = Date.parse(sinceTime);
    if (Number.isNaN(parsed)) throw new HttpError(400, "Cannot get logs: sinceTime is not an RFC 3339 time");
    sinceMs = parsed;
  }
  const pod = findPod(deps.pods, namespace, podName);
  const instance = await pickInstance(deps.cri, pod, container, previous);
  const status = await deps.cri.containerStatus(instance.id);
  if (!status.logPath) throw new HttpError(404, `Cannot get logs: container "${container}" has no log file`);
  try {
    await Deno.stat(status.logPath);
  } catch {
    throw new HttpError(404, `Cannot get logs: the log file of container "${container}" is gone`);
  }

  const abort = new AbortController();
  const onClose = () => abort.abort();
  req.on("close", onClose);
  res.on("close", onClose);
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "transfer-encoding": "chunked" });
  res.flushHeaders();
  try {
    await readContainerLog({
      path: status.logPath,
      tailLines,
      sinceMs,
      timestamps,
      limitBytes,
      follow: follow && !previous,
      pollMs: deps.followPollMs,
      signal: abort.signal,
      stillRunning: async () => {
        try {
          return (await deps.cri.containerStatus(instance.id)).state === "CONTAINER_RUNNING";
        } catch {
          return false;
        }
      },
      write: (chunk) =>
        new Promise<void>((resolve) => {
          if (abort.signal.aborted) return resolve();
          if (res.write(chunk)) return resolve();
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.once("drain", done);
          res.once("close", done);
        }),
    });
  } finally {
    req.off("close", onClose);
    if (!res.destroyed) res.end();
  }
}
