// A loopback image registry for tests: Debian's docker-registry with filesystem storage in the run folder,
// and a minimal OCI distribution push (monolithic blob uploads, then the manifest) from an OCI layout. With
// `auth`, the registry wants that login (htpasswd, bcrypt by apache2-utils' htpasswd) for every request.
import { join } from "node:path";
import { freePort, type RunDir, type Spawned, spawnLogged } from "../cluster/processes.ts";

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the image name prefix. */
  readonly host: string;
  /** Pushes tag `tag` of the OCI layout at `layout` as `<host>/<repo>:<reference>`; returns the image name. */
  push(layout: string, tag: string, repo: string, reference?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  readonly binary?: string;
  /** Names the registry's files and log in the run folder; two registries in one run need two names. */
  readonly name?: string;
  readonly auth?: { readonly username: string; readonly password: string };
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export async function startRegistry(run: RunDir, options: RegistryOptions = {}): Promise<TestRegistry> {
  const { binary = "/usr/bin/docker-registry", name = "registry", auth } = options;
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const storage = join(run.path, name);
  await Deno.mkdir(storage, { recursive: true });
  const config = join(run.path, `${name}.yaml`);
  const lines = [
    "version: 0.1",
    "log: {level: warn}",
    `storage: {filesystem: {rootdirectory: ${storage}}, delete: {enabled: true}}`,
    `http: {addr: "${host}"}`,
  ];
  if (auth) {
    const htpasswd = join(run.path, `${name}.htpasswd`);
    await Deno.writeTextFile(htpasswd, await bcryptLine(auth.username, auth.password), { mode: 0o600 });
    lines.push(`auth: {htpasswd: {realm: kedge-test, path: ${htpasswd}}}`);
  }
  await Deno.writeTextFile(config, [...lines, ""].join("\n"));
  const proc: Spawned = await spawnLogged(run, name, binary, ["serve", config]);
  const headers: Record<string, string> = auth
    ? { authorization: `Basic ${btoa(`${auth.username}:${auth.password}`)}` }
    : {};
  await waitReady(`http://${host}/v2/`, proc, headers);
  return {
    host,
    push: (layout, tag, repo, reference = "1") => push(host, layout, tag, repo, reference, headers),
    stop: () => proc.stop(2000),
  };
}

/** An htpasswd line with a bcrypt hash; the password goes through stdin, never the command line. */
async function bcryptLine(username: string, password: string): Promise<string> {
  const child = new Deno.Command("htpasswd", {
    args: ["-niB", username],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${password}\n`));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `Cannot hash the registry password: htpasswd exited ${out.code} (apt-get install apache2-utils)`,
    );
  }
  return new TextDecoder().decode(out.stdout).trim() + "\n";
}

async function waitReady(url: string, proc: Spawned, headers: Record<string, string>): Promise<void> {
  let exited = false;
  proc.status.then(() => exited = true);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url, { headers });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Cannot start docker-registry: ${url} not ready${exited ? " (it exited)" : ""}`);
}

async function push(
  host: string,
  layout: string,
  tag: string,
  repo: string,
  reference: string,
  auth: Record<string, string>,
) {
  const index = JSON.parse(await Deno.readTextFile(join(layout, "index.json"))) as {
    manifests: Descriptor[];
  };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!entry) throw new Error(`Cannot push ${tag}: not in ${layout}`);
  const manifestBytes = await Deno.readFile(blobPath(layout, entry.digest));
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  for (const blob of [manifest.config, ...manifest.layers]) {
    await pushBlob(host, layout, repo, blob.digest, auth);
  }
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { ...auth, "content-type": entry.mediaType },
    body: manifestBytes,
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`Cannot push manifest ${repo}:${reference}: HTTP ${res.status}`);
  return `${host}/${repo}:${reference}`;
}

function blobPath(layout: string, digest: string): string {
  const [algorithm = "", hex = ""] = digest.split(":");
  return join(layout, "blobs", algorithm, hex);
}

async function pushBlob(
  host: string,
  layout: string,
  repo: string,
  digest: string,
  auth: Record<string, string>,
): Promise<void> {
  const head = await fetch(`http://${host}/v2/${repo}/blobs/${digest}`, { method: "HEAD", headers: auth });
  await head.body?.cancel();
  if (head.ok) return;
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: auth });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (start.status !== 202 || !location) throw new Error(`Cannot start upload: HTTP ${start.status}`);
  const url = new URL(location, `http://${host}`);
  url.searchParams.set("digest", digest);
  const res = await fetch(url, {
    method: "PUT",
    headers: { ...auth, "content-type": "application/octet-stream" },
    body: await Deno.readFile(blobPath(layout, digest)),
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`Cannot upload blob ${digest}: HTTP ${res.status}`);
}
