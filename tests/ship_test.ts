// Shipping kedge, as an operator does it: `cloudcore init` on a real apiserver, cloudcore running with the
// RBAC init granted, the printed `edgecore join` with --install --root into a folder, `cloudcore manifest`
// through kubectl's server-side dry run, certificate expiry and renewal, `edgecore status` and `reset`.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join, relative } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { controlPlaneBinaries, createRunDir, freePort, startControlPlane } from "./cluster/mod.ts";
import { cloudConfig, command } from "./harness/kedge.ts";
import { kubectlFor, runKubectl } from "./harness/kubectl.ts";
import { type Core, startCore } from "./harness/cores.ts";
import { EDGECORE_UNIT } from "../edge/cli/mod.ts";
import { certificateToPem, issueCertificate, privateKeyToPem, x509 } from "../lib/pki/mod.ts";

const UNIT_FILE = new URL("../systemd/edgecore.service", import.meta.url);

Deno.test("the unit edgecore join --install writes is systemd/edgecore.service, byte for byte", async () => {
  assert.equal(EDGECORE_UNIT, await Deno.readTextFile(UNIT_FILE));
});

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      if (entry.isDirectory) await walk(full);
      else found.push(relative(dir, full));
    }
  };
  await walk(dir);
  return found.sort();
}

