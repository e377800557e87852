/**
 * The gRPC probe (`probe.grpc`): one call of the standard health service, grpc.health.v1.Health/Check, as the
 * kubelet makes it, plain text to the pod's port. SERVING passes; any other status, a refused connection or
 * no answer within the timeout fails, with what happened as the probe's output. The two messages are tiny
 * (one string field, one enum field), so they are encoded here by hand rather than from a .proto. grpc-js is
 * loaded with the first gRPC probe, not with edgecore.
 */
import { Buffer } from "node:buffer";
import type { ServiceError } from "@grpc/grpc-js";

const CHECK = "/grpc.health.v1.Health/Check";
const STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
/** A health answer is a few bytes; anything bigger is not one. */
const MAX_ANSWER_BYTES = 1024;

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new RangeError("Cannot probe: gRPC service name longer than 127 bytes");
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status number, 0 when absent. */
export function decodeHealthResponse(bytes: Buffer): number {
  let status = 0;
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++]!;
    if (tag === 0x08) {
      let value = 0, shift = 0, byte = 0;
      do {
        byte = bytes[i++] ?? 0;
        value |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte & 0x80 && shift < 35);
      status = value;
    } else {
      throw new TypeError(`Cannot read gRPC health answer: unexpected field tag ${tag}`);
    }
  }
  return status;
}

/** Undefined when the service is SERVING, else the probe's output. */
export async function grpcProbe(
  host: string,
  port: number,
  service: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const { grpc } = await import("./grpc_js.ts");
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_ANSWER_BYTES,
  });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(
        CHECK,
        encodeHealthRequest,
        decodeHealthResponse,
        service,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, value) => error ? reject(error) : resolve(value ?? 0),
      );
    });
    return status === 1 ? undefined : `service unhealthy (responded with "${STATUS[status] ?? status}")`;
  } catch (error) {
    const e = error as ServiceError;
    return e.code === grpc.status.DEADLINE_EXCEEDED
      ? `timeout: health rpc did not complete within ${timeoutMs / 1000}s`
      : `error: health rpc probe failed: ${e.details || e.message}`;
  } finally {
    client.close();
  }
}
