// `edgecore status`: one screen on this node. Whether edgecore is connected comes from its local server's
// /status ({connected, cloud, node}); the rest from the config, the certificate file and the SQLite store,
// opened read-only so that a running edgecore is not disturbed.
import { DatabaseSync } from "node:sqlite";
import { type EdgeCoreConfig, nodeNameOf } from "../config.ts";
import { fromPem, x509 } from "../../lib/pki/mod.ts";
import { underRoot } from "./paths.ts";

export const DEFAULT_LOCAL_SERVER = "127.0.0.1:10350";
const PROBE_TIMEOUT_MS = 1500;

export interface Health {
  /** Something answered on the local server. */
  readonly running: boolean;
  readonly connected?: boolean;
  readonly cloud?: string;
  readonly node?: string;
  /** Why it counts as not running, or what is unknown. */
  readonly note?: string;
}

/** Asks /status. A server answering without JSON is running with the connection unknown. */
export async function probeHealth(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Health> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return { running: false, note: `no answer on ${url}` };
  }
  const text = (await response.text().catch(() => "")).slice(0, 4096);
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return {
      running: true,
      connected: body.connected === true,
      cloud: typeof body.cloud === "string" ? body.cloud : undefined,
      node: typeof body.node === "string" ? body.node : undefined,
    };
  } catch {
    return { running: true, note: `${url} answered ${response.status} without connection details` };
  }
}

/** http://HOST:PORT/status of the local server a config names (edgeStream.server). */
export function statusUrl(config: EdgeCoreConfig): string {
  return `http://${config.modules.edgeStream.server || DEFAULT_LOCAL_SERVER}/status`;
}

export interface StatusReport {
  readonly connected: boolean;
  /** Aligned `label  value` lines. */
  readonly text: string;
}

export interface StatusOptions {
  readonly root: string;
  readonly configPath: string;
  /** The loaded config, or the defaults when the file is missing (configFound false). */
  readonly config: EdgeCoreConfig;
  readonly configFound: boolean;
  readonly now?: Date;
}

export async function edgeStatus(options: StatusOptions): Promise<StatusReport> {
  const { config, root } = options;
  const hub = config.modules.edgeHub;
  const node = nodeNameOf(config);
  const url = statusUrl(config);
  const health = await probeHealth(url);
  let connection: string;
  let connected = false;
  if (!health.running) connection = `not running (${health.note})`;
  else if (health.node !== undefined && health.node !== node) {
    connection = `not running (${url} serves node ${health.node}, not ${node})`;
  } else if (health.connected === undefined) connection = `running, connection unknown (${health.note})`;
  else {
    connected = health.connected;
    connection = health.connected
      ? `connected to ${health.cloud ?? hub.websocket.server}`
      : "running, not connected";
  }
  const store = readStore(underRoot(root, config.database.dataSource));
  const rows: Array<[string, string]> = [
    ["connection", connection],
    [
      "cloud",
      hub.websocket.server ? `${hub.websocket.server} (certificates ${hub.httpServer})` : "(not joined)",
    ],
    ["node", node],
    [
      "config",
      options.configFound ? options.configPath : `${options.configPath} (not found, defaults shown)`,
    ],
    ["pods", store.pods],
    ["devices", store.devices],
    ["certificate", await certificateLine(underRoot(root, hub.tlsCertFile), options.now ?? new Date())],
    ["store", store.size],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const text = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n") + "\n";
  return { connected, text };
}

async function certificateLine(path: string, now: Date): Promise<string> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch {
    return `${path} missing`;
  }
  try {
    const block = fromPem(pem).find((b) => b.label === "CERTIFICATE");
    if (!block) return `${path} holds no certificate`;
    const cert = new x509.X509Certificate(new Uint8Array(block.der));
    const left = cert.notAfter.getTime() - now.getTime();
    const days = Math.floor(left / 86_400_000);
    const when = left <= 0
      ? "EXPIRED"
      : days >= 1
      ? `${days} days left`
      : `${Math.floor(left / 3_600_000)} hours left`;
    return `${cert.subject}, expires ${cert.notAfter.toISOString()} (${when})`;
  } catch (err) {
    return `${path} unreadable: ${err instanceof Error ? err.message : String(err)}`;
  }
}

interface StoreFacts {
  readonly pods: string;
  readonly devices: string;
  readonly size: string;
}

function readStore(path: string): StoreFacts {
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch {
    return { pods: "-", devices: "-", size: `${path} (none yet)` };
  }
  let wal = 0;
  try {
    wal = Deno.statSync(`${path}-wal`).size;
  } catch { /* no WAL file */ }
  const sizeText = `${path} ${formatBytes(size)}${wal > 0 ? ` + WAL ${formatBytes(wal)}` : ""}`;
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    db.exec("PRAGMA busy_timeout = 2000");
    const count = (sql: string) => String((db!.prepare(sql).get() as { n: number } | undefined)?.n ?? 0);
    return {
      pods: `${count("SELECT count(*) AS n FROM meta WHERE type = 'pod'")} held`,
      devices: `${count("SELECT count(*) AS n FROM device")} held`,
      size: sizeText,
    };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { pods: `unknown (${why})`, devices: "unknown", size: sizeText };
  } finally {
    db?.close();
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
