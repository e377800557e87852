// Reaping what a dead test run left that it never recorded: a containerd shim is started detached by
// containerd (reparented to init) and only names the run folder in its argv (`-address <socket>`).
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRunDir, reapOrphans } from "./cluster/processes.ts";
import { listProcesses, running } from "./cluster/reap.ts";

/** Starts `args` detached through `setsid --fork` (not our child, like a shim) and returns its pid. */
async function detached(args: string[], marker: (p: ReturnType<typeof listProcesses>[number]) => boolean) {
  // No pipes: the detached process would hold them open, and waiting for their end would never return.
  const status = await new Deno.Command("setsid", {
    args: ["--fork", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn().status;
  assert.ok(status.success, `setsid ${args.join(" ")} failed`);
  for (let i = 0; i < 100; i++) {
    const found = listProcesses().find(marker);
    if (found) return found.pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Cannot find the detached ${args.join(" ")}`);
}

async function waitGone(pids: number[]) {
  for (let i = 0; i < 250 && pids.some(running); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(pids.filter(running), [], "killed processes are gone");
}

function mountedUnder(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").map((l) => l.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(`${dir}/`));
}

Deno.test("reapOrphans kills detached processes naming a dead run's folder, runs its atReap commands and unmounts under it", async () => {
  const root = await Deno.makeTempDir({ prefix: "kedge-reap-shim-" });
  const started: number[] = [];
  try {
    // Made first: making a run folder reaps the dead ones.
    const live = await createRunDir("live", root);
    // A dead run: its owner exited (a test process killed by the runner).
    const dead = join(root, "dead-run");
    await Deno.mkdir(join(dead, "containerd"), { recursive: true });
    const owner = new Deno.Command("true").spawn();
    await owner.status;
    await Deno.writeTextFile(join(dead, "owner"), `${owner.pid} 0\n`);
    await Deno.writeTextFile(join(dead, "reap"), `${JSON.stringify(["touch", join(root, "reaped")])}\n`);

    const socket = join(dead, "containerd", "containerd.sock");
    await Deno.writeTextFile(socket, "");
    // Shim-like: the folder in its argv only.
    const shim = await detached(["tail", "-f", socket], (p) => p.command === `tail -f ${socket}`);
    // The folder in its environment only.
    const envOnly = await detached(
      ["env", `KEDGE_RUN_FOLDER=${dead}`, "sleep", "600.5"],
      (p) => p.command === "sleep 600.5",
    );
    // Must survive: a live run's process, and one naming another path that merely starts like the dead one.
    const ofLive = await detached(
      ["env", `KEDGE_RUN_FOLDER=${live.path}`, "sleep", "600.25"],
      (p) => p.command === "sleep 600.25",
    );
    const lookalike = await detached(
      ["env", `KEDGE_RUN_FOLDER=${dead}-2`, "sleep", "600.125"],
      (p) => p.command === "sleep 600.125",
    );
    started.push(shim, envOnly, ofLive, lookalike);
    assert.ok(started.every(running));
    const mountable = Deno.uid() === 0;
    if (mountable) {
      await Deno.mkdir(join(dead, "rootfs"));
      const mount = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "kedge-reap", join(dead, "rootfs")],
      })
        .output();
      assert.ok(mount.success, "mount a tmpfs under the dead folder");
      assert.equal(mountedUnder(dead).length, 1);
    }

    const reaped: string[] = [];
    const killed = await reapOrphans(root, { onReaped: (r) => reaped.push(r.dir) });
    assert.equal(killed, 2, "the shim-like process and the one with the folder in its environment");
    await waitGone([shim, envOnly]);
    assert.deepEqual(reaped, [dead]);
    assert.ok(running(ofLive), "a live run's process is left alone");
    assert.ok(running(lookalike), "a process naming dead-run-2 is not one of dead-run's");
    await assert.rejects(Deno.stat(dead), Deno.errors.NotFound, "the dead run's folder is removed");
    await Deno.stat(join(root, "reaped"));
    await Deno.stat(live.path);
    if (mountable) assert.deepEqual(mountedUnder(dead), []);

    // Once no test runs, a process naming a folder that is gone (its run removed it and left it) goes too.
    assert.equal(await reapOrphans(root, { vanished: true }), 1);
    await waitGone([lookalike]);
    assert.ok(running(ofLive), "a live run's process is still left alone");
  } finally {
    for (const pid of started) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
