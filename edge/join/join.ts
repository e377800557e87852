// `edgecore join`: KubeEdge's bootstrap. Fetch the CA unverified, pin it by the token's hash, then talk
// verified TLS: check the node name is free, send a CSR with the token, write the files and the config.
import { Buffer } from "node:buffer";
import {
  caCertHash,
  createCsr,
  generateKeyPair,
  privateKeyToPem,
  splitJoinToken,
  toPem,
} from "../../lib/pki/mod.ts";
import { isValidNodeName } from "../config.ts";
import { httpsRequest } from "./https_client.ts";
import { checkIssuedCertificate } from "./issued_check.ts";
import { writeJoinFiles } from "./write_files.ts";

export const DEFAULT_CERT_PORT = 10002;
/** Largest CA certificate or signed certificate read from the cloud. */
export const MAX_CERT_BYTES = 64 * 1024;
const MAX_NODE_ANSWER_BYTES = 16 * 1024;

/** A join the user must fix (wrong hash, refused token, name taken); main.ts maps it to an exit code. */
export class JoinError extends Error {
  override readonly name = "JoinError";
}

export interface JoinPaths {
  readonly config: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface JoinOptions {
  /** cloudcore's WebSocket endpoint, HOST:10000. */
  readonly cloudcoreIpPort: string;
  /** cloudcore's HTTPS port. Default 10002. */
  readonly certPort?: number;
  /** cloudcore's stream tunnel port (10004): when given, kubectl logs/exec are on (edgeStream). */
  readonly tunnelPort?: number;
  readonly token: string;
  readonly nodeName: string;
  readonly paths: JoinPaths;
  readonly dataSource?: string;
  /** Join even when a Node of this name exists (a re-install of the same box). */
  readonly force?: boolean;
  /** Receives one line per step, for the person at the terminal. */
  readonly print?: (line: string) => void;
  readonly timeoutMs?: number;
}

export interface JoinResult {
  readonly httpServer: string;
  readonly notAfter: Date;
  readonly paths: JoinPaths;
}

/** Runs the bootstrap. Throws JoinError for what the user must fix, Error when the cloud cannot be reached. */
export async function joinCloud(options: JoinOptions): Promise<JoinResult> {
  const print = options.print ?? (() => {});
  const { nodeName, timeoutMs } = options;
  if (!isValidNodeName(nodeName)) {
    throw new JoinError(`Cannot join: node name ${JSON.stringify(nodeName)} is not a DNS-1123 subdomain`);
  }
  const host = hostOf(options.cloudcoreIpPort);
  const httpServer = `https://${host}:${options.certPort ?? DEFAULT_CERT_PORT}`;
  let token;
  try {
    token = splitJoinToken(options.token);
  } catch (err) {
    throw new JoinError((err as Error).message.replace("Cannot read join token", "Cannot join"), {
      cause: err,
    });
  }

  print(`[1/5] fetching the CA certificate from ${httpServer}/ca.crt`);
  const ca = await httpsRequest({
    url: `${httpServer}/ca.crt`,
    trust: "insecure",
    maxResponseBytes: MAX_CERT_BYTES,
    timeoutMs,
  });
  if (ca.status !== 200) throw new JoinError(`Cannot join: ${httpServer}/ca.crt answered ${ca.status}`);
  const hash = caCertHash(ca.body);
  if (hash !== token.caHash) {
    throw new JoinError(
      `Cannot join: CA hash mismatch: the token expects ${token.caHash} but ${httpServer} serves a CA with ` +
        `${hash}; check the address, or get a fresh token with 'cloudcore gettoken'`,
    );
  }
  const caPem = toPem("CERTIFICATE", ca.body);
  print(`[2/5] CA certificate matches the token (sha256 ${hash})`);
  const verified = { trust: caPem, timeoutMs, headers: { authorization: `Bearer ${token.jwt}` } };
  const refusedToken = () =>
    new JoinError(
      `Cannot join: the cloud refused the token (expired or invalid; by this machine's clock it expires ` +
        `${token.expiresAt.toISOString()}); get a fresh one with 'cloudcore gettoken'`,
    );

  const node = await httpsRequest({
    ...verified,
    url: `${httpServer}/node/${nodeName}`,
    maxResponseBytes: MAX_NODE_ANSWER_BYTES,
  });
  if (node.status === 401) throw refusedToken();
  if (node.status === 200 && !options.force) {
    throw new JoinError(
      `Cannot join: a node named ${nodeName} already exists in the cluster; pick another name, or pass ` +
        `--force if this machine replaces it`,
    );
  }
  if (node.status !== 200 && node.status !== 404) {
    throw new JoinError(`Cannot join: ${httpServer}/node/${nodeName} answered ${node.status}`);
  }
  print(`[3/5] node name ${nodeName} is ${node.status === 200 ? "taken, replacing it (--force)" : "free"}`);

  const keys = await generateKeyPair();
  const csr = await createCsr({ keys, nodeName });
  const signed = await httpsRequest({
    ...verified,
    url: `${httpServer}/edge.crt`,
    headers: { ...verified.headers, nodename: nodeName, extkeyusages: "[2]" },
    body: csr,
    maxResponseBytes: MAX_CERT_BYTES,
  });
  if (signed.status === 401) throw refusedToken();
  if (signed.status !== 200) {
    const why = Buffer.from(signed.body.subarray(0, 512)).toString("utf8").trim();
    throw new JoinError(`Cannot join: ${httpServer}/edge.crt answered ${signed.status}: ${why}`);
  }
  const cert = await checkIssuedCertificate(signed.body, { caDer: ca.body, keys, nodeName });
  print(`[4/5] certificate issued for system:node:${nodeName}, valid until ${cert.notAfter.toISOString()}`);

  await writeJoinFiles({
    paths: options.paths,
    caPem,
    certPem: toPem("CERTIFICATE", signed.body),
    keyPem: await privateKeyToPem(keys.privateKey),
    websocketServer: `${host}:${portOf(options.cloudcoreIpPort)}`,
    httpServer,
    tunnelServer: options.tunnelPort === undefined ? undefined : `${host}:${options.tunnelPort}`,
    nodeName,
    dataSource: options.dataSource,
  });
  print(
    `[5/5] wrote ${options.paths.caFile}, ${options.paths.certFile}, ${options.paths.keyFile} and ${options.paths.config}`,
  );
  return { httpServer, notAfter: cert.notAfter, paths: options.paths };
}

/** The host of HOST:PORT or [IPv6]:PORT, bracketed again when it is an IPv6 address. */
function hostOf(ipPort: string): string {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(ipPort.trim());
  if (!match) {
    throw new JoinError(`Cannot join: --cloudcore-ipport ${JSON.stringify(ipPort)} is not HOST:PORT`);
  }
  return match[1] ?? "";
}

function portOf(ipPort: string): string {
  return ipPort.trim().slice(ipPort.trim().lastIndexOf(":") + 1);
}
