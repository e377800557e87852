// The addresses edge nodes dial, and so the server certificate's IP SANs. Given by the config, else found on
// the machine's interfaces as upstream does (loopback and link-local left out: an edge cannot dial them).
export type InterfaceLister = () => Deno.NetworkInterfaceInfo[];

export function interfaceAddresses(list: InterfaceLister = Deno.networkInterfaces): string[] {
  const found = new Set<string>();
  for (const nic of list()) {
    const address = nic.address.toLowerCase();
    if (nic.family === "IPv4" && !address.startsWith("127.") && !address.startsWith("169.254.")) {
      found.add(address);
    }
    if (nic.family === "IPv6" && address !== "::1" && !address.startsWith("fe80:")) found.add(address);
  }
  return [...found];
}

/**
 * The advertise addresses to put in the certificate. Throws Error "Cannot start cloudcore: no advertise
 * address ..." when none is configured, no DNS name is given and no usable interface address exists.
 */
export function resolveAdvertiseAddresses(
  configured: readonly string[],
  dnsNames: readonly string[],
  list: InterfaceLister = Deno.networkInterfaces,
): string[] {
  if (configured.length > 0) return [...configured];
  const found = interfaceAddresses(list);
  if (found.length === 0 && dnsNames.length === 0) {
    throw new Error(
      "Cannot start cloudcore: no advertise address is configured (modules.cloudHub.advertiseAddress) " +
        "and no non-loopback interface address was found; set the address edge nodes dial",
    );
  }
  return found;
}
