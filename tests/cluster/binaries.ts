// Where the control-plane binaries are: $KEDGE_CONTROL_PLANE_DIR when set (make test sets it), else
// whatever tests/cluster/build.sh prints after building or finding them in its cache.
import { fileURLToPath } from "node:url";

export interface Binaries {
  etcd: string;
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  /** The machine's kubectl, or the one build.sh made beside the control plane where there is none. */
  kubectl: string;
}

let located: Promise<string> | undefined;

async function locate(): Promise<string> {
  const preset = Deno.env.get("KEDGE_CONTROL_PLANE_DIR");
  if (preset) return preset;
  const script = fileURLToPath(new URL("./build.sh", import.meta.url));
  const out = await new Deno.Command("bash", { args: [script], stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`Cannot build the control plane: ${script} exited ${out.code}`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

export async function controlPlaneBinaries(): Promise<Binaries> {
  located ??= locate();
  const dir = await located;
  return {
    etcd: `${dir}/etcd`,
    apiserver: `${dir}/kube-apiserver`,
    controllerManager: `${dir}/kube-controller-manager`,
    scheduler: `${dir}/kube-scheduler`,
    kubectl: onPath("kubectl") ?? `${dir}/kubectl`,
  };
}

function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const path = `${dir}/${name}`;
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return undefined;
}
