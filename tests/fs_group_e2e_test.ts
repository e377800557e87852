// Issue 14 end to end: a pod's fsGroup, as the kubelet applies it, through cloudcore, edgecore and a real
// containerd. Its secret, projected and emptyDir volumes and its service-account token belong to the group
// (setgid folders, group read bits, a token of 0640 owned by the pod's user), its processes have the group
// and supplementalGroups besides runAsGroup, and a non-root container reads a 0440 secret through the group,
// which the same container without fsGroup cannot.
import assert from "node:assert/strict";
import { createCriClient } from "../edge/cri/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

const TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount";

Deno.test("fsGroup: volumes owned by the group, the group in the processes' groups", async (t) => {
  await using env = await startPodEdge("fsgroup");
  const { kubectl, rt } = env;
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
  try {
    // The default ServiceAccount, which the apiserver's admission needs for the pods' kube-api-access volume.
    await waitFor(
      "the default ServiceAccount",
      () => kubectl(["get", "serviceaccount", "default", "-o", "name"]),
      60_000,
      500,
    );

    // 0440 is 288: the conformance specs' defaultMode, read by the group only.
    const pod = (name: string, securityContext: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 1
  securityContext: ${securityContext}
  containers:
  - name: app
    image: "${rt.images.busybox}"
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts:
    - {name: secret, mountPath: /etc/secret-volume}
    - {name: projected, mountPath: /etc/projected}
    - {name: data, mountPath: /data}
    - {name: data, mountPath: /sub, subPath: made/here}
    - {name: memory, mountPath: /memory}
  volumes:
  - {name: secret, secret: {secretName: fsg-secret, defaultMode: 288}}
  - {name: projected, projected: {defaultMode: 288, sources: [{secret: {name: fsg-secret}}]}}
  - {name: data, emptyDir: {}}
  - {name: memory, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
`;
    await kubectl(
      ["apply", "-f", "-"],
      [
        "apiVersion: v1\nkind: Secret\nmetadata: {name: fsg-secret, namespace: default}\nstringData: {data-1: value-1}\n",
        pod("with-fsgroup", "{runAsUser: 1000, runAsGroup: 1500, fsGroup: 2000, supplementalGroups: [3000]}"),
        pod("without-fsgroup", "{runAsUser: 1000, runAsGroup: 1500}"),
      ].join("---\n"),
    );
    const running = (name: string) =>
      waitFor(
        `${name} running`,
        async () => {
          const status = JSON.parse(await kubectl(["get", "pod", name, "-o", "json"])).status;
          const id = status?.containerStatuses?.[0]?.containerID;
          return status?.phase === "Running" && typeof id === "string" && id.replace("containerd://", "");
        },
        90_000,
        500,
      );
    const withGroup = await running("with-fsgroup");
    const sh = async (id: string, script: string) => (await exec(cri, id, script)).trim();

    await t.step(
      "the processes run as runAsUser and runAsGroup, with fsGroup then supplementalGroups",
      async () => {
        assert.equal(await sh(withGroup, "id -u; id -g"), "1000\n1500");
        assert.equal(await sh(withGroup, "id -G"), "1500 2000 3000");
      },
    );

    await t.step(
      "a 0440 secret (volume and projected) belongs to fsGroup; the non-root user reads it",
      async () => {
        for (const dir of ["/etc/secret-volume", "/etc/projected"]) {
          assert.equal(await sh(withGroup, `stat -L -c '%a %u %g' ${dir}/data-1`), "440 0 2000", dir);
          assert.equal(await sh(withGroup, `cat ${dir}/data-1`), "value-1", dir);
          assert.equal(
            await sh(withGroup, `stat -c '%g' ${dir}/..data/`),
            "2000",
            `${dir}: the payload folder`,
          );
          // setgid and the group's read and exec bits on the volume's folder.
          assert.equal(Number.parseInt(await sh(withGroup, `stat -c '%a' ${dir}`), 8) & 0o2550, 0o2550, dir);
        }
      },
    );

    await t.step(
      "an emptyDir and its subPath are 2777 of fsGroup, and what the container writes there is the group's",
      async () => {
        assert.equal(await sh(withGroup, "stat -c '%a %u %g' /data"), "2777 0 2000");
        assert.equal(await sh(withGroup, "echo x >/data/f && stat -c '%a %u %g' /data/f"), "644 1000 2000");
        // A subPath that did not exist is made with the volume's mode, as the kubelet does (not containerd's 0755).
        assert.equal(await sh(withGroup, "stat -c '%a %u %g' /sub /data/made"), "2777 0 2000\n2777 0 2000");
        // A tmpfs keeps its own sticky root (1777), as the kubelet mounts it.
        assert.equal(await sh(withGroup, "stat -c '%a %u %g' /memory"), "3777 0 2000");
      },
    );

    await t.step("the service-account token is 0640, owned by the pod's user and fsGroup", async () => {
      assert.equal(await sh(withGroup, `stat -L -c '%a %u %g' ${TOKEN}/token`), "640 1000 2000");
      assert.equal(await sh(withGroup, `stat -L -c '%a %u %g' ${TOKEN}/ca.crt`), "644 0 2000");
      assert.ok((await sh(withGroup, `cat ${TOKEN}/token`)).length > 0);
    });

    await t.step(
      "without fsGroup: root's group on the files, and the same user cannot read the secret",
      async () => {
        const without = await running("without-fsgroup");
        assert.equal(await sh(without, "id -G"), "1500");
        assert.equal(await sh(without, "stat -L -c '%a %u %g' /etc/secret-volume/data-1"), "440 0 0");
        assert.equal(
          await sh(without, "cat /etc/secret-volume/data-1 2>&1 || echo refused"),
          "cat: can't open '/etc/secret-volume/data-1': Permission denied\nrefused",
        );
        assert.equal(await sh(without, `stat -L -c '%a %u %g' ${TOKEN}/token`), "600 1000 0");
      },
    );
  } finally {
    cri.close();
  }
});
