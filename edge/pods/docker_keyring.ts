/**
 * Registry credentials by image, as the kubelet's BasicDockerKeyring (pkg/credentialprovider/keyring.go):
 * each entry of a docker config is keyed by its host and path (`https://`, `/v1/` and `/v2/` dropped); an
 * image's credentials are those of every key whose port matches exactly, whose host has as many dot-separated
 * parts each matching as a glob (`*.example.com`), and whose path is a prefix of the image's repository,
 * longest key first; failing that, an image of Docker Hub takes the `index.docker.io` entry.
 */

/** One registry login, as CRI's AuthConfig carries it. */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
}

/** A docker config's entry: `auth` is base64 of `username:password` and wins over the two fields. */
export interface DockerConfigEntry {
  readonly username?: string;
  readonly password?: string;
  readonly auth?: string;
}

const DEFAULT_REGISTRY = "index.docker.io";

export class DockerKeyring {
  readonly #creds = new Map<string, RegistryAuth[]>();
  #index: string[] = [];

  /** Adds the entries of a docker config (`.dockercfg`, or `auths` of `.dockerconfigjson`). */
  add(config: Readonly<Record<string, DockerConfigEntry>>): void {
    for (const [location, entry] of Object.entries(config)) {
      const key = keyOf(location);
      if (key === undefined) continue;
      const list = this.#creds.get(key) ?? [];
      list.push(credentialsOf(entry));
      this.#creds.set(key, list);
    }
    this.#index = [...this.#creds.keys()].sort().reverse();
  }

  /** The credentials to try for `image` (any form: tagged, digested, Docker Hub short names), in order. */
  lookup(image: string): RegistryAuth[] {
    const repo = repositoryOf(image);
    const found = this.#index.filter((key) => urlsMatch(key, repo)).flatMap((key) => this.#creds.get(key)!);
    if (found.length > 0) return found;
    if (repo.startsWith("docker.io/")) return [...(this.#creds.get(DEFAULT_REGISTRY) ?? [])];
    return [];
  }
}

function credentialsOf(entry: DockerConfigEntry): RegistryAuth {
  if (!entry.auth) return { username: entry.username ?? "", password: entry.password ?? "" };
  let decoded = "";
  try {
    // Padded or not, as the kubelet reads it (atob is forgiving about padding).
    decoded = new TextDecoder().decode(Uint8Array.from(atob(entry.auth.trim()), (c) => c.charCodeAt(0)));
  } catch { /* not base64: refused below */ }
  const colon = decoded.indexOf(":");
  if (colon < 0) {
    throw new TypeError("Cannot read a docker config entry: auth is not base64 of username:password");
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The keyring key of a config location: host, then its path without `/v1` or `/v2` unless only "/". */
function keyOf(location: string): string | undefined {
  const { host, path } = splitUrl(location.replace(/^https?:\/\//, ""));
  if (!host || /[\s]/.test(host)) return undefined;
  const effective = path.startsWith("/v2/") || path.startsWith("/v1/") ? path.slice(3) : path;
  return effective.length > 0 && effective !== "/" ? host + effective : host;
}

/** The repository an image names, normalised as docker's ParseNormalizedNamed: no tag, no digest. */
export function repositoryOf(image: string): string {
  let name = image;
  const at = name.indexOf("@");
  if (at >= 0) name = name.slice(0, at);
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) name = name.slice(0, colon);
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return first === "index.docker.io" ? `docker.io${name.slice(slash)}` : name;
  }
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

function splitUrl(schemeless: string): { host: string; path: string } {
  const end = schemeless.search(/[/?#]/);
  const host = end < 0 ? schemeless : schemeless.slice(0, end);
  const rest = end < 0 ? "" : schemeless.slice(end);
  const path = rest.startsWith("/") ? rest.replace(/[?#].*$/, "") : "";
  return { host, path };
}

function splitHostPort(host: string): { parts: string[]; port: string } {
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(host);
  if (bracket) return { parts: (bracket[1] ?? "").split("."), port: bracket[2] ?? "" };
  const colons = host.split(":").length - 1;
  if (colons !== 1) return { parts: host.split("."), port: "" };
  const [name = "", port = ""] = host.split(":");
  return { parts: name.split("."), port };
}

/** keyring.go's URLsMatch: same port, as many host parts each matching as a glob, a path prefix. */
function urlsMatch(glob: string, target: string): boolean {
  const g = splitUrl(glob);
  const t = splitUrl(target);
  const gh = splitHostPort(g.host);
  const th = splitHostPort(t.host);
  if (gh.port !== th.port || gh.parts.length !== th.parts.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  return gh.parts.every((part, i) => globMatch(part, th.parts[i] ?? ""));
}

/** Go's filepath.Match for one host part: `*`, `?`, `[...]` classes, `\` escapes; a bad pattern matches nothing. */
function globMatch(pattern: string, text: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\") {
      if (++i >= pattern.length) return false;
      re += escape(pattern[i]!);
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) return false;
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\]\\^]/g, "\\$&")}]`;
      i = close;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`).test(text);
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
