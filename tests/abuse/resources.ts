/**
 * What an attack costs the process under test: RSS and open file descriptors sampled while it runs, and
 * the descriptor count once it is over (every socket of the attack, both ends, should be gone).
 */
import { delay } from "../../cloud/hub/test_util.ts";

export const MiB = 1024 * 1024;
/** Descriptors allowed above the baseline after an attack (timers, log files, a late honest socket). */
export const FD_SLACK = 8;

export function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

export function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

/** Polls the descriptor count until it is back within FD_SLACK of `baseline`, for at most 3 s. */
export async function settledFds(baseline: number): Promise<number> {
  const deadline = performance.now() + 3_000;
  let fds = openFds();
  while (fds > baseline + FD_SLACK && performance.now() < deadline) {
    await delay(50);
    fds = openFds();
  }
  return fds;
}

/** RSS and descriptors every 50 ms while the attack runs. */
export class Sampler {
  rssBaseline = 0;
  rssPeak = 0;
  fdBaseline = 0;
  fdPeak = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  start(): void {
    this.rssBaseline = this.rssPeak = Deno.memoryUsage().rss;
    this.fdBaseline = this.fdPeak = openFds();
    this.#timer = setInterval(() => this.#sample(), 50);
  }

  stop(): void {
    if (this.#timer === undefined) return;
    this.#sample();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sample(): void {
    this.rssPeak = Math.max(this.rssPeak, Deno.memoryUsage().rss);
    this.fdPeak = Math.max(this.fdPeak, openFds());
  }
}
