/**
 * Kubernetes resourceVersions. The API calls them opaque, but etcd-backed servers issue decimal integers
 * and KubeEdge compares them numerically to decide which copy of an object is newer, so we do too.
 */

/** Longer than any uint64 (20 digits) with room to spare, yet bounded. */
export const MAX_RESOURCE_VERSION_LENGTH = 64;

const DIGITS = /^[0-9]+$/;

/** True when `value` is a non-empty string of decimal digits no longer than the limit. */
export function isResourceVersion(value: string): boolean {
  return value.length <= MAX_RESOURCE_VERSION_LENGTH && DIGITS.test(value);
}

/**
 * Compares two resourceVersions as integers: -1 when `a` is older, 0 when equal, 1 when newer.
 * BigInt keeps versions beyond 2^53 exact. Throws RangeError for a value that is not a resourceVersion.
 */
export function compareResourceVersion(a: string, b: string): -1 | 0 | 1 {
  const left = toBigInt(a);
  const right = toBigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

function toBigInt(value: string): bigint {
  if (!isResourceVersion(value)) {
    throw new RangeError(
      `Cannot compare resourceVersions: ${
        JSON.stringify(value.slice(0, 80))
      } is not a string of decimal digits`,
    );
  }
  return BigInt(value);
}
