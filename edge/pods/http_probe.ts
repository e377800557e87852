/**
 * An httpGet probe, as the kubelet's pkg/probe/http: a status from 200 to 399 passes, anything else, a refused
 * connection or the timeout fails. Redirects to the same host are followed (at most 10); a redirect to
 * another host is not, and passes with a warning (the kubelet's ProbeWarning event, with the start of the
 * body). The timeout covers the whole chain. HTTPS does not verify the pod's certificate (http_get.ts).
 */
import { httpGet } from "./http_get.ts";

export interface HttpProbeResult {
  readonly result: "success" | "warning" | "failure";
  /** The failure, or the warning; the body on success. */
  readonly output: string;
}

const MAX_REDIRECTS = 10;
const FOLLOWED = new Set([301, 302, 303, 307, 308]);

export async function httpProbe(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpProbeResult> {
  const deadline = Date.now() + timeoutMs;
  const first = new URL(url);
  let current = first;
  try {
    for (let hops = 0;; hops++) {
      const res = await httpGet({
        scheme: current.protocol === "https:" ? "HTTPS" : "HTTP",
        host: current.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: Number(current.port || (current.protocol === "https:" ? 443 : 80)),
        path: `${current.pathname}${current.search}`,
        headers,
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
      const next = res.location && FOLLOWED.has(res.status) ? new URL(res.location, current) : undefined;
      if (next && next.hostname === first.hostname) {
        if (hops + 1 >= MAX_REDIRECTS) return { result: "failure", output: "stopped after 10 redirects" };
        current = next;
        continue;
      }
      if (res.status < 200 || res.status >= 400) {
        // The kubelet's words; the body is left out of a failure on purpose (issue 99425).
        return { result: "failure", output: `HTTP probe failed with statuscode: ${res.status}` };
      }
      if (res.status >= 300) {
        return { result: "warning", output: `Probe terminated redirects, Response body: ${res.body}` };
      }
      return { result: "success", output: res.body };
    }
  } catch (err) {
    return { result: "failure", output: err instanceof Error ? err.message : String(err) };
  }
}
