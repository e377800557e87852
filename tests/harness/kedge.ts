// A cloudcore and joined edgecores as a user runs them (bin/cloudcore, bin/edgecore join, bin/edgecore run),
// on free loopback ports in a run folder, against a test control plane.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { type ControlPlane, freePort, type RunDir } from "../cluster/mod.ts";
import { type Core, startCore } from "./cores.ts";

const BIN = fileURLToPath(new URL("../../bin/", import.meta.url));

export interface CloudPorts {
  websocket: number;
  https: number;
  metrics: number;
}

export interface Cloud extends Core {
  ports: CloudPorts;
  configFile: string;
}

export function cloudConfig(cp: ControlPlane, ports: CloudPorts, extra: Record<string, unknown> = {}) {
  return {
    kubeAPIConfig: { kubeConfig: cp.kubeconfigPath },
    modules: {
      cloudHub: {
        advertiseAddress: ["127.0.0.1"],
        websocket: { address: "127.0.0.1", port: ports.websocket },
        https: { address: "127.0.0.1", port: ports.https },
        ...extra,
      },
    },
    metrics: { address: "127.0.0.1", port: ports.metrics },
    log: { level: LOG_LEVEL },
  };
}

/** KEDGE_TEST_LOG_LEVEL=debug makes every cloudcore and edgecore of a test log everything. */
const LOG_LEVEL = Deno.env.get("KEDGE_TEST_LOG_LEVEL") ?? "info";

export async function startCloud(
  run: RunDir,
  cp: ControlPlane,
  options: {
    name?: string;
    ports?: CloudPorts;
    cloudHub?: Record<string, unknown>;
    cloudStream?: Record<string, unknown>;
    /** modules.router, e.g. { enable: true, address: "127.0.0.1", port }. */
    router?: Record<string, unknown>;
    /** Merged into kubeAPIConfig, e.g. { qps, burst }. */
    kubeAPIConfig?: Record<string, unknown>;
  } = {},
): Promise<Cloud> {
  const name = options.name ?? "cloudcore";
  const ports = options.ports ?? { websocket: freePort(), https: freePort(), metrics: freePort() };
  const config = cloudConfig(cp, ports, options.cloudHub);
  if (options.cloudStream) Object.assign(config.modules, { cloudStream: options.cloudStream });
  if (options.router) Object.assign(config.modules, { router: options.router });
  Object.assign(config.kubeAPIConfig, options.kubeAPIConfig);
  const core = await startCore(run, "cloudcore", config, { name });
  await core.waitForLog("cloudcore ready", 60_000);
  return { ...core, ports, configFile: join(run.path, `${name}.yaml`) };
}

export async function command(binary: "cloudcore" | "edgecore", args: string[]) {
  const out = await new Deno.Command(join(BIN, binary), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

export async function getToken(cloud: Cloud): Promise<string> {
  const out = await command("cloudcore", ["gettoken", `--config=${cloud.configFile}`]);
  if (out.code !== 0) throw new Error(`cloudcore gettoken failed: ${out.stderr}`);
  return out.stdout.trim();
}

export interface JoinedEdge {
  name: string;
  configFile: string;
  certDir: string;
}

/** A cloud an edge can join: kedge's (token from `cloudcore gettoken`) or another that gives its token. */
export type JoinTarget = Cloud | { ports: { websocket: number; https: number }; token: string };

/** `edgecore join`, then the config made fit for a test: its own store, no containerd unless given. */
export async function joinEdge(
  run: RunDir,
  cloud: JoinTarget,
  name: string,
  overrides: (config: Record<string, Record<string, Record<string, unknown>>>) => void = () => {},
): Promise<JoinedEdge> {
  const configFile = join(run.path, `${name}.yaml`);
  const certDir = join(run.path, `${name}-certs`);
  const out = await command("edgecore", [
    "join",
    `--cloudcore-ipport=127.0.0.1:${cloud.ports.websocket}`,
    `--certport=${cloud.ports.https}`,
    `--token=${"token" in cloud ? cloud.token : await getToken(cloud)}`,
    `--node-name=${name}`,
    `--config=${configFile}`,
    `--cert-dir=${certDir}`,
    `--data-source=${join(run.path, `${name}.db`)}`,
  ]);
  if (out.code !== 0) throw new Error(`edgecore join failed (${out.code}): ${out.stderr}\n${out.stdout}`);
  const config = parse(await Deno.readTextFile(configFile));
  config.modules ??= {};
  config.modules.edged = {
    ...config.modules.edged,
    staticPodPath: "",
    containerRuntimeEndpoint: `unix://${join(run.path, "no-containerd.sock")}`,
    rootDirectory: join(run.path, `${name}-root`),
    podLogsDirectory: join(run.path, `${name}-logs`),
  };
  config.modules.eventBus = {
    ...config.modules.eventBus,
    mqttMode: 0,
    mqttServerInternal: `tcp://127.0.0.1:${freePort()}`,
  };
  // Local servers on free ports, so that several edgecores run side by side.
  config.modules.edgeStream = { ...config.modules.edgeStream, server: `127.0.0.1:${freePort()}` };
  config.modules.metaManager = { metaServer: { enable: true, server: `127.0.0.1:${freePort()}` } };
  // Its own DMI socket folder (KubeEdge's default /etc/kubeedge is one per box).
  config.modules.deviceTwin = { ...config.modules.deviceTwin, dmiSockPath: join(run.path, `${name}-dmi`) };
  config.log = { ...config.log, level: LOG_LEVEL };
  overrides(config);
  await Deno.writeTextFile(configFile, stringify(config));
  return { name, configFile, certDir };
}

export async function startEdge(run: RunDir, edge: JoinedEdge, name = edge.name): Promise<Core> {
  const config = parse(await Deno.readTextFile(edge.configFile));
  return await startCore(run, "edgecore", config, { name: `${name}-run` });
}

/** The value of one Prometheus sample, or undefined. */
export async function metric(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}
