/**
 * The rest target of eventbus -> rest: the MQTT message is POSTed to the rule's URL with header `NodeName`
 * (as KubeEdge does), within the timeout. The answer's body is read up to a limit and dropped. KubeEdge
 * counts only a failed call as a failure; kedge also counts an answer that is not 2xx.
 */

export interface RestTargetOptions {
  readonly timeoutMs: number;
  /** Answer bytes read at most (then the connection is dropped). */
  readonly maxAnswerBytes: number;
}

export type RestOutcome = { readonly ok: true; readonly status: number } | {
  readonly ok: false;
  readonly error: string;
};

export async function postToRest(
  url: string,
  node: string,
  body: Uint8Array<ArrayBuffer>,
  o: RestTargetOptions,
): Promise<RestOutcome> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { NodeName: node, "content-type": "application/octet-stream" },
      signal,
      redirect: "manual",
    });
    await drain(response, o.maxAnswerBytes);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, error: `Cannot POST to ${url}: answered ${response.status}` };
  } catch (error) {
    const why = signal.aborted ? `no answer within ${o.timeoutMs} ms` : (error as Error).message;
    return { ok: false, error: `Cannot POST to ${url}: ${why}` };
  }
}

async function drain(response: Response, limit: number): Promise<void> {
  const reader = response.body?.getReader();
  if (!reader) return;
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    read += value.byteLength;
    if (read > limit) {
      await reader.cancel();
      return;
    }
  }
}
