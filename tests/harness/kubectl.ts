// The machine's kubectl (or the one built beside the control plane) as tests and the demo use it.
import { controlPlaneBinaries } from "../cluster/mod.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with `args`; `stdin` is piped in when given. Never throws for a non-zero exit. */
export async function runKubectl(args: string[], stdin?: string): Promise<KubectlResult> {
  const { kubectl } = await controlPlaneBinaries();
  const child = new Deno.Command(kubectl, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** kubectl against one cluster: its stdout, or an error naming the command and kubectl's stderr. */
export function kubectlFor(kubeconfigPath: string): (args: string[], stdin?: string) => Promise<string> {
  return async (args, stdin) => {
    const out = await runKubectl([`--kubeconfig=${kubeconfigPath}`, ...args], stdin);
    if (out.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${out.stderr}`);
    return out.stdout;
  };
}

/**
 * A streaming kubectl (`logs -f`, `attach`): reads stdout until `pattern` matched `count` times or `timeoutMs`
 * passed, then stops it; resolves with what it printed.
 */
export async function streamKubectl(
  args: string[],
  pattern: RegExp,
  count: number,
  timeoutMs = 15_000,
): Promise<string> {
  const { kubectl } = await controlPlaneBinaries();
  const child = new Deno.Command(kubectl, { args, stdin: "null", stdout: "piped", stderr: "null" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const global = new RegExp(pattern.source, "g");
  let seen = "";
  const timer = setTimeout(() => reader.cancel().catch(() => {}), timeoutMs);
  try {
    while ((seen.match(global) ?? []).length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await reader.cancel().catch(() => {});
    await child.status;
  }
  return seen;
}
