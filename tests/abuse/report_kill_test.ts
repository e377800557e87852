/**
 * No loss window for device reports: an edge streams twin reports (a counter, every 20 ms) for its device to
 * a real cloudcore, which is killed with SIGKILL at random moments of the stream. cloudcore acknowledges a
 * report only once the Device.status write holding it succeeded (cloud/devices/status_writer.ts), so at the
 * moment of every kill the apiserver must already hold the highest acknowledged value.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { connectRawEdge, type RawEdge } from "../../cloud/hub/test_util.ts";
import { writeSimEdgeCredentials } from "../../bench/edge_sim_certs.ts";
import { registerNode, twinReport } from "../../bench/edge_sim_messages.ts";
import { replyOutcome } from "../../lib/protocol/mod.ts";
import { createRunDir, startControlPlane } from "../cluster/mod.ts";
import { type Cloud, startCloud } from "../harness/kedge.ts";

const NODE = "reporter";
const KILLS = 6;
const REPORT_EVERY_MS = 20;

Deno.test(`a stream of device reports, cloudcore SIGKILLed ${KILLS} times at random moments: every acknowledged report is in Device.status when it dies`, async () => {
  const run = await createRunDir("abuse-report-kill");
  await using cp = await startControlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  let cloud: Cloud = await startCloud(run, cp);
  let edge: RawEdge | undefined;
  let streaming = false;
  try {
    const casecret = await core.readNamespacedSecret({ name: "casecret", namespace: "kubeedge" });
    await writeSimEdgeCredentials(casecret.data!, [NODE], run.path);
    const caPem = await Deno.readTextFile(join(run.path, "ca.pem"));
    const [creds] = JSON.parse(await Deno.readTextFile(join(run.path, "edges.json")));
    const group = { group: "devices.kubeedge.io", version: "v1beta1", namespace: "default" };
    await custom.createNamespacedCustomObject({
      ...group,
      plural: "devicemodels",
      body: {
        apiVersion: "devices.kubeedge.io/v1beta1",
        kind: "DeviceModel",
        metadata: { name: "counter" },
        spec: { properties: [{ name: "count", type: "INT", accessMode: "ReadOnly" }] },
      },
    });
    await custom.createNamespacedCustomObject({
      ...group,
      plural: "devices",
      body: {
        apiVersion: "devices.kubeedge.io/v1beta1",
        kind: "Device",
        metadata: { name: "meter" },
        spec: { deviceModelRef: { name: "counter" }, nodeName: NODE, properties: [{ name: "count" }] },
      },
    });
    const stored = async (): Promise<number> => {
      const device = await custom.getNamespacedCustomObject({
        ...group,
        plural: "devices",
        name: "meter",
      }) as {
        status?: { twins?: Array<{ propertyName: string; reported?: { value: string } }> };
      };
      return Number(device.status?.twins?.find((t) => t.propertyName === "count")?.reported?.value ?? 0);
    };

    let next = 1;
    let highestAcked = 0;
    const connect = async () => {
      await edge?.close();
      for (let i = 0;; i++) {
        try {
          edge = await connectRawEdge({
            port: cloud.ports.websocket,
            credentials: { caPem, ...creds },
            nodeId: NODE,
          });
          break;
        } catch (error) {
          if (i > 100) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      edge.send(registerNode(NODE));
    };
    // Reports go out every REPORT_EVERY_MS without waiting for answers, as a burst from a busy device does:
    // the status writer coalesces them, and each is answered once the write holding it succeeded. After a
    // kill the edge reconnects and goes on with newer values (the edge's uplink keeps only the latest).
    const stream = async () => {
      const sent = new Map<string, number>();
      let seen = 0;
      while (streaming) {
        if (edge!.ws.readyState === edge!.ws.OPEN) {
          const value = next++;
          const report = twinReport("default/meter", "count", String(value));
          sent.set(report.header.msg_id, value);
          edge!.send(report);
        } else {
          sent.clear();
          seen = 0;
          await connect();
          continue;
        }
        for (; seen < edge!.received.length; seen++) {
          const reply = edge!.received[seen]!;
          const value = sent.get(reply.header.parent_msg_id ?? "");
          if (value !== undefined && replyOutcome(reply).ok) highestAcked = Math.max(highestAcked, value);
        }
        await new Promise((r) => setTimeout(r, REPORT_EVERY_MS));
      }
    };
    await connect();
    // The device has reached the node (its membership is sent on connect once the controller knows it).
    await edge!.next((m) => m.route.resource.includes("membership"), 15_000);
    streaming = true;
    const streamer = stream();
    const found: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      // Somewhere in the stream: after at least one acknowledged report since the restart.
      const ackedBefore = highestAcked;
      const deadline = Date.now() + 20_000;
      while (highestAcked === ackedBefore && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(highestAcked > ackedBefore, `kill ${kill}: reports acknowledged after the restart`);
      await new Promise((r) => setTimeout(r, Math.random() * 1_500));
      Deno.kill(cloud.pid, "SIGKILL");
      await cloud.status;
      // Every answer it sent before dying has been read by now: each one acknowledged a written report.
      await new Promise((r) => setTimeout(r, 100));
      const acked = highestAcked;
      const inStatus = await stored();
      found.push(`acked ${acked}, stored ${inStatus}`);
      assert.ok(
        inStatus >= acked,
        `kill ${kill}: ${acked} was acknowledged but Device.status holds ${inStatus}`,
      );
      cloud = await startCloud(run, cp, { name: `cloudcore-${kill + 1}`, ports: cloud.ports });
    }
    streaming = false;
    await streamer;
    console.log(`report stream: ${next - 1} reports sent; at each kill: ${found.join("; ")}`);
  } finally {
    streaming = false;
    await edge?.close();
    await cloud.stop();
    await run.remove();
  }
});
