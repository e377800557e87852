/**
 * Who is connecting: the node name comes from the verified client certificate, never from what the peer
 * claims. The `node_id` header and the path's node segment (upstream dials /<projectID>/<node>/events) must
 * agree with it when present, or the upgrade is refused.
 *
 * The certificate has already been parsed and its chain verified by TLS (rejectUnauthorized), but Deno's
 * node:tls `getPeerCertificate()` has no `ext_key_usage`, so the two fields needed here (subject CN and
 * extendedKeyUsage) are read straight from the DER with a small bounds-checked walker: a few microseconds
 * per connection where a full X.509 parse (@peculiar/x509 + asn1js) costs about a millisecond.
 */
import { isDns1123Subdomain, type Result } from "../../lib/protocol/mod.ts";

const NODE_PREFIX = "system:node:";
/** id-at-commonName 2.5.4.3, content octets. */
const OID_CN = [0x55, 0x04, 0x03];
/** id-ce-extKeyUsage 2.5.29.37. */
const OID_EKU = [0x55, 0x1d, 0x25];
/** id-kp-clientAuth 1.3.6.1.5.5.7.3.2. */
const OID_CLIENT_AUTH = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const VERSION = 0xa0; // [0] EXPLICIT
const EXTENSIONS = 0xa3; // [3] EXPLICIT

/** The node a DER client certificate names: CN `system:node:<name>`, extendedKeyUsage clientAuth. */
export function nodeFromCertificate(der: Uint8Array | undefined): Result<string, string> {
  if (!der || der.byteLength === 0) return { ok: false, error: "no client certificate" };
  let fields: CertificateFields;
  try {
    fields = readFields(der);
  } catch {
    return { ok: false, error: "client certificate cannot be parsed" };
  }
  if (!fields.clientAuth) {
    return { ok: false, error: "client certificate lacks extendedKeyUsage clientAuth" };
  }
  if (fields.commonNames.length !== 1) {
    return { ok: false, error: "client certificate must have exactly one CN" };
  }
  const cn = fields.commonNames[0] ?? "";
  if (!cn.startsWith(NODE_PREFIX)) {
    return { ok: false, error: `client certificate CN must start with ${NODE_PREFIX}` };
  }
  const node = cn.slice(NODE_PREFIX.length);
  if (!isDns1123Subdomain(node)) return { ok: false, error: "client certificate names an invalid node" };
  return { ok: true, value: node };
}

interface CertificateFields {
  /** Every CN attribute of the subject, in order; a CN that is not a string type is "" (never a node). */
  readonly commonNames: string[];
  /** The extendedKeyUsage extension is present (once) and lists id-kp-clientAuth. */
  readonly clientAuth: boolean;
}

class DerError extends Error {}