function connectedCount(text: string): number {
  return text.split("\n").filter((l) => l.includes('"connected to cloudcore"')).length;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ok(out: { code: number; stdout: string; stderr: string }, what: string) {
  assert.equal(out.code, 0, `${what} exited ${out.code}:\n${out.stderr}\n${out.stdout}`);
  return out;
}

Deno.test("ship: init, join --install --root, manifest, certificate lifecycle, status, reset", async (t) => {
  // With the controller-manager: it publishes kube-root-ca.crt and signs the stream certificate init asks for.
  await using cp = await startControlPlane({ controllers: true });
  const run = await createRunDir("ship");
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const ports = { websocket: freePort(), https: freePort(), metrics: freePort() };
  const configFile = join(run.path, "cloudcore.yaml");
  // The operator's file: ports of this test; init adds the kubeconfig and the advertise address.
  const tunnelPort = freePort();
  // Ports chosen once (free ones, never a random range another test may hold), the same across restarts.
  const nodePort = freePort();
  const peerPort = freePort();
  const base = cloudConfig(cp, ports);
  base.kubeAPIConfig.kubeConfig = "";
  base.modules.cloudHub.advertiseAddress = [];
  // The stream ports of this test; init adds the certificate, the kubelet-client CA and enable.
  Object.assign(base.modules, {
    cloudStream: { tunnelPort, nodePortRange: { min: nodePort, max: nodePort }, peerPort },
  });
  const streamDir = join(run.path, "stream");
  // The Router on: init's ClusterRole must let cloudcore watch Rules and RuleEndpoints.
  Object.assign(base.modules, { router: { enable: true, address: "127.0.0.1", port: freePort() } });
  await Deno.writeTextFile(configFile, stringify(base));
  const init = (extra: string[] = []) =>
    command("cloudcore", [
      "init",
      `--config=${configFile}`,
      `--kubeconfig=${cp.kubeconfigPath}`,
      "--advertise-address=127.0.0.1",
      "--dns-name=cloudcore.test",
      ...extra,
    ]);
  const root = join(run.path, "edge-root");
  const stops: Array<() => Promise<void>> = [];
  let cloud: Core | undefined;
  let edge: Core | undefined;
  let joinLine = "";
  const secretVersions = async () =>
    Object.fromEntries(
      await Promise.all(
        ["casecret", "cloudcoresecret", "tokensecret"].map(async (
          name,
        ) => [
          name,
          (await core.readNamespacedSecret({ name, namespace: "kubeedge" })).metadata!.resourceVersion,
        ]),
      ),
    );
  const serverSerial = async () => {
    const secret = await core.readNamespacedSecret({ name: "cloudcoresecret", namespace: "kubeedge" });
    return new x509.X509Certificate(Buffer.from(secret.data!.cloudcoredata!, "base64")).serialNumber;
  };
  // openssl is part of the test machine (Debian's ca-certificates pulls it in).
  const servedSerial = async (port = ports.https): Promise<string | undefined> => {
    const served = await new Deno.Command("openssl", {
      args: ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "cloudcore.test"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const pem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(
      new TextDecoder().decode(served.stdout),
    );
    return pem ? new x509.X509Certificate(pem[0]).serialNumber : undefined;
  };
  /** What an operator (or cert-manager) does: new files where init put the stream certificate. */
  const replaceStreamCertificate = async () => {
    const stream = await issueCertificate({
      ca: cp.pki.ca,
      commonName: "kedge-stream",
      usages: ["server"],
      ipAddresses: ["127.0.0.1"],
    });
    await Deno.writeTextFile(join(streamDir, "stream.key"), await privateKeyToPem(stream.keys!.privateKey), {
      mode: 0o600,
    });
    await Deno.writeTextFile(join(streamDir, "stream.crt"), certificateToPem(stream.cert));
    return stream.cert.serialNumber;
  };
  const startCloud = async (name: string) => {
    // cloudcore runs as the ServiceAccount init made, so every right it needs must be in init's ClusterRole.
    const token = (await core.createNamespacedServiceAccountToken({
      namespace: "kubeedge",
      name: "cloudcore",
      body: { spec: { expirationSeconds: 3600 } },
    })).status!.token;
    const saKubeconfig = join(run.path, "cloudcore-sa.kubeconfig");
    await Deno.writeTextFile(
      saKubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "c",
          cluster: { server: cp.server, "certificate-authority-data": btoa(cp.caPem) },
        }],
        users: [{ name: "cloudcore", user: { token } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "cloudcore" } }],
        "current-context": "x",
      }),
    );
    const config = parse(await Deno.readTextFile(configFile));
    config.kubeAPIConfig.kubeConfig = saKubeconfig;
    config.modules.cloudHub.serverCertCheckInterval = 1;
    const started = await startCore(run, "cloudcore", config, { name });
    await started.waitForLog("cloudcore ready", 60_000);
    return started;
  };
  try {
    await t.step(
      "cloudcore init creates namespace, CRDs, RBAC, secrets and config, and prints the join command",
      async () => {
        const out = ok(await init(), "cloudcore init");
        for (
          const ref of [
            "namespace/kubeedge created",
            "customresourcedefinition/devices.devices.kubeedge.io created",
            "customresourcedefinition/devicemodels.devices.kubeedge.io created",
            "customresourcedefinition/rules.rules.kubeedge.io created",
            "customresourcedefinition/ruleendpoints.rules.kubeedge.io created",
            "serviceaccount/cloudcore created",
            "clusterrole/cloudcore created",
            "clusterrolebinding/cloudcore created",
            `config ${configFile} written`,
          ]
        ) {
          assert.ok(out.stdout.includes(`${ref}\n`), `init lacks "${ref}":\n${out.stdout}`);
        }
        // Logs are JSON lines by default.
        assert.ok(
          out.stderr.split("\n").some((l) => l.startsWith("{") && l.includes('"ca created"')),
          out.stderr,
        );
        joinLine = out.stdout.trimEnd().split("\n").at(-1)!;
        assert.match(
          joinLine,
          new RegExp(
            `^edgecore join --cloudcore-ipport 127\\.0\\.0\\.1:${ports.websocket} --certport ${ports.https} ` +
              `--tunnel-port ${tunnelPort} --token [0-9a-f]{64}\\.\\S+ --node-name <NODE>$`,
          ),
        );
        const written = parse(await Deno.readTextFile(configFile));
        assert.equal(written.kubeAPIConfig.kubeConfig, cp.kubeconfigPath);
        assert.deepEqual(written.modules.cloudHub.advertiseAddress, ["127.0.0.1"]);
        assert.deepEqual(written.modules.cloudHub.dnsNames, ["cloudcore.test"]);
        assert.equal(written.modules.cloudHub.websocket.port, ports.websocket);
        // kubectl logs/exec set up: a stream certificate the cluster signed, its kubelet-client CA, cloudStream on.
        assert.match(
          out.stdout,
          new RegExp(
            `\nkubectl logs/exec: stream certificate ${streamDir}/stream\\.crt \\(signed by the cluster, csr ` +
              "kedge-cloudcore-stream-\\w+\\) for 127\\.0\\.0\\.1; kubelet-client CA from configmap " +
              "kube-system/kube-root-ca\\.crt\\n",
          ),
        );
        assert.deepEqual(written.modules.cloudStream, {
          ...written.modules.cloudStream,
          enable: true,
          tunnelPort,
          tlsStreamCertFile: join(streamDir, "stream.crt"),
          tlsStreamPrivateKeyFile: join(streamDir, "stream.key"),
          tlsStreamCAFile: join(streamDir, "kubelet-client-ca.crt"),
        });
        assert.equal(await Deno.readTextFile(join(streamDir, "kubelet-client-ca.crt")), cp.caPem);
        const served = new x509.X509Certificate(await Deno.readTextFile(join(streamDir, "stream.crt")));
        assert.equal(served.issuer, new x509.X509Certificate(cp.caPem).subject, "signed by the cluster CA");
        const role = await rbac.readClusterRole({ name: "cloudcore" });
        const resources = role.rules!.flatMap((r) => r.resources ?? []);
        for (
          const r of [
            "nodes",
            "nodes/status",
            "pods/status",
            "services",
            "leases",
            "tokenreviews",
            "devices/status",
          ]
        ) {
          assert.ok(resources.includes(r), `ClusterRole lacks ${r}`);
        }
      },
    );

    await t.step(
      "a second init changes nothing, honours --log-level and prints a join command with a fresh token",
      async () => {
        const before = await secretVersions();
        const roleBefore = (await rbac.readClusterRole({ name: "cloudcore" })).metadata!.resourceVersion;
        const configBefore = await Deno.readTextFile(configFile);
        // A token's expiry is in whole seconds: a run in the same second would mint the same token.
        await new Promise((r) => setTimeout(r, 1100));
        const out = ok(await init(["--log-level=warn"]), "second cloudcore init");
        assert.equal(out.stderr, "", "nothing at info level is logged with --log-level warn");
        assert.doesNotMatch(out.stdout, / (created|configured)\n/);
        assert.match(out.stdout, /clusterrole\/cloudcore unchanged\n/);
        assert.match(out.stdout, / unchanged\n/);
        assert.deepEqual(await secretVersions(), before);
        assert.equal(
          (await rbac.readClusterRole({ name: "cloudcore" })).metadata!.resourceVersion,
          roleBefore,
        );
        assert.equal(await Deno.readTextFile(configFile), configBefore);
        const again = out.stdout.trimEnd().split("\n").at(-1)!;
        assert.match(again, /^edgecore join /);
        assert.notEqual(again, joinLine, "each run mints a new token");
      },
    );

    await t.step(
      "cloudcore runs as init's ServiceAccount, and the printed join with --install --root connects",
      async () => {
        cloud = await startCloud("cloudcore");
        stops.push(() => cloud!.stop());
        const args = joinLine.split(" ").slice(1).map((a) => a === "<NODE>" ? "ship-edge" : a);
        const out = ok(
          await command("edgecore", [
            ...args,
            "--install",
            `--root=${root}`,
            "--log-level=debug",
            "--log-format=text",
          ]),
          "edgecore join",
        );
        assert.match(out.stdout, /\[5\/5\] wrote /);
        assert.match(out.stdout, /systemd is not running for .*: the unit was written, not enabled/);
        assert.match(
          out.stderr,
          /DEBUG \[edgecore\] join paths /,
          "--log-level debug --log-format text apply",
        );
        const rootConfig = join(root, "etc/kubeedge/config/edgecore.yaml");
        const config = parse(await Deno.readTextFile(rootConfig));
        // Free ports, never the defaults (10350, 10550, 1883, 1884): an edgecore may run on this machine.
        // Written back under the root too, so that `edgecore status` and `reset` ask this edgecore only.
        config.modules.eventBus = { mqttMode: 0, mqttServerInternal: `tcp://127.0.0.1:${freePort()}` };
        // The join line's --tunnel-port turned the stream tunnel on (kubectl logs/exec with no other step).
        assert.deepEqual(
          [config.modules.edgeStream.enable, config.modules.edgeStream.tunnelServer],
          [true, `127.0.0.1:${tunnelPort}`],
        );
        config.modules.edgeStream.server = `127.0.0.1:${freePort()}`;
        config.modules.metaManager = { metaServer: { enable: true, server: `127.0.0.1:${freePort()}` } };
        config.modules.deviceTwin = { ...config.modules.deviceTwin, dmiSockPath: join(root, "etc/kubeedge") };
        await Deno.writeTextFile(rootConfig, stringify(config));
        config.modules.edged = {
          ...config.modules.edged,
          staticPodPath: "",
          containerRuntimeEndpoint: `unix://${join(run.path, "no-containerd.sock")}`,
        };
        edge = await startCore(run, "edgecore", config, { name: "ship-edge" });
        stops.push(() => edge!.stop());
        await edge.waitForLog("connected to cloudcore", 30_000);
      },
    );

    await t.step(
      "with nothing but init and join, kubectl exec reaches edgecore through the apiserver, cloudcore and the tunnel",
      async () => {
        // apiserver -> the node's stream port on cloudcore (verified against the cluster CA, as the test
        // apiserver runs with --kubelet-certificate-authority) -> the edge's tunnel -> its kubelet-style server.
        // A pod bound to the node: kubectl exec makes the apiserver call the node's kubelet (its proxy refuses
        // loopback addresses, exec does not). With no containerd here the edge answers that it cannot list
        // containers, and that answer, written by edgecore, is the proof the path works.
        const kubectl = kubectlFor(cp.kubeconfigPath);
        await kubectl(
          ["apply", "-f", "-"],
          JSON.stringify({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "path-check", namespace: "default" },
            spec: { nodeName: "ship-edge", containers: [{ name: "c", image: "busybox" }] },
          }),
        );
        let last = "";
        await waitFor(
          "kubectl exec answered by edgecore",
          async () => {
            const got = await runKubectl([
              `--kubeconfig=${cp.kubeconfigPath}`,
              "exec",
              "path-check",
              "--",
              "true",
            ]);
            last = `${got.code} ${got.stdout.trim()} ${got.stderr.trim()}`;
            // edgecore's CRI client, naming the socket only this edgecore was given.
            return /Cannot ListContainers: .*no-containerd\.sock/.test(got.stderr);
          },
          30_000,
        ).catch((error) => {
          throw new Error(`${error.message}; last answer: ${last}`);
        });
        console.log(`kubectl exec through init's stream setup: ${last}`);
      },
    );

    await t.step(
      "init's ClusterRole lets cloudcore mint edge pods' tokens and authorize kubelet calls",
      async () => {
        const kubectl = kubectlFor(cp.kubeconfigPath);
        const asCloudcore = "--as=system:serviceaccount:kubeedge:cloudcore";
        for (
          const [verb, resource, subresource, ns] of [
            ["create", "serviceaccounts", "token", "default"],
            ["create", "subjectaccessreviews.authorization.k8s.io", "", ""],
            ["patch", "pods", "status", "default"],
          ] as const
        ) {
          const answer = await kubectl([
            "auth",
            "can-i",
            verb,
            resource,
            asCloudcore,
            ...(subresource ? [`--subresource=${subresource}`] : []),
            ...(ns ? ["-n", ns] : []),
          ]).catch((e: Error) => e.message);
          assert.equal(answer.trim(), "yes", `cloudcore may ${verb} ${resource} ${subresource}`);
        }
      },
    );

    await t.step(
      "join --install --root wrote config, certificates (key 0600) and the unit under the root",
      async () => {
        const files = await filesUnder(root);
        for (
          const file of [
            "etc/kubeedge/config/edgecore.yaml",
            "etc/kubeedge/ca/rootCA.crt",
            "etc/kubeedge/certs/server.crt",
            "etc/kubeedge/certs/server.key",
            "etc/systemd/system/edgecore.service",
          ]
        ) {
          assert.ok(files.includes(file), `${file} missing under the root: ${files.join(", ")}`);
        }
        assert.equal((await Deno.stat(join(root, "etc/kubeedge/certs/server.key"))).mode! & 0o777, 0o600);
        assert.equal(
          await Deno.readTextFile(join(root, "etc/systemd/system/edgecore.service")),
          EDGECORE_UNIT,
        );
        const config = parse(await Deno.readTextFile(join(root, "etc/kubeedge/config/edgecore.yaml")));
        assert.equal(config.database.dataSource, join(root, "var/lib/kubeedge/edgecore.db"));
        assert.equal(config.modules.edgeHub.tlsPrivateKeyFile, join(root, "etc/kubeedge/certs/server.key"));
        assert.equal(config.modules.edged.hostnameOverride, "ship-edge");
        assert.equal(config.modules.edged.rootDirectory, join(root, "var/lib/edged"));
      },
    );

    await t.step("cloudcore manifest passes kubectl apply --dry-run=server", async () => {
      const manifest = ok(
        await command("cloudcore", [
          "manifest",
          "--image=registry.test/cloudcore:1",
          "--advertise-address=10.0.0.9",
        ]),
        "cloudcore manifest",
      );
      for (
        const kind of [
          "Namespace",
          "ServiceAccount",
          "ClusterRole",
          "ClusterRoleBinding",
          "ConfigMap",
          "Deployment",
          "Service",
        ]
      ) {
        assert.match(manifest.stdout, new RegExp(`^kind: ${kind}$`, "m"));
      }
      const { kubectl } = await controlPlaneBinaries();
      const child = new Deno.Command(kubectl, {
        args: [`--kubeconfig=${cp.kubeconfigPath}`, "apply", "--dry-run=server", "-f", "-"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(manifest.stdout));
      await writer.close();
      const out = await child.output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(stdout, /deployment\.apps\/cloudcore (created|configured) \(server dry run\)/);
      assert.match(stdout, /service\/cloudcore (created|configured) \(server dry run\)/);
      const config = parse(
        manifest.stdout.split("\n---\n").map((d) => parse(d)).find((o) => o?.kind === "ConfigMap")
          .data["cloudcore.yaml"],
      );
      assert.equal(config.kubeAPIConfig.kubeConfig, "");
      assert.deepEqual(config.modules.cloudHub.advertiseAddress, ["10.0.0.9"]);
    });

    let serialBefore = "";
    await t.step(
      "cloudcore certs check-expiration lists the CA and the server certificate with their expiry",
      async () => {
        const out = ok(
          await command("cloudcore", ["certs", "check-expiration", `--config=${configFile}`]),
          "check-expiration",
        );
        const lines = out.stdout.trimEnd().split("\n");
        assert.match(lines[0]!, /^CERTIFICATE +EXPIRES +RESIDUAL TIME +CERTIFICATE AUTHORITY +SECRET$/);
        assert.match(
          out.stdout,
          /\nca +[A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC +9\dy + kubeedge\/casecret\n/,
        );
        assert.match(
          out.stdout,
          /\ncloudcore +[A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC +\d+y +ca +kubeedge\/cloudcoresecret\n/,
        );
        assert.match(out.stdout, /\njoin-token +.* UTC +2[34]h +ca +kubeedge\/tokensecret\n/);
        serialBefore = await serverSerial();
      },
    );

    await t.step(
      "certs renew replaces the server certificate, keeps the CA; the edge reconnects after a restart",
      async () => {
        // Every TLS port cloudcore serves, the replica forward listener and the node's stream port included.
        const peerBefore = await servedSerial(peerPort);
        assert.ok(peerBefore, "the forward listener serves a certificate");
        await waitFor(
          "the node's stream port",
          async () => (await servedSerial(nodePort)) !== undefined,
          20_000,
        );
        const caBefore = (await core.readNamespacedSecret({ name: "casecret", namespace: "kubeedge" })).data;
        const out = ok(
          await command("cloudcore", ["certs", "renew", `--config=${configFile}`, "--log-level=error"]),
          "certs renew",
        );
        assert.equal(out.stderr, "");
        const serialAfter = await serverSerial();
        assert.notEqual(serialAfter, serialBefore);
        assert.match(out.stdout, new RegExp(`serial ${serialBefore} -> ${serialAfter}`));
        assert.deepEqual(
          (await core.readNamespacedSecret({ name: "casecret", namespace: "kubeedge" })).data,
          caBefore,
        );
        // The running cloudcore picks the renewed certificate up from the Secret, without a restart, on
        // every port it serves with it: certificates (10002), the hub (10000) and the stream tunnel (10004).
        for (
          const [what, port] of [["https", ports.https], ["hub", ports.websocket], [
            "tunnel",
            tunnelPort,
          ]] as const
        ) {
          await waitFor(
            `the renewed certificate served on the ${what} port`,
            async () => (await servedSerial(port)) === serialAfter,
            15_000,
          );
        }
        await waitFor(
          "a new forward certificate between replicas",
          async () => ![undefined, peerBefore].includes(await servedSerial(peerPort)),
          15_000,
        );
        // The stream ports' certificate is the operator's files: replaced on disk, served without a restart.
        const streamSerial = await replaceStreamCertificate();
        await waitFor(
          "the replaced stream certificate served on the node's stream port",
          async () => (await servedSerial(nodePort)) === streamSerial,
          15_000,
        );
        const before = connectedCount(await Deno.readTextFile(edge!.logFile));
        await cloud!.stop();
        cloud = await startCloud("cloudcore-renewed");
        await waitFor(
          "reconnect",
          async () => connectedCount(await Deno.readTextFile(edge!.logFile)) > before,
          20_000,
        );
        assert.equal(await servedSerial(), serialAfter, "the restarted cloudcore serves the new certificate");
      },
    );

    await t.step(
      "edgecore status exits 1 when edgecore is not running and shows the node and certificate expiry",
      async () => {
        await edge!.stop();
        const out = await command("edgecore", ["status", `--root=${root}`]);
        assert.equal(out.code, 1, out.stderr);
        assert.match(out.stdout, /^connection +not running \(/m);
        assert.match(out.stdout, /^node +ship-edge$/m);
        assert.match(out.stdout, new RegExp(`^cloud +127\\.0\\.0\\.1:${ports.websocket} `, "m"));
        assert.match(
          out.stdout,
          /^certificate +O=system:nodes, CN=system:node:ship-edge, expires \d{4}-\d\d-\d\dT.* \(\d+ days left\)$/m,
        );
        assert.match(out.stdout, /^pods +\d+ held$/m);
        assert.match(out.stdout, /^devices +0 held$/m);
        assert.match(out.stdout, /^store +\S+edgecore\.db \d/m);
      },
    );

    await t.step(
      "edgecore reset --root removes edgecore's files and nothing else under the root",
      async () => {
        await Deno.mkdir(join(root, "var/lib/containerd"), { recursive: true });
        await Deno.writeTextFile(join(root, "var/lib/containerd/keep"), "another tool's state");
        await Deno.writeTextFile(join(root, "etc/kubeedge/keep.yaml"), "not edgecore's");
        const before = await filesUnder(root);
        const out = ok(await command("edgecore", ["reset", `--root=${root}`]), "edgecore reset");
        const removed = [...out.stdout.matchAll(/^removed (.+)$/gm)].map((m) => relative(root, m[1]!)).sort();
        const expected = [
          "etc/kubeedge/ca/rootCA.crt",
          "etc/kubeedge/certs/server.crt",
          "etc/kubeedge/certs/server.key",
          "etc/kubeedge/config/edgecore.yaml",
          "etc/systemd/system/edgecore.service",
          "var/lib/kubeedge/edgecore.db",
        ];
        for (const file of expected) {
          assert.ok(removed.includes(file), `reset did not remove ${file}: ${removed}`);
        }
        assert.ok(
          removed.every((f) => expected.includes(f) || /edgecore\.db-(wal|shm)$/.test(f)),
          `${removed}`,
        );
        assert.deepEqual(
          await filesUnder(root),
          before.filter((f) => !removed.includes(f)),
        );
        const again = ok(await command("edgecore", ["reset", `--root=${root}`]), "second reset");
        assert.equal(again.stdout, "nothing to remove\n");
      },
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await run.remove();
  }
});
