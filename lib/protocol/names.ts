/** Kubernetes name rules (apimachinery validation), used for the parts of resource strings. */

export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

const LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Namespaces and (most) label values: lowercase alphanumerics and '-', at most 63 characters. */
export function isDns1123Label(value: string): boolean {
  // The length check runs first so the regex never sees a long, hostile input.
  return value.length <= DNS1123_LABEL_MAX_LENGTH && LABEL.test(value);
}

/** Object names (pods, nodes, configmaps, leases...): dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= DNS1123_SUBDOMAIN_MAX_LENGTH && SUBDOMAIN.test(value);
}
