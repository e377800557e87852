/** Reading one request payload from MQTT: size limit, UTF-8 JSON, valibot schema; each failure has a code. */
import * as v from "valibot";
import { describeIssues } from "../../lib/protocol/mod.ts";
import { CODE_BAD_REQUEST, CODE_TOO_LARGE } from "./types.ts";

/** A request refused with a KubeEdge result code; the message is the reason sent back. */
export class RequestError extends Error {
  override name = "RequestError";
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Throws RequestError (413 oversize, 400 not JSON or not matching `schema`). */
export function readRequest<S extends v.GenericSchema>(
  schema: S,
  payload: Uint8Array,
  what: string,
  maxPayloadBytes: number,
): v.InferOutput<S> {
  if (payload.byteLength > maxPayloadBytes) {
    throw new RequestError(
      CODE_TOO_LARGE,
      `Cannot ${what}: payload of ${payload.byteLength} bytes exceeds ${maxPayloadBytes}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload));
  } catch {
    throw new RequestError(CODE_BAD_REQUEST, `Cannot ${what}: payload is not JSON`);
  }
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    throw new RequestError(CODE_BAD_REQUEST, `Cannot ${what}: ${describeIssues(parsed.issues)}`);
  }
  return parsed.output;
}
