/**
 * Join attempts a stranger or a broken edge makes at cloudcore's certificate port (`POST /edge.crt`): tokens
 * that are expired, unsigned, tampered or signed with another key, a token whose CA hash is not the CA's, and
 * CSRs with weak keys, another curve, another subject, garbage or 10 MB. Each answer is returned for the
 * test to judge; nothing here decides what is right.
 */
import { Buffer } from "node:buffer";
import { request } from "node:https";
import { join } from "node:path";
import { joinCloud } from "../../edge/join/mod.ts";
import { caCertHash, createCsr, createJoinToken, generateKeyPair, signJwt } from "../../lib/pki/mod.ts";

export interface BadJoin {
  readonly what: string;
  readonly refused: boolean;
  /** The status and the first words of the answer, or the edge's error. */
  readonly detail: string;
}

export interface BadJoinOptions {
  readonly port: number;
  readonly websocketPort: number;
  readonly caPem: string;
  /** kubeedge/casecret's data (base64 DER `cadata`, `cakeydata`). */
  readonly casecret: Record<string, string>;
  /** kubeedge/tokensecret's `tokendata` (base64). */
  readonly validToken: string;
  readonly dir: string;
}

function post(
  port: number,
  caPem: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/edge.crt",
      headers: { ...headers, "content-length": String(body.byteLength) },
      ca: caPem,
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on(
        "end",
        () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    // The server may answer 413 and close before the whole body is sent.
    req.on("error", (error) => reject(error));
    req.end(body);
  });
}

function rsaKeys(bits: number): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;
}

export async function badJoins(o: BadJoinOptions): Promise<BadJoin[]> {
  const der = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const caCertDer = der(o.casecret.cadata ?? "");
  const caKeyDer = der(o.casecret.cakeydata ?? "");
  const valid = atob(o.validToken);
  const jwt = valid.slice(valid.indexOf(".") + 1);
  const hash = caCertHash(caCertDer);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const [header, , signature] = jwt.split(".");
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const node = "stranger";
  const goodCsr = await createCsr({ keys: await generateKeyPair(), nodeName: node });

  const results: BadJoin[] = [];
  const attempt = async (what: string, token: string, csr: Uint8Array, expect: number) => {
    try {
      const answer = await post(o.port, o.caPem, csr, { authorization: `Bearer ${token}`, nodename: node });
      results.push({
        what,
        refused: answer.status === expect,
        detail: `${answer.status} ${answer.text.slice(0, 120)}`,
      });
    } catch (error) {
      // A connection closed while the body was still being sent is a refusal too, but not the one asked for.
      results.push({ what, refused: false, detail: `no answer: ${(error as Error).message}` });
    }
  };

  const tokens: Record<string, string> = {
    "an expired token": createJoinToken({ caCertDer, caKeyDer, ttlMs: -60_000 }),
    "alg none": `${b64({ alg: "none", typ: "JWT" })}.${b64({ exp })}.`,
    "a tampered expiry": `${header}.${b64({ exp: exp + 1e6 })}.${signature}`,
    "another key": signJwt({ exp }, crypto.getRandomValues(new Uint8Array(121))),
    "no expiry": signJwt({}, caKeyDer),
    "garbage": "x".repeat(4096),
  };
  for (const [what, token] of Object.entries(tokens)) {
    await attempt(`token: ${what}`, token, goodCsr, 401);
  }

  const csrs: Record<string, Uint8Array> = {
    "an RSA 1024 key": await createCsr({ keys: await rsaKeys(1024), nodeName: node }),
    "a P-521 key": await createCsr({
      keys: await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, ["sign", "verify"]),
      nodeName: node,
    }),
    "CN=admin, O=system:masters": await createCsr({
      keys: await generateKeyPair(),
      subject: { commonName: "admin", organizations: ["system:masters"] },
    }),
    "another node's subject": await createCsr({ keys: await generateKeyPair(), nodeName: "victim" }),
    "garbage": crypto.getRandomValues(new Uint8Array(512)),
    "an empty body": new Uint8Array(),
  };
  for (const [what, csr] of Object.entries(csrs)) await attempt(`CSR: ${what}`, jwt, csr, 400);
  await attempt("CSR: 10 MB", jwt, new Uint8Array(10 * 1024 * 1024), 413);

  // The edge checks the CA against the token's hash before it sends anything.
  const wrongHash = `${hash.replace(/^./, (c) => c === "a" ? "b" : "a")}.${jwt}`;
  const dir = join(o.dir, "wrong-hash");
  try {
    await joinCloud({
      cloudcoreIpPort: `127.0.0.1:${o.websocketPort}`,
      certPort: o.port,
      token: wrongHash,
      nodeName: node,
      paths: {
        config: join(dir, "edgecore.yaml"),
        caFile: join(dir, "rootCA.crt"),
        certFile: join(dir, "server.crt"),
        keyFile: join(dir, "server.key"),
      },
    });
    results.push({ what: "a token whose CA hash is not the CA's", refused: false, detail: "joined" });
  } catch (error) {
    results.push({
      what: "a token whose CA hash is not the CA's",
      refused: /hash/i.test((error as Error).message),
      detail: (error as Error).message.slice(0, 160),
    });
  }
  return results;
}
