// /healthz and /livez (the process answers) and /readyz (it can do its job), as Kubernetes components answer.
import type { Context } from "hono";

export type Checks = Record<string, boolean>;

export function healthBody(checks: Checks): { status: "ok" | "failed"; checks: Checks } {
  return { status: Object.values(checks).every(Boolean) ? "ok" : "failed", checks };
}

export function healthResponse(c: Context, checks: Checks): Response {
  const body = healthBody(checks);
  return c.json(body, body.status === "ok" ? 200 : 503);
}
