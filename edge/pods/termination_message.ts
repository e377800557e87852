/**
 * A terminated container's message, as the kubelet reads it: the file mounted at its terminationMessagePath
 * (at most 4 KiB), or with policy FallbackToLogsOnError and a failed exit, the tail of its log (at most 80
 * lines and 2 KiB).
 */
import type { ContainerStatus } from "../cri/mod.ts";
import { TERMINATION_LOG, TERMINATION_MESSAGE_POLICY } from "./labels.ts";

const MAX_MESSAGE_BYTES = 4096;
const MAX_LOG_LINES = 80;
const MAX_LOG_BYTES = 2048;

export async function terminationMessage(status: ContainerStatus): Promise<string> {
  const file = status.annotations[TERMINATION_LOG];
  const message = file ? await readHead(file, MAX_MESSAGE_BYTES) : "";
  if (message || status.exitCode === 0) return message;
  if (status.annotations[TERMINATION_MESSAGE_POLICY] !== "FallbackToLogsOnError" || !status.logPath) {
    return "";
  }
  return logTail(await readTail(status.logPath, 64 * 1024));
}

async function readHead(path: string, max: number): Promise<string> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const buffer = new Uint8Array(max);
    let filled = 0;
    for (;;) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null || n === 0) break;
      filled += n;
      if (filled === max) break;
    }
    return new TextDecoder().decode(buffer.subarray(0, filled));
  } catch {
    return "";
  } finally {
    file?.close();
  }
}

async function readTail(path: string, max: number): Promise<string> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const size = (await file.stat()).size;
    await file.seek(Math.max(0, size - max), Deno.SeekMode.Start);
    const buffer = new Uint8Array(Math.min(size, max));
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null || n === 0) break;
      filled += n;
    }
    return new TextDecoder().decode(buffer.subarray(0, filled));
  } catch {
    return "";
  } finally {
    file?.close();
  }
}

/** The container's own output from CRI log lines (`<time> <stream> <P|F> <text>`): the last lines, capped. */
export function logTail(text: string, maxLines = MAX_LOG_LINES, maxBytes = MAX_LOG_BYTES): string {
  let out = "";
  for (const line of text.split("\n")) {
    const parts = /^\S+ (?:stdout|stderr) ([PF]) (.*)$/.exec(line);
    if (!parts) continue;
    out += parts[1] === "F" ? `${parts[2]}\n` : parts[2];
  }
  const lines = out.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let tail = lines.slice(-maxLines).join("\n");
  if (out.endsWith("\n") && tail) tail += "\n";
  const bytes = new TextEncoder().encode(tail);
  return bytes.length <= maxBytes ? tail : new TextDecoder().decode(bytes.subarray(bytes.length - maxBytes));
}
