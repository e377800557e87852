// The CRI client against a real containerd: sandboxes (host network and CNI), containers, ExecSync, images,
// and deadlines when containerd hangs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCriClient, CriError, GRPC_STATUS, type PodSandboxConfig } from "../edge/cri/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";

const decoder = new TextDecoder();

function sandboxConfig(name: string, logDir: string, hostNetwork: boolean): PodSandboxConfig {
  return {
    metadata: { name, uid: crypto.randomUUID(), namespace: "default", attempt: 0 },
    hostname: hostNetwork ? "" : name,
    logDirectory: logDir,
    labels: { "test": name },
    linux: { securityContext: { namespaceOptions: { network: hostNetwork ? "NODE" : "POD" } } },
  };
}

Deno.test("CRI client runs a sandbox and a container on containerd, execs in it, and times out when containerd hangs", async (t) => {
  const rt = await startTestRuntime("cri");
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
  try {
    await t.step("Version names containerd and CRI v1", async () => {
      const v = await cri.version();
      assert.equal(v.runtimeName, "containerd");
      assert.equal(v.runtimeApiVersion, "v1");
    });

    await t.step("PullImage pulls from the loopback registry and ImageStatus finds it", async () => {
      assert.equal(await cri.imageStatus(rt.images.busybox), undefined);
      const ref = await cri.pullImage(rt.images.busybox);
      assert.match(ref, /^sha256:[0-9a-f]{64}$/);
      const image = await cri.imageStatus(rt.images.busybox);
      assert.equal(image?.id, ref);
      assert.ok(image.repoTags.includes(rt.images.busybox));
    });

    for (const hostNetwork of [true, false]) {
      await t.step(
        `a ${hostNetwork ? "host-network" : "CNI"} sandbox runs a container that ExecSync reaches`,
        async () => {
          const logDir = join(rt.run.path, `logs-${hostNetwork}`);
          await Deno.mkdir(logDir, { recursive: true });
          const sbConfig = sandboxConfig(hostNetwork ? "host" : "cni", logDir, hostNetwork);
          const sandboxId = await cri.runPodSandbox(sbConfig);
          const status = await cri.podSandboxStatus(sandboxId);
          assert.equal(status.state, "SANDBOX_READY");
          if (!hostNetwork) assert.match(status.network?.ip ?? "", /^10\.\d+\.\d+\.\d+$/);
          const id = await cri.createContainer(sandboxId, {
            metadata: { name: "main", attempt: 0 },
            image: { image: rt.images.busybox },
            command: ["sh", "-c", "echo hello > /tmp/greeting; exec sleep 3600"],
            envs: [{ key: "GREETING", value: "hi there" }],
            logPath: "main.log",
            labels: { app: "x" },
          }, sbConfig);
          await cri.startContainer(id);
          const cs = await cri.containerStatus(id);
          assert.equal(cs.state, "CONTAINER_RUNNING");
          assert.equal(cs.labels.app, "x");
          const exec = await cri.execSync(
            id,
            ["sh", "-c", 'cat /tmp/greeting; echo "$GREETING"; exit 3'],
            10,
          );
          assert.equal(exec.exitCode, 3);
          assert.equal(decoder.decode(exec.stdout), "hello\nhi there\n");
          const listed = await cri.listContainers({ podSandboxId: sandboxId });
          assert.deepEqual(listed.map((c) => c.id), [id]);
          await cri.stopContainer(id, 0);
          assert.equal((await cri.containerStatus(id)).state, "CONTAINER_EXITED");
          await cri.removeContainer(id);
          await cri.stopPodSandbox(sandboxId);
          await cri.removePodSandbox(sandboxId);
          const err = await cri.podSandboxStatus(sandboxId).catch((e: unknown) => e);
          assert.ok(err instanceof CriError && err.code === GRPC_STATUS.NOT_FOUND, String(err));
        },
      );
    }

    await t.step(
      "a call to a stopped containerd fails with DEADLINE_EXCEEDED after its timeout",
      async () => {
        await rt.containerd.freeze();
        try {
          const started = Date.now();
          const err = await cri.listContainers(undefined, { timeoutMs: 500 }).catch((e: unknown) => e);
          const took = Date.now() - started;
          assert.ok(err instanceof CriError, `not a CriError: ${Deno.inspect(err).slice(0, 300)}`);
          assert.equal(err.code, GRPC_STATUS.DEADLINE_EXCEEDED);
          assert.match(err.message, /^Cannot ListContainers: deadline exceeded/);
          assert.ok(took >= 450 && took < 3000, `took ${took} ms`);
        } finally {
          rt.containerd.thaw();
        }
        assert.ok(Array.isArray(await cri.listContainers()));
      },
    );

    await t.step("a reply larger than maxReceiveBytes is refused", async () => {
      const small = createCriClient({ endpoint: rt.containerd.endpoint, maxReceiveBytes: 64 });
      try {
        const err = await small.listImages().catch((e: unknown) => e);
        assert.ok(err instanceof CriError, String(err));
        assert.equal(err.code, 8); // RESOURCE_EXHAUSTED
      } finally {
        small.close();
      }
    });

    await t.step("a socket nobody serves fails UNAVAILABLE, and a not-found sandbox NOT_FOUND", async () => {
      const nobody = createCriClient({ endpoint: `unix://${join(rt.run.path, "nobody.sock")}` });
      try {
        const err = await nobody.version().catch((e: unknown) => e);
        assert.ok(err instanceof CriError, String(err));
        assert.equal(err.code, GRPC_STATUS.UNAVAILABLE);
        assert.match(
          err.message,
          /^Cannot Version: unix:\/\/.*nobody\.sock: /,
          "names the socket it could not reach",
        );
      } finally {
        nobody.close();
      }
      const err = await cri.podSandboxStatus("no-such-sandbox").catch((e: unknown) => e);
      assert.ok(err instanceof CriError, String(err));
      assert.equal(err.code, GRPC_STATUS.NOT_FOUND);
      assert.match(err.message, /^Cannot PodSandboxStatus: .*not found/);
    });
  } finally {
    cri.close();
    await rt.stop();
  }
});
