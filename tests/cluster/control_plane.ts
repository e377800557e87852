// A real Kubernetes control plane for one test file: etcd and kube-apiserver (plus kube-controller-manager
// and kube-scheduler when asked) on free loopback ports, in a temp folder, stopped and removed by stop().
import { join } from "node:path";
import { controlPlaneBinaries } from "./binaries.ts";
import { type ClusterPki, kubeconfigYaml, SERVICE_CLUSTER_IP_RANGE, writeClusterPki } from "./cluster_pki.ts";
import { createRunDir, freePort, type RunDir, type Spawned, spawnLogged } from "./processes.ts";
import { certificateToPem } from "../../lib/pki/mod.ts";

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager and kube-scheduler (Deployments, node lifecycle, binding). */
  controllers?: boolean;
  /** Extra flags per component, e.g. a shorter node-monitor-grace-period for a lifecycle test. */
  extraArgs?: { apiserver?: string[]; controllerManager?: string[]; scheduler?: string[] };
  /** Where the folder goes; a fresh temp folder by default. */
  root?: string;
  readyTimeoutMs?: number;
}

/** A component that a test may kill (SIGKILL, as a crash) and start again with the same flags and data. */
export interface Restartable {
  kill(): Promise<void>;
  /** Starts it again; for the apiserver, resolves once /readyz answers. */
  start(): Promise<void>;
}

