import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { parseReferenceKey, podReferences, referenceKey } from "./pod_references.ts";

Deno.test("podReferences finds ConfigMaps and Secrets in volumes, projections, env, envFrom and pull secrets", () => {
  const pod: V1Pod = {
    metadata: { namespace: "ns", name: "p" },
    spec: {
      volumes: [
        { name: "a", configMap: { name: "cm-vol" } },
        { name: "b", secret: { secretName: "s-vol" } },
        {
          name: "c",
          projected: { sources: [{ configMap: { name: "cm-proj" } }, { secret: { name: "s-proj" } }] },
        },
        { name: "d", emptyDir: {} },
      ],
      initContainers: [{ name: "i", envFrom: [{ configMapRef: { name: "cm-init" } }] }],
      containers: [{
        name: "c",
        env: [
          { name: "X", valueFrom: { configMapKeyRef: { name: "cm-env", key: "k" } } },
          { name: "Y", valueFrom: { secretKeyRef: { name: "s-env", key: "k" } } },
          { name: "Z", value: "plain" },
        ],
        envFrom: [{ secretRef: { name: "s-from" } }],
      }],
      ephemeralContainers: [{ name: "e", envFrom: [{ configMapRef: { name: "cm-eph" } }] }],
      imagePullSecrets: [{ name: "s-pull" }],
    },
  };
  assert.deepEqual([...podReferences(pod)].sort(), [
    "configmap/ns/cm-env",
    "configmap/ns/cm-eph",
    "configmap/ns/cm-init",
    "configmap/ns/cm-proj",
    "configmap/ns/cm-vol",
    "secret/ns/s-env",
    "secret/ns/s-from",
    "secret/ns/s-proj",
    "secret/ns/s-pull",
    "secret/ns/s-vol",
  ]);
});

Deno.test("a pod without references has none, and reference keys round-trip", () => {
  assert.equal(
    podReferences({ metadata: { namespace: "ns", name: "p" }, spec: { containers: [{ name: "c" }] } }).size,
    0,
  );
  assert.deepEqual(parseReferenceKey(referenceKey("secret", "ns", "a.b")), {
    type: "secret",
    namespace: "ns",
    name: "a.b",
  });
});
