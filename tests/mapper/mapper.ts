/**
 * The real DMI mapper for the tests: KubeEdge's mapper-framework `_template` with the virtual driver
 * (tests/mapper/build.sh), started with its own config.yaml (KubeEdge's keys) and its log in the run folder.
 * Its REST API (the framework's /api/v1/device/<ns>/<name>/<property>) reads a property through the driver.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type RunDir, type Spawned, spawnLogged } from "../cluster/mod.ts";

let located: Promise<{ binary: string } | { missing: string }> | undefined;

/** The cached mapper binary, building it when the KubeEdge snapshot is there; `missing` says why not. */
export function mapperBinary(): Promise<{ binary: string } | { missing: string }> {
  located ??= (async () => {
    const script = fileURLToPath(new URL("./build.sh", import.meta.url));
    const out = await new Deno.Command("bash", { args: [script], stdout: "piped", stderr: "piped" }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
    if (!out.success) {
      return { missing: text(out.stderr).split("\n").at(-1) ?? `build.sh exited ${out.code}` };
    }
    return { binary: text(out.stdout).split("\n").at(-1) ?? "" };
  })();
  return located;
}

export interface Mapper extends Spawned {
  readonly socket: string;
  readonly httpPort: number;
  readonly logFile: string;
  /** A property read through the mapper's REST API: the value, or undefined when the device is unknown. */
  read(namespace: string, device: string, property: string): Promise<string | undefined>;
  /** The mapper's log so far. */
  log(): Promise<string>;
}

export async function startMapper(
  run: RunDir,
  binary: string,
  options: { name: string; protocol: string; edgecoreSock: string; httpPort?: number },
): Promise<Mapper> {
  const dir = join(run.path, options.name);
  await Deno.mkdir(dir, { recursive: true });
  const socket = join(dir, "mapper.sock");
  const httpPort = options.httpPort ?? freePort();
  const config = join(dir, "config.yaml");
  await Deno.writeTextFile(
    config,
    [
      "grpc_server:",
      `  socket_path: ${socket}`,
      "common:",
      `  name: ${options.name}`,
      "  version: v1.13.0",
      "  api_version: v1.0.0",
      `  protocol: ${options.protocol}`,
      "  address: 127.0.0.1",
      `  edgecore_sock: ${options.edgecoreSock}`,
      `  http_port: "${httpPort}"`,
      "",
    ].join("\n"),
  );
  const spawned = await spawnLogged(run, options.name, binary, [`--config-file=${config}`, "--v=4"]);
  const logFile = join(run.path, `${options.name}.log`);
  return {
    ...spawned,
    socket,
    httpPort,
    logFile,
    async read(namespace, device, property) {
      const response = await fetch(
        `http://127.0.0.1:${httpPort}/api/v1/device/${namespace}/${device}/${property}`,
      )
        .catch(() => undefined);
      if (!response) return undefined;
      const body = await response.text();
      if (!response.ok) return undefined;
      return (JSON.parse(body) as { Data?: { Value?: string } }).Data?.Value;
    },
    log: () => Deno.readTextFile(logFile).catch(() => ""),
  };
}
