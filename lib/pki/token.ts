// KubeEdge join tokens: `hex(sha256(CA certificate DER)) + "." + JWT`. The JWT is HS256 with claim `exp`
// (seconds) and, as upstream, its HMAC key is the CA private key DER (SEC1). Both sides use this module: the
// cloud creates and verifies, the edge splits (hash + JWT, expiry readable without the key).
import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Largest token accepted; a real one is about 200 bytes. */
export const MAX_JOIN_TOKEN_BYTES = 4096;

export type JoinTokenRejection =
  | "oversize"
  | "malformed"
  | "ca-hash"
  | "algorithm"
  | "signature"
  | "expired"
  | "not-yet-valid";

export type JoinTokenCheck =
  | { readonly ok: true; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: JoinTokenRejection; readonly message: string };

export interface JoinTokenKey {
  /** The CA certificate, DER. */
  readonly caCertDer: Uint8Array;
  /** The CA private key, DER in SEC1 form (what KubeEdge stores in `casecret/cakeydata`). */
  readonly caKeyDer: Uint8Array;
}

export interface CreateJoinTokenOptions extends JoinTokenKey {
  readonly ttlMs: number;
  /** Clock, for tests. */
  readonly now?: Date;
}

/** Hex SHA-256 of the CA certificate DER: the first part of a join token. */
export function caCertHash(caCertDer: Uint8Array): string {
  return createHash("sha256").update(caCertDer).digest("hex");
}

export function createJoinToken(options: CreateJoinTokenOptions): string {
  const now = options.now ?? new Date();
  const exp = Math.floor((now.getTime() + options.ttlMs) / 1000);
  return `${caCertHash(options.caCertDer)}.${signJwt({ exp }, options.caKeyDer)}`;
}

/**
 * An HS256 JWT over `claims` with `key`. Exported for tests that need tokens our cloud would never make
 * (expired, signed with another key); production code calls createJoinToken.
 */
export function signJwt(
  claims: Record<string, unknown>,
  key: Uint8Array,
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
): string {
  const signingInput = `${base64UrlJson(header)}.${base64UrlJson(claims)}`;
  return `${signingInput}.${hmac(signingInput, key).toString("base64url")}`;
}

export interface SplitJoinToken {
  /** Hex SHA-256 of the CA certificate the token was made for. */
  readonly caHash: string;
  /** The JWT part, what the edge sends as `Authorization: Bearer`. */
  readonly jwt: string;
  /** The `exp` claim, read without checking the signature. */
  readonly expiresAt: Date;
}

/** Splits a 4-part token for the edge. Throws TypeError "Cannot read join token: ..." when it is not one. */
export function splitJoinToken(token: string): SplitJoinToken {
  const trimmed = token.trim();
  if (trimmed.length > MAX_JOIN_TOKEN_BYTES) {
    throw new TypeError(`Cannot read join token: longer than ${MAX_JOIN_TOKEN_BYTES} bytes`);
  }
  const dot = trimmed.indexOf(".");
  const caHash = trimmed.slice(0, dot);
  const jwt = trimmed.slice(dot + 1);
  if (dot < 0 || !/^[0-9a-f]{64}$/.test(caHash)) {
    throw new TypeError(
      "Cannot read join token: it must start with the 64 hex digits of the CA hash and a dot",
    );
  }
  const parsed = parseJwt(jwt);
  if (!parsed.ok) throw new TypeError(`Cannot read join token: ${parsed.message}`);
  return { caHash, jwt, expiresAt: new Date(parsed.exp * 1000) };
}

export interface VerifyOptions extends JoinTokenKey {
  readonly now?: Date;
}

/** Checks a whole 4-part token: CA hash, algorithm, signature and expiry. Never throws. */
export function verifyJoinToken(token: string, options: VerifyOptions): JoinTokenCheck {
  if (token.length > MAX_JOIN_TOKEN_BYTES) return oversize();
  const dot = token.indexOf(".");
  if (dot < 0 || token.split(".").length !== 4) {
    return reject("malformed", "a join token has 4 dot-separated parts");
  }
  const hash = Buffer.from(token.slice(0, dot), "utf8");
  const expected = Buffer.from(caCertHash(options.caCertDer), "utf8");
  if (hash.length !== expected.length || !timingSafeEqual(hash, expected)) {
    return reject("ca-hash", "the token was made for another CA");
  }
  return verifyJoinJwt(token.slice(dot + 1), options);
}

/**
 * Checks the JWT part alone, as upstream's edge sends it (`Authorization: Bearer <jwt>`): algorithm HS256
 * only, signature by the CA key (constant-time compare), `exp` in the future. Never throws.
 */
export function verifyJoinJwt(jwt: string, options: Pick<VerifyOptions, "caKeyDer" | "now">): JoinTokenCheck {
  if (jwt.length > MAX_JOIN_TOKEN_BYTES) return oversize();
  const parsed = parseJwt(jwt);
  if (!parsed.ok) return parsed;
  if (parsed.header.alg !== "HS256") {
    return reject("algorithm", `the token's algorithm ${JSON.stringify(parsed.header.alg)} is not HS256`);
  }
  const expected = hmac(parsed.signingInput, options.caKeyDer);
  if (parsed.signature.length !== expected.length || !timingSafeEqual(parsed.signature, expected)) {
    return reject("signature", "the token's signature does not match");
  }
  const nowSeconds = (options.now ?? new Date()).getTime() / 1000;
  if (parsed.exp <= nowSeconds) return reject("expired", "the token has expired");
  if (parsed.nbf !== undefined && parsed.nbf > nowSeconds) {
    return reject("not-yet-valid", "the token is not valid yet");
  }
  return { ok: true, expiresAt: new Date(parsed.exp * 1000) };
}

type ParsedJwt =
  | {
    readonly ok: true;
    readonly header: Record<string, unknown>;
    readonly exp: number;
    readonly nbf?: number;
    readonly signingInput: string;
    readonly signature: Buffer;
  }
  | { readonly ok: false; readonly reason: "malformed"; readonly message: string };

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function parseJwt(jwt: string): ParsedJwt {
  const parts = jwt.split(".");
  if (parts.length !== 3) return reject("malformed", "a JWT has 3 dot-separated parts");
  const [headerPart = "", claimsPart = "", signaturePart = ""] = parts;
  if (!parts.every((p) => BASE64URL.test(p))) return reject("malformed", "a JWT part is not base64url");
  const header = decodeJsonObject(headerPart);
  const claims = decodeJsonObject(claimsPart);
  if (!header || !claims) return reject("malformed", "a JWT part is not a base64url JSON object");
  const { exp, nbf } = claims;
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    return reject("malformed", "the token has no numeric exp claim");
  }
  if (nbf !== undefined && (typeof nbf !== "number" || !Number.isFinite(nbf))) {
    return reject("malformed", "the token's nbf claim is not a number");
  }
  return {
    ok: true,
    header,
    exp,
    ...(nbf === undefined ? {} : { nbf }),
    signingInput: `${headerPart}.${claimsPart}`,
    signature: Buffer.from(signaturePart, "base64url"),
  };
}

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function hmac(input: string, key: Uint8Array): Buffer {
  return createHmac("sha256", key).update(input).digest();
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function reject<R extends JoinTokenRejection>(reason: R, message: string) {
  return { ok: false as const, reason, message };
}

function oversize() {
  return reject("oversize", `the token is longer than ${MAX_JOIN_TOKEN_BYTES} bytes`);
}
