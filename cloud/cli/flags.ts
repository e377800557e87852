// The flags of cloudcore's subcommands (init, manifest, certs) and how they change the config.
import { isIP } from "node:net";
import { resolve } from "node:path";
import { UsageError } from "../../lib/errors.ts";
import type { CloudCoreConfig } from "../config.ts";
import { flagValues } from "./argv.ts";

export const CLOUD_SUBCOMMAND_FLAGS = {
  kubeconfig: {
    type: "string",
    value: "FILE",
    description: "init, certs: kubeconfig to use; overrides kubeAPIConfig.kubeConfig",
  },
  "advertise-address": {
    type: "string",
    value: "IP[,IP]",
    description:
      "init, manifest, certs renew: IPs edges dial (repeatable); overrides cloudHub.advertiseAddress",
  },
  "dns-name": {
    type: "string",
    value: "NAME[,NAME]",
    description:
      "init, manifest, certs renew: DNS names edges dial (repeatable); overrides cloudHub.dnsNames",
  },
  image: { type: "string", value: "IMAGE", description: "manifest: cloudcore's container image" },
  "new-token": { type: "boolean", description: "certs renew: also write a fresh join token and print it" },
} as const;

export interface AddressFlags {
  readonly advertiseAddresses: string[];
  readonly dnsNames: string[];
}

/** --advertise-address and --dns-name from the raw argv (repeatable, comma lists). Throws UsageError. */
export function addressFlags(argv: readonly string[]): AddressFlags {
  const advertiseAddresses = flagValues(argv, "advertise-address");
  for (const ip of advertiseAddresses) {
    if (isIP(ip) === 0) {
      throw new UsageError(`--advertise-address must be an IP address, got ${JSON.stringify(ip)}`);
    }
  }
  const dnsNames = flagValues(argv, "dns-name").map((d) => d.toLowerCase());
  for (const name of dnsNames) {
    if (!/^(?=.{1,253}$)[a-z0-9*]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) {
      throw new UsageError(`--dns-name must be a DNS name, got ${JSON.stringify(name)}`);
    }
  }
  return { advertiseAddresses, dnsNames };
}

/** A copy of `config` with --kubeconfig, --advertise-address and --dns-name applied where given. */
export function applyCloudFlags(
  config: CloudCoreConfig,
  kubeconfig: string | undefined,
  addresses: AddressFlags,
): CloudCoreConfig {
  const next = structuredClone(config);
  if (kubeconfig !== undefined) next.kubeAPIConfig.kubeConfig = resolve(kubeconfig);
  if (addresses.advertiseAddresses.length > 0) {
    next.modules.cloudHub.advertiseAddress = addresses.advertiseAddresses;
  }
  if (addresses.dnsNames.length > 0) next.modules.cloudHub.dnsNames = addresses.dnsNames;
  return next;
}
