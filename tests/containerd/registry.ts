// A loopback image registry for tests: Debian's docker-registry with filesystem storage in the run folder,
// and a minimal OCI distribution push (monolithic blob uploads, then the manifest) from an OCI layout.
import { join } from "node:path";
import { freePort, type RunDir, type Spawned, spawnLogged } from "../cluster/processes.ts";

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the image name prefix. */
  readonly host: string;
  /** Pushes tag `tag` of the OCI layout at `layout` as `<host>/<repo>:<reference>`; returns the image name. */
  push(layout: string, tag: string, repo: string, reference?: string): Promise<string>;
  stop(): Promise<void>;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export async function startRegistry(run: RunDir, binary = "/usr/bin/docker-registry"): Promise<TestRegistry> {
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const storage = join(run.path, "registry");
  await Deno.mkdir(storage, { recursive: true });
  const config = join(run.path, "registry.yaml");
  await Deno.writeTextFile(
    config,
    [
      "version: 0.1",
      "log: {level: warn}",
      `storage: {filesystem: {rootdirectory: ${storage}}, delete: {enabled: true}}`,
      `http: {addr: "${host}"}`,
      "",
    ].join("\n"),
  );
  const proc: Spawned = await spawnLogged(run, "registry", binary, ["serve", config]);
  await waitReady(`http://${host}/v2/`, proc);
  return {
    host,
    push: (layout, tag, repo, reference = "1") => push(host, layout, tag, repo, reference),
    stop: () => proc.stop(2000),
  };
}

async function waitReady(url: string, proc: Spawned): Promise<void> {
  let exited = false;
  proc.status.then(() => exited = true);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Cannot start docker-registry: ${url} not ready${exited ? " (it exited)" : ""}`);
}

async function push(host: string, layout: string, tag: string, repo: string, reference: string) {
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
  for (const blob of [manifest.config, ...manifest.layers]) await pushBlob(host, layout, repo, blob.digest);
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "content-type": entry.mediaType },
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

async function pushBlob(host: string, layout: string, repo: string, digest: string): Promise<void> {
  const head = await fetch(`http://${host}/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  await head.body?.cancel();
  if (head.ok) return;
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (start.status !== 202 || !location) throw new Error(`Cannot start upload: HTTP ${start.status}`);
  const url = new URL(location, `http://${host}`);
  url.searchParams.set("digest", digest);
  const res = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: await Deno.readFile(blobPath(layout, digest)),
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`Cannot upload blob ${digest}: HTTP ${res.status}`);
}
