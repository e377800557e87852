/**
 * Static pods from a folder of manifests (one Pod per .yaml/.yml/.json file), as the kubelet's file
 * source, so pods run before (and without) the cloud. The pod is named `<name>-<nodeName>`; its UID is a
 * hash of the node name, file path and content, so the same file gives the same UID after a restart (and
 * the running containers are adopted) while an edited file replaces the pod. The folder is polled.
 */
import { createHash } from "node:crypto";
import { extname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { sleep } from "../../lib/backoff.ts";
import type { Logger } from "../../lib/log.ts";
import { parsePod, type Pod } from "./pod_schema.ts";
import type { PodSource, PodUpdate } from "./source.ts";

export interface StaticPodSourceOptions {
  readonly path: string;
  readonly nodeName: string;
  readonly log: Logger;
  /** Default 5 s. */
  readonly pollMs?: number;
  /** Larger manifest files are refused. Default 1 MiB. */
  readonly maxFileBytes?: number;
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export function staticPodSource(options: StaticPodSourceOptions): PodSource {
  const known = new Map<string, Pod>();
  const badLogged = new Map<string, string>();
  const maxBytes = options.maxFileBytes ?? 1024 * 1024;

  const scan = async (deliver: (u: PodUpdate) => void) => {
    const seen = new Set<string>();
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(options.path));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (!entry.isFile || entry.name.startsWith(".") || !EXTENSIONS.has(extname(entry.name))) continue;
      const file = join(options.path, entry.name);
      seen.add(file);
      let pod: Pod;
      let content = "";
      try {
        const info = await Deno.stat(file);
        if (info.size > maxBytes) throw new RangeError(`Cannot read ${file}: larger than ${maxBytes} bytes`);
        content = await Deno.readTextFile(file);
        pod = toStaticPod(parsePod(parseYaml(content)), options.nodeName, file, content);
      } catch (err) {
        if (badLogged.get(file) !== content) {
          badLogged.set(file, content);
          options.log.warn("static pod manifest rejected", { file, error: err });
        }
        continue;
      }
      badLogged.delete(file);
      const old = known.get(file);
      if (old?.metadata.uid === pod.metadata.uid) continue;
      if (old) deliver({ op: "delete", pod: old });
      known.set(file, pod);
      deliver({ op: "add", pod });
    }
    for (const [file, pod] of known) {
      if (seen.has(file)) continue;
      known.delete(file);
      deliver({ op: "delete", pod });
    }
  };

  return {
    name: "file",
    async start(deliver, signal) {
      await scan(deliver);
      const poll = async () => {
        while (!signal.aborted) {
          // sleep() removes its abort listener when the time is up: none piles up on the signal per poll.
          if (!await sleep(options.pollMs ?? 5000, signal)) return;
          await scan(deliver).catch((err) => options.log.warn("static pod scan failed", { error: err }));
        }
      };
      poll();
    },
  };
}

function toStaticPod(pod: Pod, nodeName: string, file: string, content: string): Pod {
  const hex = createHash("sha256").update(`${nodeName}\0${file}\0${content}`).digest("hex");
  const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`;
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      name: `${pod.metadata.name}-${nodeName}`,
      namespace: pod.metadata.namespace ?? "default",
      uid,
      annotations: {
        ...(pod.metadata.annotations ?? {}),
        "kubernetes.io/config.source": "file",
        "kubernetes.io/config.hash": uid,
      },
    },
    spec: { ...pod.spec, nodeName },
  };
}
