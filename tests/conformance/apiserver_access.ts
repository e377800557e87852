// What a cluster gives the pods that call the apiserver and the servers it proxies to, set up for the suite's
// node on this machine (the control plane, the edge node and its pods all run here):
// - the front proxy of the aggregation layer, as kubeadm sets it up: a CA the apiserver names in the
//   extension-apiserver-authentication ConfigMap (requestheader-client-ca-file) and the client certificate it
//   presents when it proxies a request to an aggregated API server (the suite's sample-apiserver), which then
//   takes the user from the X-Remote-* headers;
// - kube-proxy's part for the `kubernetes` Service alone: a pod dials the Service's cluster IP
//   (KUBERNETES_SERVICE_HOST, rest.InClusterConfig), its containerd network routes the Service range to this
//   host (`podRoutes`), and one DNAT rule on the pods' bridge sends the Service's port to the endpoint the
//   Service's EndpointSlice names (the apiserver's advertised address and port). On a real edge node
//   KubeEdge leaves Services to edgemesh; here nothing else routes cluster IPs, so the other Services stay
//   unreachable from pods (the specs that need them are on the skip list).
import { join } from "node:path";
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "../../lib/pki/mod.ts";
import type { RunDir } from "../cluster/mod.ts";
import type { Kubectl } from "./node.ts";

const FRONT_PROXY_CLIENT = "front-proxy-client";

/** Writes the front proxy's CA and client certificate into `run`; returns the apiserver flags naming them. */
export async function frontProxyArgs(run: RunDir): Promise<string[]> {
  const ca = await createCa({ commonName: "kedge-test-front-proxy-ca" });
  const client = await issueCertificate({ ca, commonName: FRONT_PROXY_CLIENT, usages: ["client"] });
  const file = (name: string) => join(run.path, name);
  await Deno.writeTextFile(file("front-proxy-ca.crt"), certificateToPem(ca.cert));
  await Deno.writeTextFile(file("front-proxy-client.crt"), certificateToPem(client.cert));
  await Deno.writeTextFile(file("front-proxy-client.key"), await privateKeyToPem(client.keys!.privateKey), {
    mode: 0o600,
  });
  return [
    `--requestheader-client-ca-file=${file("front-proxy-ca.crt")}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${file("front-proxy-client.crt")}`,
    `--proxy-client-key-file=${file("front-proxy-client.key")}`,
  ];
}

interface ServiceJson {
  spec?: { clusterIP?: string; ports?: { port?: number }[] };
}
interface EndpointSliceListJson {
  items?: { endpoints?: { addresses?: string[] }[]; ports?: { port?: number }[] }[];
}

async function getJson<T>(kubectl: Kubectl, args: string[]): Promise<T> {
  const out = await kubectl([...args, "-o", "json"]);
  if (out.code !== 0) throw new Error(`Cannot kubectl get ${args.join(" ")}: ${out.stderr.trim()}`);
  return JSON.parse(out.stdout) as T;
}

/**
 * Adds the DNAT rule from the `kubernetes` Service's cluster IP and port to its endpoint, for packets that come
 * in from the pods' `bridge`; the returned function removes it (a later run does, via `run`, should this one
 * die first).
 */
export async function routeKubernetesService(
  run: RunDir,
  kubectl: Kubectl,
  bridge: string,
): Promise<() => Promise<void>> {
  const service = await getJson<ServiceJson>(kubectl, ["-n", "default", "get", "service", "kubernetes"]);
  const clusterIP = service.spec?.clusterIP;
  const servicePort = service.spec?.ports?.[0]?.port;
  let address: string | undefined;
  let port: number | undefined;
  // The apiserver's reconciler writes the EndpointSlice within seconds of its start.
  for (const deadline = Date.now() + 30_000; !(address && port) && Date.now() < deadline;) {
    const slices = await getJson<EndpointSliceListJson>(kubectl, [
      "-n",
      "default",
      "get",
      "endpointslices",
      "-l",
      "kubernetes.io/service-name=kubernetes",
    ]);
    const slice = slices.items?.find((s) => s.endpoints?.[0]?.addresses?.[0] && s.ports?.[0]?.port);
    address = slice?.endpoints?.[0]?.addresses?.[0];
    port = slice?.ports?.[0]?.port;
    if (!(address && port)) await new Promise((r) => setTimeout(r, 500));
  }
  if (!clusterIP || !servicePort || !address || !port) {
    throw new Error("Cannot route the kubernetes Service: no cluster IP, port or endpoint in the API");
  }
  const rule = [
    "PREROUTING",
    "-i",
    bridge,
    "-d",
    `${clusterIP}/32`,
    "-p",
    "tcp",
    "--dport",
    String(servicePort),
    "-j",
    "DNAT",
    "--to-destination",
    `${address}:${port}`,
  ];
  const iptables = async (action: "-A" | "-D") => {
    const out = await new Deno.Command("iptables", {
      args: ["-w", "-t", "nat", action, ...rule],
      stdout: "null",
      stderr: "piped",
    }).output();
    const why = new TextDecoder().decode(out.stderr).trim();
    if (!out.success) throw new Error(`Cannot ${action === "-A" ? "add" : "delete"} the DNAT rule: ${why}`);
  };
  run.atReap(["iptables", "-w", "-t", "nat", "-D", ...rule]);
  await iptables("-A");
  return () => iptables("-D");
}
