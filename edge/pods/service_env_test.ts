import assert from "node:assert/strict";
import { resolveEnv } from "./env.ts";
import type { PodContext } from "./field_ref.ts";
import { NO_OBJECTS } from "./objects.ts";
import { parsePod } from "./pod_schema.ts";
import { serviceEnvVars, type ServiceInfo, serviceInfoOf } from "./service_env.ts";

const master: ServiceInfo = {
  namespace: "default",
  name: "kubernetes",
  clusterIP: "10.0.0.1",
  ports: [{ name: "https", port: 443, protocol: "TCP" }],
};
const web: ServiceInfo = {
  namespace: "app",
  name: "fooservice-1",
  clusterIP: "10.0.0.20",
  ports: [{ port: 8765 }, { name: "metrics-http", port: 9090, protocol: "UDP" }],
};

Deno.test("service variables are the kubelet's FromServices: host, ports, named ports, docker links", () => {
  assert.deepEqual(Object.fromEntries(serviceEnvVars([master, web], "app", true)), {
    KUBERNETES_SERVICE_HOST: "10.0.0.1",
    KUBERNETES_SERVICE_PORT: "443",
    KUBERNETES_SERVICE_PORT_HTTPS: "443",
    KUBERNETES_PORT: "tcp://10.0.0.1:443",
    KUBERNETES_PORT_443_TCP: "tcp://10.0.0.1:443",
    KUBERNETES_PORT_443_TCP_PROTO: "tcp",
    KUBERNETES_PORT_443_TCP_PORT: "443",
    KUBERNETES_PORT_443_TCP_ADDR: "10.0.0.1",
    FOOSERVICE_1_SERVICE_HOST: "10.0.0.20",
    FOOSERVICE_1_SERVICE_PORT: "8765",
    FOOSERVICE_1_SERVICE_PORT_METRICS_HTTP: "9090",
    FOOSERVICE_1_PORT: "tcp://10.0.0.20:8765",
    FOOSERVICE_1_PORT_8765_TCP: "tcp://10.0.0.20:8765",
    FOOSERVICE_1_PORT_8765_TCP_PROTO: "tcp",
    FOOSERVICE_1_PORT_8765_TCP_PORT: "8765",
    FOOSERVICE_1_PORT_8765_TCP_ADDR: "10.0.0.20",
    FOOSERVICE_1_PORT_9090_UDP: "udp://10.0.0.20:9090",
    FOOSERVICE_1_PORT_9090_UDP_PROTO: "udp",
    FOOSERVICE_1_PORT_9090_UDP_PORT: "9090",
    FOOSERVICE_1_PORT_9090_UDP_ADDR: "10.0.0.20",
  });
});

Deno.test("enableServiceLinks false leaves only the master service; other namespaces never count", () => {
  const other: ServiceInfo = { ...web, namespace: "elsewhere", name: "other" };
  const keys = [...serviceEnvVars([master, web, other], "app", false).keys()];
  assert.ok(keys.length > 0 && keys.every((k) => k.startsWith("KUBERNETES_")), keys.join(","));
  assert.ok(
    ![...serviceEnvVars([master, web, other], "app", true).keys()].some((k) => k.startsWith("OTHER_")),
  );
});

Deno.test("services without a cluster IP (headless, ExternalName) give no variables", () => {
  const headless: ServiceInfo = { ...web, name: "headless", clusterIP: "None" };
  const external: ServiceInfo = { ...web, name: "external", clusterIP: "" };
  assert.equal(serviceEnvVars([headless, external], "app", true).size, 0);
});

Deno.test("a pod namespace's service named kubernetes wins over the master one", () => {
  const own: ServiceInfo = {
    namespace: "app",
    name: "kubernetes",
    clusterIP: "10.0.0.99",
    ports: [{ port: 80 }],
  };
  for (const order of [[master, own], [own, master]]) {
    const vars = serviceEnvVars(order, "app", true);
    assert.equal(vars.get("KUBERNETES_SERVICE_HOST"), "10.0.0.99");
    assert.equal(vars.get("KUBERNETES_PORT_443_TCP"), undefined);
  }
});

Deno.test("an IPv6 cluster IP is bracketed in the link URLs, as Go's JoinHostPort does", () => {
  const v6: ServiceInfo = { namespace: "app", name: "v6", clusterIP: "fd00::10", ports: [{ port: 80 }] };
  assert.equal(serviceEnvVars([v6], "app", true).get("V6_PORT"), "tcp://[fd00::10]:80");
});

Deno.test("serviceInfoOf reads what the variables need from a Service object", () => {
  assert.deepEqual(
    serviceInfoOf({
      metadata: { name: "s", namespace: "n", uid: "u" },
      spec: { clusterIP: "10.1.2.3", ports: [{ name: "", port: 80, protocol: "TCP", targetPort: 8080 }] },
    }),
    { namespace: "n", name: "s", clusterIP: "10.1.2.3", ports: [{ port: 80, protocol: "TCP" }] },
  );
  assert.equal(serviceInfoOf({ metadata: { name: "s" } }), undefined);
});

Deno.test("the container's own env wins over service variables, and $(VAR) sees them", async () => {
  const pod = parsePod({
    metadata: { name: "p", namespace: "app", uid: "u1" },
    spec: {
      containers: [{
        name: "c",
        image: "busybox",
        env: [
          { name: "FOOSERVICE_1_SERVICE_HOST", value: "mine" },
          { name: "URL", value: "http://$(KUBERNETES_SERVICE_HOST):$(FOOSERVICE_1_SERVICE_PORT)" },
          { name: "SEEN", value: "$(FOOSERVICE_1_SERVICE_HOST)" },
        ],
      }],
    },
  });
  const ctx: PodContext = { pod, uid: "u1", namespace: "app", nodeName: "n", hostIP: "", podIP: "" };
  const container = pod.spec.containers[0]!;
  const env = await resolveEnv(ctx, container, NO_OBJECTS, serviceEnvVars([master, web], "app", true));
  const byName = new Map(env.map((e) => [e.key, e.value]));
  assert.equal(env.length, byName.size, "each name once");
  assert.equal(byName.get("FOOSERVICE_1_SERVICE_HOST"), "mine");
  assert.equal(byName.get("URL"), "http://10.0.0.1:8765");
  assert.equal(byName.get("SEEN"), "mine");
  assert.equal(byName.get("KUBERNETES_SERVICE_PORT"), "443");
});
