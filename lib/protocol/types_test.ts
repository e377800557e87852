import assert from "node:assert/strict";
import { GROUPS, isKnownGroup, isKnownOperation, type Operation, OPERATIONS } from "./types.ts";

// Compiles only while the switch covers every Operation: the exhaustiveness handlers rely on.
function describe(operation: Operation): string {
  switch (operation) {
    case "insert":
    case "update":
    case "patch":
    case "delete":
      return "write";
    case "query":
    case "get":
      return "read";
    case "response":
    case "error":
      return "reply";
    case "upload":
    case "keepalive":
    case "publish":
    case "subscribe":
    case "unsubscribe":
    case "message":
    case "updated":
    case "delta":
    case "document":
    case "ping":
    case "pong":
    case "config":
      return "other";
    default: {
      const never: never = operation;
      return never;
    }
  }
}

Deno.test("isKnownOperation accepts every listed operation and narrows it", () => {
  for (const operation of OPERATIONS) {
    assert.equal(isKnownOperation(operation), true);
    assert.notEqual(describe(operation), undefined);
  }
  const wire: string = "patch";
  assert.equal(isKnownOperation(wire) ? describe(wire) : "unknown", "write");
});

Deno.test("isKnownOperation rejects operations outside the list, including other cases", () => {
  for (const operation of ["upgrade", "", "Insert", "router", "toString"]) {
    assert.equal(isKnownOperation(operation), false, operation);
  }
});

Deno.test("isKnownGroup accepts the five KubeEdge groups only", () => {
  assert.deepEqual([...GROUPS], ["resource", "twin", "user", "meta", "func"]);
  for (const group of GROUPS) assert.equal(isKnownGroup(group), true);
  for (const group of ["bus", "hub", "edgecontroller", ""]) assert.equal(isKnownGroup(group), false, group);
});

Deno.test("OPERATIONS lists the wire operations including the auto-answered ping, pong and config", () => {
  assert.equal(OPERATIONS.length, 20);
  for (const operation of ["keepalive", "delta", "document", "ping", "pong", "config"]) {
    assert.ok((OPERATIONS as readonly string[]).includes(operation), operation);
  }
});
