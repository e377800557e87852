import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { type Message, responseTo } from "../../lib/protocol/mod.ts";
import type { Uplink, UpstreamSender } from "../meta/upstream.ts";
import type { NodeFacts } from "./node_info.ts";
import { NodeAgent } from "./node_agent.ts";

const quiet = createLogger({ level: "error", write: () => {} });

function agent(facts: () => NodeFacts, reportEveryMs: number) {
  const sent: Message[] = [];
  const upstream = {
    send: (_key: string, message: Message) => sent.push(message),
  } as unknown as UpstreamSender;
  const uplink: Uplink = { connected: false, request: () => Promise.reject(new Error("offline")) };
  const node = new NodeAgent({
    nodeName: "edge-1",
    labels: {},
    facts,
    kubeletPort: 10350,
    reportEndpoints: true,
    statusEveryMs: 10_000,
    reportEveryMs,
    leaseDurationSeconds: 40,
    uplink,
    upstream,
    log: quiet,
    signal: new AbortController().signal,
  });
  const statuses = () =>
    sent.map((m) => JSON.parse(m.content as string).status as { capacity: Record<string, string> });
  return { node, sent, statuses };
}

const facts = (memory: string): NodeFacts =>
  ({
    capacity: { cpu: "2", memory, pods: "110" },
    addresses: [{ type: "InternalIP", address: "192.0.2.2" }],
    nodeInfo: { kubeletVersion: "v1.34.4" },
  }) as unknown as NodeFacts;

Deno.test("node status: an unchanged status is not re-sent until the report frequency passes; a change goes at once", async () => {
  let memory = "1000Ki";
  const { node, sent, statuses } = agent(() => facts(memory), 1500);
  node.patchStatus(false);
  assert.equal(sent.length, 1, "the first status goes");
  await new Promise((r) => setTimeout(r, 1100)); // a new heartbeat second
  node.patchStatus(false);
  assert.equal(sent.length, 1, "only the heartbeat moved: nothing sent");
  memory = "2000Ki";
  node.patchStatus(false);
  assert.equal(sent.length, 2);
  assert.equal(statuses()[1]?.capacity.memory, "2000Ki");
  node.patchStatus(true);
  assert.equal(sent.length, 3, "a reconnect always sends");
  await new Promise((r) => setTimeout(r, 1600));
  node.patchStatus(false);
  assert.equal(sent.length, 4, "the report frequency passed");
  const ready = sent.map((m) =>
    JSON.parse(m.content as string).status.conditions[0] as {
      lastTransitionTime: string;
      lastHeartbeatTime: string;
    }
  );
  assert.equal(new Set(ready.map((c) => c.lastTransitionTime)).size, 1, "Ready's transition time stays");
  assert.notEqual(ready[0]?.lastHeartbeatTime, ready[3]?.lastHeartbeatTime);
  node.stop();
});

Deno.test("the Node registers with the kubelet's own labels (hostname, os, arch), the configured ones and the edge roles", async () => {
  const asked: Message[] = [];
  const uplink: Uplink = {
    connected: true,
    request: (message) => {
      asked.push(message);
      return Promise.resolve(responseTo(message, { Object: message.content, Err: null }));
    },
  };
  const node = new NodeAgent({
    nodeName: "edge-1",
    labels: { zone: "shop-12" },
    facts: () => facts("1000Ki"),
    kubeletPort: 10350,
    reportEndpoints: true,
    statusEveryMs: 10_000,
    reportEveryMs: 300_000,
    leaseDurationSeconds: 40,
    uplink,
    upstream: { send: () => {} } as unknown as UpstreamSender,
    log: quiet,
    signal: new AbortController().signal,
  });
  await node.register();
  const labels = (asked[0]?.content as { metadata: { labels: Record<string, string> } }).metadata.labels;
  assert.equal(labels["kubernetes.io/hostname"], "edge-1");
  assert.equal(labels["kubernetes.io/os"], "linux");
  assert.equal(labels["kubernetes.io/arch"], Deno.build.arch === "x86_64" ? "amd64" : "arm64");
  assert.equal(labels["beta.kubernetes.io/arch"], labels["kubernetes.io/arch"]);
  assert.equal(labels.zone, "shop-12");
  assert.equal(labels["node-role.kubernetes.io/edge"], "");
  node.stop();
});
