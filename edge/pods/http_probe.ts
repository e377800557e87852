/**
 * An httpGet probe, as the kubelet's pkg/probe/http: a status from 200 to 399 passes, anything else, a refused
 * connection or the timeout fails. Redirects to the same host are followed (at most 10); a redirect to
 * another host is not, and passes with a warning (the kubelet's ProbeWarning event, with the start of the
 * body). The timeout covers the whole chain.
 */

export interface HttpProbeResult {
  readonly result: "success" | "warning" | "failure";
  /** The failure, or the warning; the body on success. */
  readonly output: string;
}

/** As the kubelet: at most this much of a body is read. */
const MAX_BODY_BYTES = 10 * 1024;
const MAX_REDIRECTS = 10;
const FOLLOWED = new Set([301, 302, 303, 307, 308]);

export async function httpProbe(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpProbeResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  const first = new URL(url);
  let current = first;
  try {
    for (let hops = 0;; hops++) {
      const res = await fetch(current, { headers, redirect: "manual", signal });
      const location = res.headers.get("location");
      const next = location && FOLLOWED.has(res.status) ? new URL(location, current) : undefined;
      if (next && next.hostname === first.hostname) {
        await res.body?.cancel();
        if (hops + 1 >= MAX_REDIRECTS) return { result: "failure", output: "stopped after 10 redirects" };
        current = next;
        continue;
      }
      const body = await readAtMost(res, MAX_BODY_BYTES);
      if (res.status < 200 || res.status >= 400) {
        // The kubelet's words; the body is left out of a failure on purpose (issue 99425).
        return { result: "failure", output: `HTTP probe failed with statuscode: ${res.status}` };
      }
      if (res.status >= 300) {
        return { result: "warning", output: `Probe terminated redirects, Response body: ${body}` };
      }
      return { result: "success", output: body };
    }
  } catch (err) {
    return { result: "failure", output: err instanceof Error ? err.message : String(err) };
  }
}

async function readAtMost(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value.subarray(0, limit - size));
    size += Math.min(value.length, limit - size);
  }
  await reader.cancel().catch(() => {});
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}
