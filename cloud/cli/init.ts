// `cloudcore init`: everything a cluster needs before the first cloudcore starts, applied idempotently
// (namespace, device and rule CRDs, RBAC, the PKI Secrets), the config file when asked, and the join command to run
// on an edge node. A second run changes nothing and prints a join command again, with a fresh token.
import { isDeepStrictEqual } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { writeFileAtomic } from "../../lib/atomic_write.ts";
import { toYaml } from "../../lib/config/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { VERSION } from "../../lib/version.ts";
import { ensureCloudPki, KUBEEDGE_NAMESPACE, sansOf } from "../certs/mod.ts";
import { type CloudCoreConfig, parseCloudCoreConfig } from "../config.ts";
import { DEVICE_CRDS_YAML, RULE_CRDS_YAML } from "../crds/mod.ts";
import { applyObjects } from "./apply.ts";
import { joinCommandLine, mintJoinToken } from "./join_command.ts";
import { setUpStreaming } from "./stream_setup.ts";
import {
  clusterRoleBindingObject,
  clusterRoleObject,
  namespaceObject,
  serviceAccountObject,
} from "./rbac.ts";

export interface InitOptions {
  readonly kc: KubeConfig;
  /** The config with the flags applied: addresses, names, ports, validities. */
  readonly config: CloudCoreConfig;
  /** Where to write the config; nothing is written when absent. */
  readonly configPath?: string;
  readonly log: Logger;
  /** Receives each line for the person at the terminal; the last one is the join command. */
  readonly print: (line: string) => void;
}

export interface InitResult {
  readonly joinCommand: string;
  readonly configWritten: boolean;
}

/** The objects `init` applies, in order: the namespace first, the binding after its role. */
export function clusterObjects(): Record<string, unknown>[] {
  return [
    namespaceObject(),
    ...DEVICE_CRDS_YAML.map((text) => parse(text) as Record<string, unknown>),
    ...RULE_CRDS_YAML.map((text) => parse(text) as Record<string, unknown>),
    serviceAccountObject(),
    clusterRoleObject(),
    clusterRoleBindingObject(),
  ];
}

export async function runInit(options: InitOptions): Promise<InitResult> {
  const { kc, config, print } = options;
  const hub = config.modules.cloudHub;
  for (const { ref, outcome } of await applyObjects(kc, clusterObjects())) print(`${ref} ${outcome}`);
  const pki = await ensureCloudPki(kc, {
    advertiseAddresses: hub.advertiseAddress,
    dnsNames: hub.dnsNames,
    serverValidityDays: hub.serverCertValidityDays,
    tokenValidityMs: 2 * hub.tokenRefreshDuration * 3_600_000,
    log: options.log,
  });
  const sans = sansOf(pki.serverCert);
  print(`secret/casecret ready: CA expires ${pki.ca.cert.notAfter.toISOString()}`);
  print(
    `secret/cloudcoresecret ready: server certificate for ${
      [...sans.ipAddresses, ...sans.dnsNames].join(", ")
    }, expires ${pki.serverCert.notAfter.toISOString()}`,
  );
  print(`secret/tokensecret ready (namespace ${KUBEEDGE_NAMESPACE})`);
  const streaming = await setUpStreaming({
    kc,
    config,
    configPath: options.configPath,
    pki,
    log: options.log,
  });
  print(streaming.line);
  let configWritten = false;
  if (options.configPath !== undefined) {
    configWritten = await writeConfigIfChanged(options.configPath, streaming.config);
    print(`config ${options.configPath} ${configWritten ? "written" : "unchanged"}`);
  }
  const host = hub.advertiseAddress[0] ?? hub.dnsNames[0] ?? sans.ipAddresses[0] ?? sans.dnsNames[0] ?? "";
  const minted = await mintJoinToken(kc, config);
  const joinCommand = joinCommandLine(host, streaming.config, minted.token);
  print("");
  print(`Run on each edge node (the token is valid until ${minted.expiresAt.toISOString()}):`);
  print("");
  print(joinCommand);
  return { joinCommand, configWritten };
}

/** Writes `config` to `path` unless the file there already parses to the same config. Returns whether it wrote. */
export async function writeConfigIfChanged(path: string, config: CloudCoreConfig): Promise<boolean> {
  const existing = await Deno.readTextFile(path).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  });
  if (existing !== undefined && isDeepStrictEqual(parseCloudCoreConfig(existing, path), config)) return false;
  await writeFileAtomic(path, toYaml(config, `cloudcore ${VERSION} config, written by cloudcore init`), {
    mode: 0o600,
  });
  return true;
}
