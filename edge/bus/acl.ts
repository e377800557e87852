/**
 * Who may connect to the built-in broker and what each may touch. With `acl` on, device and node topics
 * belong to their device and to admins: a client whose username is `<namespace>/<name>` may publish and read
 * only `$hw/events/device/<namespace>/<name>/...`; admins (edgecore, apps, mappers of many devices) may do
 * everything; any other client may use every topic except device and node ones.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isDns1123Label, isDns1123Subdomain } from "../../lib/protocol/mod.ts";
import { DEVICE_TOPIC_PREFIX, NODE_TOPIC_PREFIX, parseDeviceTopic } from "./topic.ts";

export interface BusAuthOptions {
  /** username -> password. Empty: anonymous clients are accepted, as KubeEdge's broker does. */
  readonly users: Readonly<Record<string, string>>;
  /** Usernames allowed every topic. */
  readonly admins: readonly string[];
  /** Whether device and node topics are restricted as described above. */
  readonly acl: boolean;
}

export type Identity =
  | { readonly kind: "admin" }
  | { readonly kind: "device"; readonly id: string }
  | { readonly kind: "other" };

/** Whether the credentials are accepted: any when no users are configured, else a matching password. */
export function checkCredentials(
  auth: BusAuthOptions,
  username: string | undefined,
  password: Uint8Array | undefined,
): boolean {
  const users = Object.keys(auth.users);
  if (users.length === 0) return true;
  if (username === undefined || !Object.hasOwn(auth.users, username)) return false;
  const expected = auth.users[username] ?? "";
  return sameSecret(new TextEncoder().encode(expected), password ?? new Uint8Array());
}

/** The role a connected client's username gives it. */
export function identify(auth: BusAuthOptions, username: string | undefined): Identity {
  if (!auth.acl) return { kind: "admin" };
  if (username !== undefined && auth.admins.includes(username)) return { kind: "admin" };
  const [namespace = "", name = "", ...extra] = (username ?? "").split("/");
  if (extra.length === 0 && isDns1123Label(namespace) && isDns1123Subdomain(name)) {
    return { kind: "device", id: `${namespace}/${name}` };
  }
  return { kind: "other" };
}

/** Whether `who` may publish to, or receive a message on, `topic`. */
export function mayUse(who: Identity, topic: string): boolean {
  switch (who.kind) {
    case "admin":
      return true;
    case "device":
      return parseDeviceTopic(topic)?.id === who.id;
    case "other":
      return !topic.startsWith(DEVICE_TOPIC_PREFIX) && !topic.startsWith(NODE_TOPIC_PREFIX);
  }
}

/**
 * Whether `who` may subscribe to `filter`. A device may subscribe only below its own prefix; others may
 * subscribe to wildcards that also cover device topics, but such messages are never forwarded to them.
 */
export function maySubscribe(who: Identity, filter: string): boolean {
  switch (who.kind) {
    case "admin":
      return true;
    case "device": {
      const prefix = `${DEVICE_TOPIC_PREFIX}${who.id}/`;
      return filter.startsWith(prefix) && !filter.slice(0, prefix.length).includes("+");
    }
    case "other":
      return mayUse(who, filter);
  }
}

function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  const digest = (x: Uint8Array) => createHash("sha256").update(x).digest();
  return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}
