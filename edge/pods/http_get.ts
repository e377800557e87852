/**
 * One GET for an httpGet probe or lifecycle hook, as the kubelet makes it: HTTP or HTTPS, and for HTTPS the
 * pod's certificate is not verified (the kubelet sets InsecureSkipVerify: a pod serves whatever certificate
 * it has, usually self-signed). fetch() cannot skip verification per request, so this goes through
 * node:http(s). Redirects are not followed here (http_probe.ts does, for probes); at most 10 KiB of the body
 * is read, the rest is dropped.
 */
import http from "node:http";
import https from "node:https";

export interface HttpGetTarget {
  readonly scheme?: "HTTP" | "HTTPS";
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
}

const MAX_BODY_BYTES = 10 * 1024;

export interface HttpGetReply {
  readonly status: number;
  /** At most 10 KiB of it. */
  readonly body: string;
  readonly location?: string;
}

export function httpGet(target: HttpGetTarget): Promise<HttpGetReply> {
  const secure = target.scheme === "HTTPS";
  const path = target.path ? (target.path.startsWith("/") ? target.path : `/${target.path}`) : "/";
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({
      method: "GET",
      hostname: target.host,
      port: target.port,
      path,
      headers: { "User-Agent": "kube-probe/1.34", Accept: "*/*", ...target.headers },
      rejectUnauthorized: false,
      agent: false,
      timeout: target.timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
        size += chunk.length;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          ...(res.headers.location ? { location: res.headers.location } : {}),
        }));
      res.on("error", reject);
    });
    req.on(
      "timeout",
      () => req.destroy(new Error(`Cannot GET ${path}: timed out after ${target.timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end();
  });
}
