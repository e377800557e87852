/**
 * installCrds: creates or updates CustomResourceDefinitions given as YAML text and waits until the apiserver
 * reports each Established, so informers started next can list them. Several replicas may run it at once.
 */
import {
  ApiextensionsV1Api,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import { isConflict } from "./api_errors.ts";

export interface InstallCrdOptions {
  readonly log?: Logger;
  /** How long to wait for Established. Default 60 s. */
  readonly timeoutMs?: number;
}

const MAX_CONFLICT_RETRIES = 5;

export async function installCrds(
  kc: KubeConfig,
  yamls: readonly string[],
  options: InstallCrdOptions = {},
): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  // Read into client-node's typed model: its serializer writes only the model's fields, so a plain parsed
  // object would lose `x-kubernetes-preserve-unknown-fields` (and with it every Device's configData).
  const wanted = yamls.map((text) => loadYaml<V1CustomResourceDefinition>(text));
  for (const crd of wanted) await createOrUpdate(api, crd, options.log);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (const crd of wanted) {
    const name = crd.metadata!.name!;
    for (;;) {
      const current = await api.readCustomResourceDefinition({ name });
      const established = current.status?.conditions?.some((c) =>
        c.type === "Established" && c.status === "True"
      );
      if (established) break;
      if (Date.now() > deadline) {
        throw new Error(`Cannot install CRD ${name}: not Established within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  options.log?.info("crds installed", { crds: wanted.map((c) => c.metadata?.name) });
}

async function createOrUpdate(api: ApiextensionsV1Api, crd: V1CustomResourceDefinition, log?: Logger) {
  const name = crd.metadata!.name!;
  for (let attempt = 0;; attempt++) {
    try {
      await api.createCustomResourceDefinition({ body: crd });
      log?.info("crd created", { name });
      return;
    } catch (error) {
      if (!isConflict(error)) {
        throw new Error(`Cannot create CRD ${name}: ${String(error)}`, { cause: error });
      }
    }
    const current = await api.readCustomResourceDefinition({ name });
    try {
      await api.replaceCustomResourceDefinition({
        name,
        body: { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata?.resourceVersion } },
      });
      log?.info("crd updated", { name });
      return;
    } catch (error) {
      // Another replica updated it meanwhile: read again.
      if (!isConflict(error) || attempt >= MAX_CONFLICT_RETRIES) {
        throw new Error(`Cannot update CRD ${name}: ${String(error)}`, { cause: error });
      }
    }
  }
}
