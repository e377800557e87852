/**
 * Edge node labels: which Nodes are edge nodes, and which labels an edge may set on its own Node when it
 * registers. The second follows the NodeRestriction admission plugin: labels in the kubernetes.io and
 * k8s.io namespaces are the cluster's, except the few a kubelet sets about itself.
 */
import type { V1Node } from "@kubernetes/client-node";

export const EDGE_NODE_LABEL = "node-role.kubernetes.io/edge";
export const AGENT_NODE_LABEL = "node-role.kubernetes.io/agent";

/** Labels every registered edge node carries (upstream sets both, with empty values). */
export const EDGE_ROLE_LABELS: Readonly<Record<string, string>> = {
  [EDGE_NODE_LABEL]: "",
  [AGENT_NODE_LABEL]: "",
};

/** The label selector for edge nodes. */
export const EDGE_NODE_SELECTOR = EDGE_NODE_LABEL;

export function isEdgeNode(node: V1Node): boolean {
  return node.metadata?.labels?.[EDGE_NODE_LABEL] !== undefined;
}

// What a kubelet may set on its own Node under NodeRestriction.
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);
const KUBELET_PREFIXES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/** Whether an edge may set label `key` on its own Node. */
export function isSelfLabelAllowed(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const slash = key.indexOf("/");
  if (slash < 0) return true;
  const prefix = key.slice(0, slash);
  if (KUBELET_PREFIXES.some((p) => prefix === p || prefix.endsWith(`.${p}`))) return true;
  const reserved = ["kubernetes.io", "k8s.io"].some((d) => prefix === d || prefix.endsWith(`.${d}`));
  return !reserved;
}

/**
 * The labels to register with: the allowed ones the edge asked for plus the edge role labels. Returns the
 * refused keys too, for the log.
 */
export function registrationLabels(
  requested: Readonly<Record<string, string>> | undefined,
): { labels: Record<string, string>; refused: string[] } {
  const labels: Record<string, string> = {};
  const refused: string[] = [];
  for (const [key, value] of Object.entries(requested ?? {})) {
    // The role labels are the cloud's to set, and it sets them anyway: asking for them is no offence.
    if (key in EDGE_ROLE_LABELS) continue;
    if (isSelfLabelAllowed(key)) labels[key] = value;
    else refused.push(key);
  }
  return { labels: { ...labels, ...EDGE_ROLE_LABELS }, refused };
}
