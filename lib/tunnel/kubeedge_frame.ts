/**
 * KubeEdge's stream tunnel framing (pkg/stream in KubeEdge v1.23): one WebSocket message is one Message,
 * `uvarint ConnectID, uvarint MessageType, Data`, sent as a *text* frame although Data is raw bytes (KubeEdge's
 * cloud drops a tunnel whose frame is binary). A CONNECT message's Data is the JSON of an EdgedConnection:
 * `{MessID, url, header[, method]}`, url being Go's url.URL as encoding/json writes it.
 *
 * Both ends of kedge speak this to a KubeEdge peer (cloud/stream/kubeedge_tunnel.ts, edge/stream/
 * kubeedge_session.ts); two kedge ends negotiate kedge's own multiplexer (mux.ts) instead.
 */

export const KE_MESSAGE = {
  LOGS_CONNECT: 0,
  EXEC_CONNECT: 1,
  METRIC_CONNECT: 2,
  DATA: 3,
  REMOVE_CONNECT: 4,
  CLOSE_CONNECT: 5,
  ATTACH_CONNECT: 6,
} as const;
export type KeMessageType = typeof KE_MESSAGE[keyof typeof KE_MESSAGE];

/** Headers of the tunnel's upgrade request: the node name and its address, as KubeEdge's edgestream sends. */
export const SESSION_HOST_HEADER = "SessionHostNameOverride";
export const SESSION_IP_HEADER = "SessionInternalIP";
/** Where KubeEdge's cloud tells its edge to send a request: the edged server on the box. */
export const KE_EDGED_HOST = "127.0.0.1:10350";

export interface KeMessage {
  readonly id: number;
  readonly type: number;
  readonly data: Uint8Array;
}

/** Go's url.URL as encoding/json marshals it (exported fields, in order). */
export interface GoUrl {
  Scheme: string;
  Opaque: string;
  User: null;
  Host: string;
  Path: string;
  RawPath: string;
  OmitHost: boolean;
  ForceQuery: boolean;
  RawQuery: string;
  Fragment: string;
  RawFragment: string;
}

/** A CONNECT message's JSON (EdgedLogsConnection, EdgedExecConnection, ...). */
export interface KeConnector {
  MessID: number;
  url: GoUrl;
  header: Record<string, string[]>;
  method?: string;
}

function putUvarint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Cannot encode uvarint ${value}`);
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** Reads a uvarint at `at`; undefined when truncated or beyond 2^53. */
function readUvarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 8; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return Number.isSafeInteger(value) ? { value, next: i + 1 } : undefined;
    scale *= 0x80;
  }
  return undefined;
}

export function encodeKeMessage(
  id: number,
  type: KeMessageType,
  data: Uint8Array = new Uint8Array(),
): Uint8Array {
  const head: number[] = [];
  putUvarint(head, id);
  putUvarint(head, type);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

export function decodeKeMessage(bytes: Uint8Array): KeMessage | undefined {
  const id = readUvarint(bytes, 0);
  if (!id) return undefined;
  const type = readUvarint(bytes, id.next);
  if (!type) return undefined;
  return { id: id.value, type: type.value, data: bytes.subarray(type.next) };
}

/** The url of a connector for `pathAndQuery` on the edged server, as KubeEdge's cloud builds it. */
export function goUrl(pathAndQuery: string): GoUrl {
  const cut = pathAndQuery.indexOf("?");
  const rawPath = cut < 0 ? pathAndQuery : pathAndQuery.slice(0, cut);
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch { /* keep it raw */ }
  return {
    Scheme: "http",
    Opaque: "",
    User: null,
    Host: KE_EDGED_HOST,
    Path: path,
    // Go sets RawPath only when the escaping differs from the default one.
    RawPath: path === rawPath ? "" : rawPath,
    OmitHost: false,
    ForceQuery: false,
    RawQuery: cut < 0 ? "" : pathAndQuery.slice(cut + 1),
    Fragment: "",
    RawFragment: "",
  };
}

/** Path and query of a connector's url (its Host is ignored: the edge serves its own kubelet server only). */
export function pathOfGoUrl(url: unknown): string | undefined {
  if (typeof url !== "object" || url === null) return undefined;
  const u = url as Partial<GoUrl>;
  const path = typeof u.RawPath === "string" && u.RawPath !== ""
    ? u.RawPath
    : typeof u.Path === "string"
    ? encodeURI(u.Path)
    : undefined;
  if (path === undefined) return undefined;
  const query = typeof u.RawQuery === "string" && u.RawQuery !== "" ? `?${u.RawQuery}` : "";
  return path + query;
}

/** Header pairs as Go's http.Header (canonical names, values in order). */
export function goHeader(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of pairs) (out[canonicalHeader(name)] ??= []).push(value);
  return out;
}

export function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}
