/**
 * gRPC status codes by name, as grpc-js's `status` enum has them, so that the DMI code that only names a
 * status does not load grpc-js (edgecore loads it when a mapper first connects: dmi_socket.ts).
 */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatus = typeof GRPC_STATUS[keyof typeof GRPC_STATUS];

/** The status's name (NOT_FOUND), or its number for one gRPC does not define. */
export function grpcStatusName(code: number): string {
  for (const [name, value] of Object.entries(GRPC_STATUS)) if (value === code) return name;
  return String(code);
}
