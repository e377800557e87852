// `cloudcore certs check-expiration`: when the CA, the serving certificate and the stored join token expire,
// as a table in the style of `kubeadm certs check-expiration`.
import { Buffer } from "node:buffer";
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { verifyJoinToken, x509 } from "../../lib/pki/mod.ts";
import {
  CA_CERT_KEY,
  CA_KEY_KEY,
  CA_SECRET,
  KUBEEDGE_NAMESPACE,
  SERVER_CERT_KEY,
  SERVER_SECRET,
  TOKEN_KEY,
  TOKEN_SECRET,
} from "../certs/mod.ts";
import { isNotFound, secretBytes } from "../kube/mod.ts";

export interface ExpirationRow {
  readonly name: string;
  /** Where it is kept, namespace/secret. */
  readonly secret: string;
  /** Undefined when the secret or its content is missing or unreadable. */
  readonly expires?: Date;
  readonly authority: string;
  readonly serial?: string;
  /** Why there is no expiry. */
  readonly problem?: string;
}

/** Reads the Secrets; a missing one becomes a row with a problem, not an error. */
export async function checkExpiration(kc: KubeConfig): Promise<ExpirationRow[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const ca = await read(core, CA_SECRET);
  const server = await read(core, SERVER_SECRET);
  const token = await read(core, TOKEN_SECRET);
  const rows: ExpirationRow[] = [
    certRow("ca", CA_SECRET, ca, ""),
    certRow("cloudcore", SERVER_SECRET, server, "ca"),
  ];
  const tokenSecret = `${KUBEEDGE_NAMESPACE}/${TOKEN_SECRET}`;
  if (!token || !ca) {
    rows.push({ name: "join-token", secret: tokenSecret, authority: "ca", problem: "missing" });
  } else {
    const text = Buffer.from(token.data?.[TOKEN_KEY] ?? "", "base64").toString("utf8").trim();
    const check = verifyJoinToken(text, {
      caCertDer: secretBytes(ca, CA_CERT_KEY),
      caKeyDer: secretBytes(ca, CA_KEY_KEY),
      now: new Date(0),
    });
    rows.push(
      check.ok
        ? { name: "join-token", secret: tokenSecret, authority: "ca", expires: check.expiresAt }
        : { name: "join-token", secret: tokenSecret, authority: "ca", problem: check.reason },
    );
  }
  return rows;
}

function certRow(name: string, secretName: string, secret: V1Secret | undefined, authority: string) {
  const where = `${KUBEEDGE_NAMESPACE}/${secretName}`;
  if (!secret) return { name, secret: where, authority, problem: "missing" };
  try {
    const key = secretName === CA_SECRET ? CA_CERT_KEY : SERVER_CERT_KEY;
    const cert = new x509.X509Certificate(new Uint8Array(secretBytes(secret, key)));
    return { name, secret: where, authority, expires: cert.notAfter, serial: cert.serialNumber };
  } catch (err) {
    return { name, secret: where, authority, problem: err instanceof Error ? err.message : String(err) };
  }
}

async function read(core: CoreV1Api, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace: KUBEEDGE_NAMESPACE });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** kubeadm's date: `Jan 02, 2006 15:04 UTC`. */
export function formatExpiry(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[date.getUTCMonth()]} ${pad(date.getUTCDate())}, ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/** kubeadm's residual time (Kubernetes' ShortHumanDuration): 45s, 12m, 23h, 364d, 99y, or <invalid>. */
export function residualTime(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 60) return `${Math.max(seconds, 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 86400 * 365) return `${Math.floor(seconds / 86400)}d`;
  return `${Math.floor(seconds / (86400 * 365))}y`;
}

/** The table, columns padded to their widest cell. */
export function formatExpirationTable(rows: readonly ExpirationRow[], now: Date = new Date()): string {
  const cells = [
    ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "SECRET"],
    ...rows.map((row) => [
      row.name,
      row.expires ? formatExpiry(row.expires) : `<${row.problem ?? "unknown"}>`,
      row.expires ? residualTime(row.expires.getTime() - now.getTime()) : "",
      row.authority,
      row.secret,
    ]),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join("   ").trimEnd())
    .join("\n") + "\n";
}
