// Reading the HTTP status out of a @kubernetes/client-node error without importing the client at runtime.

/** The apiserver's HTTP status carried by a client-node ApiException, or undefined for any other error. */
export function apiStatusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatusOf(err) === 404;
}

/** 409: AlreadyExists on create, Conflict (stale resourceVersion) on update. */
export function isConflict(err: unknown): boolean {
  return apiStatusOf(err) === 409;
}
