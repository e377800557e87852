/**
 * The service environment variables the kubelet gives every container (kubelet_pods.go getServiceEnvVarMap,
 * envvars.go FromServices, Kubernetes v1.34): for each Service with a cluster IP, FOO_SERVICE_HOST,
 * FOO_SERVICE_PORT (first port), FOO_SERVICE_PORT_<NAME> per named port, and Docker's link variables
 * FOO_PORT, FOO_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}. Which Services: the master Service `kubernetes` of
 * namespace `default` always, and those of the pod's namespace when enableServiceLinks is not false (a pod
 * namespace's Service wins over the master one of the same name).
 */

/** What of a Service the variables need. */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly protocol?: string }[];
}

const MASTER_NAMESPACE = "default";
const MASTER_SERVICES: ReadonlySet<string> = new Set(["kubernetes"]);

/** The variables for a pod in `namespace` from the Services known; names and values as the kubelet's. */
export function serviceEnvVars(
  services: readonly ServiceInfo[],
  namespace: string,
  enableServiceLinks: boolean,
): Map<string, string> {
  const chosen = new Map<string, ServiceInfo>();
  for (const service of services) {
    if (!hasClusterIP(service)) continue;
    if (service.namespace === MASTER_NAMESPACE && MASTER_SERVICES.has(service.name)) {
      if (!chosen.has(service.name)) chosen.set(service.name, service);
    } else if (service.namespace === namespace && enableServiceLinks) {
      chosen.set(service.name, service);
    }
  }
  const out = new Map<string, string>();
  for (const service of chosen.values()) {
    for (const [name, value] of fromService(service)) out.set(name, value);
  }
  return out;
}

function hasClusterIP(service: ServiceInfo): boolean {
  return service.clusterIP !== "" && service.clusterIP !== "None";
}

/** envvars.go FromServices for one Service. */
function fromService(service: ServiceInfo): [string, string][] {
  const first = service.ports[0];
  // A Service with a cluster IP has at least one port (API validation); without one there is nothing to say.
  if (!first) return [];
  const prefix = variableName(service.name);
  const out: [string, string][] = [
    [`${prefix}_SERVICE_HOST`, service.clusterIP],
    [`${prefix}_SERVICE_PORT`, String(first.port)],
  ];
  for (const port of service.ports) {
    if (port.name) out.push([`${prefix}_SERVICE_PORT_${variableName(port.name)}`, String(port.port)]);
  }
  service.ports.forEach((port, i) => {
    const protocol = port.protocol || "TCP";
    const lower = protocol.toLowerCase();
    const url = `${lower}://${joinHostPort(service.clusterIP, port.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    out.push(
      [portPrefix, url],
      [`${portPrefix}_PROTO`, lower],
      [`${portPrefix}_PORT`, String(port.port)],
      [`${portPrefix}_ADDR`, service.clusterIP],
    );
  });
  return out;
}

/** envvars.go makeEnvVariableName: upper case, '-' to '_'. */
function variableName(name: string): string {
  return name.replaceAll("-", "_").toUpperCase();
}

/** Go's net.JoinHostPort: an IPv6 address in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The ServiceInfo of a Service object as the apiserver writes it, or undefined when it is not one. */
export function serviceInfoOf(object: unknown): ServiceInfo | undefined {
  if (typeof object !== "object" || object === null) return undefined;
  const { metadata, spec } = object as { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
  const name = metadata?.name;
  const namespace = metadata?.namespace;
  if (typeof name !== "string" || typeof namespace !== "string") return undefined;
  const clusterIP = typeof spec?.clusterIP === "string" ? spec.clusterIP : "";
  const ports: ServiceInfo["ports"][number][] = [];
  for (const port of Array.isArray(spec?.ports) ? spec.ports : []) {
    if (typeof port !== "object" || port === null || typeof port.port !== "number") continue;
    ports.push({
      port: port.port,
      ...(typeof port.name === "string" && port.name ? { name: port.name } : {}),
      ...(typeof port.protocol === "string" && port.protocol ? { protocol: port.protocol } : {}),
    });
  }
  return { namespace, name, clusterIP, ports };
}
