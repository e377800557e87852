import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  caCertHash,
  createJoinToken,
  MAX_JOIN_TOKEN_BYTES,
  signJwt,
  splitJoinToken,
  verifyJoinJwt,
  verifyJoinToken,
} from "./token.ts";

const caCertDer = new Uint8Array([0x30, 0x82, 1, 2, 3, 4, 5]);
const caKeyDer = crypto.getRandomValues(new Uint8Array(121));
const otherKeyDer = crypto.getRandomValues(new Uint8Array(121));
const key = { caCertDer, caKeyDer };
const HOUR = 60 * 60 * 1000;

function jwtOf(token: string): string {
  return token.slice(token.indexOf(".") + 1);
}

function reasonOf(check: ReturnType<typeof verifyJoinToken>): string {
  return check.ok ? "ok" : check.reason;
}

Deno.test("a join token is the CA hash and an HS256 JWT with exp, and verifies with the CA key", () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const token = createJoinToken({ ...key, ttlMs: 24 * HOUR, now });
  const parts = token.split(".");
  assert.equal(parts.length, 4);
  assert.equal(parts[0], createHash("sha256").update(caCertDer).digest("hex"));
  assert.deepEqual(JSON.parse(Buffer.from(parts[1]!, "base64url").toString()), { alg: "HS256", typ: "JWT" });
  assert.deepEqual(JSON.parse(Buffer.from(parts[2]!, "base64url").toString()), {
    exp: now.getTime() / 1000 + 24 * 3600,
  });
  const check = verifyJoinToken(token, { ...key, now });
  assert.deepEqual(check, { ok: true, expiresAt: new Date(now.getTime() + 24 * HOUR) });
  assert.equal(verifyJoinJwt(jwtOf(token), { caKeyDer, now }).ok, true);
});

Deno.test("splitJoinToken gives the edge the CA hash, the JWT and the expiry without the key", () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const token = createJoinToken({ ...key, ttlMs: HOUR, now });
  const split = splitJoinToken(` ${token}\n`);
  assert.equal(split.caHash, caCertHash(caCertDer));
  assert.equal(split.jwt, jwtOf(token));
  assert.deepEqual(split.expiresAt, new Date(now.getTime() + HOUR));
  assert.throws(() => splitJoinToken("abc.def"), /Cannot read join token: it must start with the 64 hex/);
  assert.throws(() => splitJoinToken(`${caCertHash(caCertDer)}.x.y`), /Cannot read join token: a JWT has 3/);
});

Deno.test("verifyJoinToken refuses a token made for another CA certificate", () => {
  const token = createJoinToken({ caCertDer: new Uint8Array([9, 9, 9]), caKeyDer, ttlMs: HOUR });
  assert.equal(reasonOf(verifyJoinToken(token, key)), "ca-hash");
});

Deno.test("verifyJoinToken refuses an expired token", () => {
  const token = createJoinToken({ ...key, ttlMs: HOUR, now: new Date(Date.now() - 2 * HOUR) });
  assert.equal(reasonOf(verifyJoinToken(token, key)), "expired");
  assert.equal(reasonOf(verifyJoinJwt(jwtOf(token), key)), "expired");
});

Deno.test("verifyJoinToken refuses alg none and any algorithm other than HS256", () => {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const hash = caCertHash(caCertDer);
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${
    Buffer.from(JSON.stringify({ exp })).toString("base64url")
  }.`;
  assert.equal(reasonOf(verifyJoinToken(`${hash}.${none}`, key)), "algorithm");
  const hs512 = signJwt({ exp }, caKeyDer, { alg: "HS512", typ: "JWT" });
  assert.equal(reasonOf(verifyJoinToken(`${hash}.${hs512}`, key)), "algorithm");
  const noAlg = signJwt({ exp }, caKeyDer, { typ: "JWT" });
  assert.equal(reasonOf(verifyJoinToken(`${hash}.${noAlg}`, key)), "algorithm");
});

Deno.test("verifyJoinToken refuses a token whose claims or signature were tampered with", () => {
  const token = createJoinToken({ ...key, ttlMs: HOUR });
  const [hash, header, , signature] = token.split(".");
  const laterExp = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 1e6 })).toString(
    "base64url",
  );
  assert.equal(reasonOf(verifyJoinToken(`${hash}.${header}.${laterExp}.${signature}`, key)), "signature");
  const flipped = signature!.slice(0, -2) + (signature!.endsWith("AA") ? "BB" : "AA");
  assert.equal(reasonOf(verifyJoinToken(token.slice(0, -signature!.length) + flipped, key)), "signature");
  assert.equal(reasonOf(verifyJoinToken(token.slice(0, -4), key)), "signature");
});

Deno.test("verifyJoinToken refuses a token signed with another key", () => {
  const token = createJoinToken({ caCertDer, caKeyDer: otherKeyDer, ttlMs: HOUR });
  assert.equal(reasonOf(verifyJoinToken(token, key)), "signature");
  assert.equal(reasonOf(verifyJoinJwt(jwtOf(token), key)), "signature");
});

Deno.test("verifyJoinToken refuses malformed tokens without throwing", () => {
  const hash = caCertHash(caCertDer);
  const good = createJoinToken({ ...key, ttlMs: HOUR });
  const cases = [
    "",
    "garbage",
    jwtOf(good),
    `${hash}.a.b`,
    `${good}.extra`,
    `${hash}.!!!.e30.sig`,
    `${hash}.${Buffer.from("[1]").toString("base64url")}.e30.sig`,
    `${hash}.${signJwt({}, caKeyDer)}`,
    `${hash}.${signJwt({ exp: "tomorrow" }, caKeyDer)}`,
    `${hash}.${signJwt({ exp: 1e12, nbf: "x" }, caKeyDer)}`,
  ];
  for (const token of cases) {
    const check = verifyJoinToken(token, key);
    assert.equal(check.ok, false, token);
    assert.ok(["malformed", "ca-hash"].includes(reasonOf(check)), `${token}: ${reasonOf(check)}`);
  }
  assert.equal(reasonOf(verifyJoinToken(`${hash}.${signJwt({}, caKeyDer)}`, key)), "malformed");
});

Deno.test("verifyJoinToken refuses a token not valid yet by its nbf claim", () => {
  const now = Date.now() / 1000;
  const jwt = signJwt({ exp: Math.floor(now) + 7200, nbf: Math.floor(now) + 3600 }, caKeyDer);
  assert.equal(reasonOf(verifyJoinToken(`${caCertHash(caCertDer)}.${jwt}`, key)), "not-yet-valid");
});

Deno.test("verifyJoinToken refuses a token longer than 4 KiB before parsing it", () => {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const big = signJwt({ exp, pad: "x".repeat(MAX_JOIN_TOKEN_BYTES) }, caKeyDer);
  assert.equal(reasonOf(verifyJoinToken(`${caCertHash(caCertDer)}.${big}`, key)), "oversize");
  assert.equal(reasonOf(verifyJoinJwt(big, key)), "oversize");
  assert.throws(() => splitJoinToken(`${caCertHash(caCertDer)}.${big}`), /longer than 4096 bytes/);
});
