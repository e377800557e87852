import assert from "node:assert/strict";
import { registrationLabels } from "./node_labels.ts";

Deno.test("registration keeps the labels a kubelet may set, refuses the cluster's, and adds the edge roles", () => {
  const { labels, refused } = registrationLabels({
    "site": "north",
    "example.com/rack": "7",
    "kubernetes.io/hostname": "box",
    "topology.kubernetes.io/zone": "z1",
    "node.kubernetes.io/exclude-from-external-load-balancers": "",
    "node-role.kubernetes.io/control-plane": "",
    "node-restriction.kubernetes.io/secure": "true",
    "foo.k8s.io/x": "y",
  });
  assert.deepEqual(labels, {
    "site": "north",
    "example.com/rack": "7",
    "kubernetes.io/hostname": "box",
    "topology.kubernetes.io/zone": "z1",
    "node.kubernetes.io/exclude-from-external-load-balancers": "",
    "node-role.kubernetes.io/edge": "",
    "node-role.kubernetes.io/agent": "",
  });
  assert.deepEqual(refused.sort(), [
    "foo.k8s.io/x",
    "node-restriction.kubernetes.io/secure",
    "node-role.kubernetes.io/control-plane",
  ]);
});