export interface ControlPlane extends AsyncDisposable {
  dir: string;
  server: string;
  kubeconfigPath: string;
  caPem: string;
  pki: ClusterPki;
  apiserver: Restartable;
  etcd: Restartable;
  /**
   * One more kube-apiserver on the same etcd (another port), as in a cluster with several: a test changes
   * objects through it while the first one is down. Stopped by stop() at the latest.
   */
  startSecondApiserver(): Promise<{ server: string; kubeconfigPath: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

/**
 * Watches the apiserver ends after this many seconds (to twice that, at random) when the client does not ask
 * for a timeout: a few seconds, so that every test crosses several watch expiries (the default is 1800).
 */
export const TEST_MIN_REQUEST_TIMEOUT_S = 5;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const bins = await controlPlaneBinaries();
  const run = await createRunDir("control-plane", options.root);
  // Restartable components sit in a slot: stop() stops what runs in it at the time.
  const etcd: { p?: Spawned } = {};
  const apiserver: { p?: Spawned } = {};
  const processes: Array<{ p?: Spawned }> = [etcd, apiserver];
  const stop = async () => {
    for (const slot of processes.reverse()) await slot.p?.stop();
    processes.length = 0;
    await run.remove();
  };
  try {
    const pki = await writeClusterPki(run.path);
    const caPem = certificateToPem(pki.ca.cert);
    const etcdPort = freePort();
    const etcdPeerPort = freePort();
    const spawnEtcd = async () => etcd.p = await startEtcd(run, bins.etcd, etcdPort, etcdPeerPort);
    await spawnEtcd();
    const apiserverArgs = (port: number) => [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${port}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--cert-dir=${run.path}`,
      `--tls-cert-file=${pki.serverCertFile}`,
      `--tls-private-key-file=${pki.serverKeyFile}`,
      `--client-ca-file=${pki.caCertFile}`,
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      "--authorization-mode=Node,RBAC",
      "--allow-privileged=true",
      `--kubelet-client-certificate=${pki.kubeletClientCertFile}`,
      `--kubelet-client-key=${pki.kubeletClientKeyFile}`,
      `--kubelet-certificate-authority=${pki.caCertFile}`,
      "--profiling=false",
      `--min-request-timeout=${TEST_MIN_REQUEST_TIMEOUT_S}`,
      ...(options.extraArgs?.apiserver ?? []),
    ];
    const apiPort = freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
    const spawnApiserver = async () => {
      apiserver.p = await spawnLogged(run, "kube-apiserver", bins.apiserver, apiserverArgs(apiPort));
      await waitReady(`${server}/readyz`, caPem, [etcd.p!, apiserver.p], readyTimeoutMs);
    };
    const kubeconfigPath = join(run.path, "kubeconfig");
    await Deno.writeTextFile(kubeconfigPath, kubeconfigYaml(server, pki, caPem), { mode: 0o600 });
    await spawnApiserver();
    const kill = async (slot: { p?: Spawned }) => {
      if (!slot.p) return;
      try {
        Deno.kill(slot.p.pid, "SIGKILL");
      } catch { /* already gone */ }
      await slot.p.status;
      slot.p = undefined;
    };
    const startSecondApiserver = async () => {
      const port = freePort();
      const second = `https://127.0.0.1:${port}`;
      const slot: { p?: Spawned } = {};
      processes.push(slot);
      slot.p = await spawnLogged(run, `kube-apiserver-${port}`, bins.apiserver, apiserverArgs(port));
      await waitReady(`${second}/readyz`, caPem, [slot.p], readyTimeoutMs);
      const path = join(run.path, `kubeconfig-${port}`);
      await Deno.writeTextFile(path, kubeconfigYaml(second, pki, caPem), { mode: 0o600 });
      return { server: second, kubeconfigPath: path, stop: () => kill(slot) };
    };
    if (options.controllers) {
      processes.push(
        {
          p: await spawnLogged(run, "kube-controller-manager", bins.controllerManager, [
            `--kubeconfig=${kubeconfigPath}`,
            `--authentication-kubeconfig=${kubeconfigPath}`,
            `--authorization-kubeconfig=${kubeconfigPath}`,
            `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
            `--root-ca-file=${pki.caCertFile}`,
            "--use-service-account-credentials",
            `--cluster-signing-cert-file=${pki.caCertFile}`,
            `--cluster-signing-key-file=${pki.caKeyFile}`,
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            `--secure-port=${freePort()}`,
            ...(options.extraArgs?.controllerManager ?? []),
          ]),
        },
        {
          p: await spawnLogged(run, "kube-scheduler", bins.scheduler, [
            `--kubeconfig=${kubeconfigPath}`,
            `--authentication-kubeconfig=${kubeconfigPath}`,
            `--authorization-kubeconfig=${kubeconfigPath}`,
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            `--secure-port=${freePort()}`,
            ...(options.extraArgs?.scheduler ?? []),
          ]),
        },
      );
      // Pods are refused until the controller-manager has made the namespace's default ServiceAccount; a
      // test that creates one sooner failed under load ("serviceaccount \"default\" not found").
      await waitReady(
        `${server}/api/v1/namespaces/default/serviceaccounts/default`,
        caPem,
        processes.flatMap((slot) => slot.p ? [slot.p] : []),
        readyTimeoutMs,
        { cert: pki.adminCertPem, key: pki.adminKeyPem },
      );
    }
    return {
      dir: run.path,
      server,
      kubeconfigPath,
      caPem,
      pki,
      apiserver: { kill: () => kill(apiserver), start: spawnApiserver },
      etcd: { kill: () => kill(etcd), start: async () => void await spawnEtcd() },
      startSecondApiserver,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    const logs = await tailLogs(run.path);
    await stop();
    throw new Error(`Cannot start the control plane: ${(error as Error).message}\n${logs}`, { cause: error });
  }
}

function startEtcd(run: RunDir, etcd: string, clientPort: number, peerPort: number): Promise<Spawned> {
  const peer = `http://127.0.0.1:${peerPort}`;
  return spawnLogged(run, "etcd", etcd, [
    "--name=default",
    `--data-dir=${join(run.path, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${clientPort}`,
    `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    "--unsafe-no-fsync",
    "--log-level=warn",
  ]);
}

async function waitReady(
  url: string,
  caPem: string,
  processes: Spawned[],
  timeoutMs: number,
  clientCert?: { cert: string; key: string },
) {
  const client = Deno.createHttpClient({ caCerts: [caPem], ...clientCert });
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  for (const p of processes) p.status.then((s) => exited ??= `${p.name} exited with code ${s.code}`);
  let last = "";
  try {
    while (Date.now() < deadline) {
      if (exited) throw new Error(exited);
      try {
        const res = await fetch(url, { client, signal: AbortSignal.timeout(5000) });
        last = `${res.status} ${await res.text()}`;
        if (res.ok) return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last.slice(0, 500)})`);
  } finally {
    client.close();
  }
}

async function tailLogs(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const name of ["etcd.log", "kube-apiserver.log"]) {
    try {
      const text = await Deno.readTextFile(join(dir, name));
      parts.push(`--- ${name} (last lines)\n${text.split("\n").slice(-15).join("\n")}`);
    } catch { /* not started */ }
  }
  return parts.join("\n");
}