/** One DER element: its tag and where its content starts and ends in the buffer. */
interface Element {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** The element at `at`, which must end by `limit`; definite lengths and one-byte tags only, as DER has here. */
function element(der: Uint8Array, at: number, limit: number): Element {
  if (at + 2 > limit) throw new DerError("truncated");
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tag");
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new DerError("bad length");
    if (start + octets > limit) throw new DerError("truncated");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  const end = start + length;
  if (end > limit) throw new DerError("truncated");
  return { tag, start, end };
}

function expect(der: Uint8Array, at: number, limit: number, tag: number): Element {
  const e = element(der, at, limit);
  if (e.tag !== tag) throw new DerError(`expected tag ${tag}, got ${e.tag}`);
  return e;
}

function equals(der: Uint8Array, e: Element, octets: readonly number[]): boolean {
  if (e.end - e.start !== octets.length) return false;
  for (let i = 0; i < octets.length; i++) if (der[e.start + i] !== octets[i]) return false;
  return true;
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject,
 *   subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL, [3] extensions OPTIONAL }
 */
function readFields(der: Uint8Array): CertificateFields {
  const cert = expect(der, 0, der.length, SEQUENCE);
  if (cert.end !== der.length) throw new DerError("trailing data");
  const tbs = expect(der, cert.start, cert.end, SEQUENCE);
  let at = tbs.start;
  let e = element(der, at, tbs.end);
  if (e.tag === VERSION) {
    at = e.end;
    e = element(der, at, tbs.end);
  }
  if (e.tag !== INTEGER) throw new DerError("no serial number");
  at = e.end;
  at = expect(der, at, tbs.end, SEQUENCE).end; // signature algorithm
  at = expect(der, at, tbs.end, SEQUENCE).end; // issuer
  at = expect(der, at, tbs.end, SEQUENCE).end; // validity
  const subject = expect(der, at, tbs.end, SEQUENCE);
  at = expect(der, subject.end, tbs.end, SEQUENCE).end; // subjectPublicKeyInfo
  let clientAuth = false;
  // Then, in this order and each at most once: [1] and [2] unique IDs (ignored), [3] extensions.
  let previous = 0;
  while (at < tbs.end) {
    e = element(der, at, tbs.end);
    at = e.end;
    const slot = e.tag & 0x1f;
    if ((e.tag & 0xc0) !== 0x80 || slot < 1 || slot > 3 || slot <= previous) {
      throw new DerError("unexpected field after subjectPublicKeyInfo");
    }
    previous = slot;
    if (e.tag === EXTENSIONS) clientAuth = readClientAuth(der, e);
    else if (slot === 3) throw new DerError("extensions not constructed");
  }
  return { commonNames: readCommonNames(der, subject), clientAuth };
}

/** Name ::= SEQUENCE OF SET OF AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY } */
function readCommonNames(der: Uint8Array, name: Element): string[] {
  const names: string[] = [];
  for (let at = name.start; at < name.end;) {
    const rdn = expect(der, at, name.end, SET);
    at = rdn.end;
    for (let inner = rdn.start; inner < rdn.end;) {
      const atv = expect(der, inner, rdn.end, SEQUENCE);
      inner = atv.end;
      const type = expect(der, atv.start, atv.end, OID);
      const value = element(der, type.end, atv.end);
      if (value.end !== atv.end) throw new DerError("attribute has extra fields");
      if (equals(der, type, OID_CN)) names.push(directoryString(der, value));
    }
  }
  return names;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf16be = new TextDecoder("utf-16be", { fatal: true });

/** DirectoryString and the other string types a CN may use; anything else is "" (matches no node). */
function directoryString(der: Uint8Array, e: Element): string {
  const bytes = der.subarray(e.start, e.end);
  switch (e.tag) {
    case 0x0c: // UTF8String
      return utf8.decode(bytes);
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString, read as Latin-1: a node name is ASCII either way
      return latin1(bytes);
    case 0x1e: // BMPString
      return utf16be.decode(bytes);
    case 0x1c: // UniversalString (UTF-32BE)
      return utf32be(bytes);
    default:
      return "";
  }
}

function utf32be(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new DerError("bad UniversalString");
  let text = "";
  for (let i = 0; i < bytes.length; i += 4) {
    text += String.fromCodePoint(
      ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0,
    );
  }
  return text;
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/**
 * [3] EXPLICIT Extensions ::= SEQUENCE OF Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT
 * FALSE, extnValue OCTET STRING }; the extKeyUsage value is SEQUENCE OF KeyPurposeId (OID).
 */
function readClientAuth(der: Uint8Array, explicit: Element): boolean {
  const list = expect(der, explicit.start, explicit.end, SEQUENCE);
  if (list.end !== explicit.end) throw new DerError("extensions have extra data");
  let ekuSeen = false;
  let clientAuth = false;
  for (let at = list.start; at < list.end;) {
    const ext = expect(der, at, list.end, SEQUENCE);
    at = ext.end;
    const id = expect(der, ext.start, ext.end, OID);
    let field = element(der, id.end, ext.end);
    if (field.tag === BOOLEAN) field = element(der, field.end, ext.end);
    if (field.tag !== OCTET_STRING || field.end !== ext.end) throw new DerError("bad extension");
    if (!equals(der, id, OID_EKU)) continue;
    if (ekuSeen) throw new DerError("extendedKeyUsage appears twice");
    ekuSeen = true;
    const purposes = expect(der, field.start, field.end, SEQUENCE);
    if (purposes.end !== field.end) throw new DerError("extendedKeyUsage has extra data");
    for (let p = purposes.start; p < purposes.end;) {
      const purpose = expect(der, p, purposes.end, OID);
      p = purpose.end;
      if (equals(der, purpose, OID_CLIENT_AUTH)) clientAuth = true;
    }
  }
  return clientAuth;
}

/** The node names a request claims: its node_id header and the node segment of /<project>/<node>/events. */
export function claimedNodes(
  url: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string[] {
  const claims: string[] = [];
  const header = headers["node_id"];
  if (typeof header === "string") claims.push(header);
  else if (Array.isArray(header)) claims.push(...header);
  const path = (url ?? "/").split("?")[0] ?? "/";
  const segments = path.split("/").filter((s) => s.length > 0);
  if (segments.length === 3 && segments[2] === "events" && segments[1] !== undefined) {
    try {
      claims.push(decodeURIComponent(segments[1]));
    } catch {
      claims.push(segments[1]);
    }
  }
  return claims;
}
