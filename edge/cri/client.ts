/**
 * A CRI v1 client (RuntimeService and ImageService) for containerd's socket
 * (`unix:///run/containerd/containerd.sock`): unary gRPC over Deno's HTTP/2 client (grpc_unary.ts), messages
 * by proto_codec.ts. Every call has a deadline (default 2 minutes) and replies are capped at
 * `maxReceiveBytes`. Failures throw CriError with the gRPC status code.
 */

import { GrpcCallError, unaryChannel } from "./grpc_unary.ts";
import { CRI_PROTO } from "./proto.ts";
import { ProtoCodec } from "./proto_codec.ts";
import { type JsonService, protoToJson } from "./proto_json.ts";
import type {
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatus,
  ExecSyncResponse,
  FilesystemUsage,
  Image,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatus,
  RuntimeCondition,
  StreamRequest,
  VersionResponse,
} from "./types.ts";

export const DEFAULT_CRI_TIMEOUT_MS = 120_000;
export const DEFAULT_CRI_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;
/** gRPC status codes the callers act on. */
export const GRPC_STATUS = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

export interface CriClientOptions {
  /** `unix:///path/to/containerd.sock` (a bare path is taken as a unix socket). */
  readonly endpoint: string;
  /** Deadline of each call unless the call gives its own. Default 2 minutes. */
  readonly timeoutMs?: number;
  /** Largest reply accepted, in bytes. Default 16 MiB. */
  readonly maxReceiveBytes?: number;
}

export interface CallOptions {
  readonly timeoutMs?: number;
}

/** A failed CRI call: `code` is the gRPC status (4 deadline exceeded, 5 not found, 14 unavailable). */
export class CriError extends Error {
  override readonly name = "CriError";
  readonly code: number;
  readonly method: string;
  constructor(method: string, code: number, detail: string, options?: ErrorOptions) {
    super(`Cannot ${method}: ${detail}`, options);
    this.method = method;
    this.code = code;
  }
}

export interface CriClient {
  version(opts?: CallOptions): Promise<VersionResponse>;
  status(opts?: CallOptions): Promise<RuntimeCondition[]>;
  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string, opts?: CallOptions): Promise<string>;
  stopPodSandbox(id: string, opts?: CallOptions): Promise<void>;
  removePodSandbox(id: string, opts?: CallOptions): Promise<void>;
  podSandboxStatus(id: string, opts?: CallOptions): Promise<PodSandboxStatus>;
  listPodSandbox(filter?: PodSandboxFilter, opts?: CallOptions): Promise<PodSandbox[]>;
  createContainer(
    sandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    opts?: CallOptions,
  ): Promise<string>;
  startContainer(id: string, opts?: CallOptions): Promise<void>;
  /** Signals the container's stop signal, then SIGKILL after `timeoutSeconds`. */
  stopContainer(id: string, timeoutSeconds: number, opts?: CallOptions): Promise<void>;
  removeContainer(id: string, opts?: CallOptions): Promise<void>;
  listContainers(filter?: ContainerFilter, opts?: CallOptions): Promise<Container[]>;
  containerStatus(id: string, opts?: CallOptions): Promise<ContainerStatus>;
  /** Runs `cmd` in the container; the call's deadline is `timeoutSeconds` plus the client's timeout. */
  execSync(id: string, cmd: string[], timeoutSeconds: number, opts?: CallOptions): Promise<ExecSyncResponse>;
  /** Prepares a streaming exec; returns the URL on the runtime's streaming server that serves it once. */
  exec(id: string, cmd: string[], streams: StreamRequest, opts?: CallOptions): Promise<string>;
  /** Prepares a streaming attach to the container's main process; returns the streaming URL. */
  attach(id: string, streams: StreamRequest, opts?: CallOptions): Promise<string>;
  /** Prepares a port forward into the sandbox's network namespace; returns the streaming URL. */
  portForward(sandboxId: string, ports: number[], opts?: CallOptions): Promise<string>;
  containerStats(id: string, opts?: CallOptions): Promise<ContainerStats | undefined>;
  listContainerStats(filter?: ContainerStatsFilter, opts?: CallOptions): Promise<ContainerStats[]>;
  listImages(opts?: CallOptions): Promise<Image[]>;
  /** The image, or undefined when the runtime does not have it. */
  imageStatus(image: string, opts?: CallOptions): Promise<Image | undefined>;
  /** Pulls `image`; returns its image ref (the ID). */
  pullImage(
    image: string,
    auth?: AuthConfig,
    sandbox?: PodSandboxConfig,
    opts?: CallOptions,
  ): Promise<string>;
  removeImage(image: string, opts?: CallOptions): Promise<void>;
  imageFsInfo(opts?: CallOptions): Promise<FilesystemUsage[]>;
  close(): void;
}

interface Method {
  readonly path: string;
  readonly requestType: string;
  readonly responseType: string;
}

let protocol: { codec: ProtoCodec; methods: Map<string, Method> } | undefined;

/** The codec and the methods of both services, read once from the embedded proto text. */
function loadProtocol(): { codec: ProtoCodec; methods: Map<string, Method> } {
  if (protocol) return protocol;
  const descriptor = protoToJson(CRI_PROTO);
  const v1 = (descriptor.nested.runtime as { nested: { v1: { nested: Record<string, unknown> } } }).nested.v1
    .nested;
  const methods = new Map<string, Method>();
  for (const service of ["RuntimeService", "ImageService"]) {
    for (const [name, m] of Object.entries((v1[service] as JsonService).methods)) {
      methods.set(name, {
        path: `/runtime.v1.${service}/${name}`,
        requestType: m.requestType,
        responseType: m.responseType,
      });
    }
  }
  protocol = { codec: new ProtoCodec(descriptor), methods };
  return protocol;
}

export function createCriClient(options: CriClientOptions): CriClient {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_CRI_TIMEOUT_MS;
  const { codec, methods } = loadProtocol();
  const channel = unaryChannel({
    socket: options.endpoint,
    maxReceiveBytes: options.maxReceiveBytes ?? DEFAULT_CRI_MAX_RECEIVE_BYTES,
    maxSendBytes: 4 * 1024 * 1024,
  });

  const call = async <T>(
    method: string,
    request: Record<string, unknown>,
    opts?: CallOptions,
    extraMs = 0,
  ) => {
    const timeout = (opts?.timeoutMs ?? defaultTimeout) + extraMs;
    const m = methods.get(method);
    if (!m) throw new CriError(method, 12, "no such method");
    let reply: Uint8Array;
    try {
      reply = await channel.call(m.path, codec.encode(m.requestType, request), timeout);
    } catch (error) {
      if (error instanceof GrpcCallError) {
        throw new CriError(method, error.code, error.details, { cause: error });
      }
      throw new CriError(method, 13, (error as Error).message, { cause: error });
    }
    try {
      return codec.decode<T>(m.responseType, reply);
    } catch (error) {
      throw new CriError(method, 13, `bad reply: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    version: async (opts) => await call<VersionResponse>("Version", { version: "v1" }, opts),
    status: async (opts) =>
      (await call<{ status: { conditions: RuntimeCondition[] } | null }>("Status", {}, opts)).status
        ?.conditions ?? [],
    runPodSandbox: async (config, runtimeHandler = "", opts) =>
      (await call<{ podSandboxId: string }>("RunPodSandbox", { config, runtimeHandler }, opts))
        .podSandboxId,
    stopPodSandbox: async (id, opts) => {
      await call("StopPodSandbox", { podSandboxId: id }, opts);
    },
    removePodSandbox: async (id, opts) => {
      await call("RemovePodSandbox", { podSandboxId: id }, opts);
    },
    podSandboxStatus: async (id, opts) => {
      const reply = await call<{ status: PodSandboxStatus | null }>("PodSandboxStatus", {
        podSandboxId: id,
      }, opts);
      if (!reply.status) throw new CriError("PodSandboxStatus", GRPC_STATUS.NOT_FOUND, `no status for ${id}`);
      return reply.status;
    },
    listPodSandbox: async (filter, opts) =>
      (await call<{ items: PodSandbox[] }>("ListPodSandbox", { filter }, opts)).items,
    createContainer: async (sandboxId, config, sandboxConfig, opts) =>
      (await call<{ containerId: string }>("CreateContainer", {
        podSandboxId: sandboxId,
        config,
        sandboxConfig,
      }, opts)).containerId,
    startContainer: async (id, opts) => {
      await call("StartContainer", { containerId: id }, opts);
    },
    stopContainer: async (id, timeoutSeconds, opts) => {
      await call(
        "StopContainer",
        { containerId: id, timeout: timeoutSeconds },
        opts,
        timeoutSeconds * 1000,
      );
    },
    removeContainer: async (id, opts) => {
      await call("RemoveContainer", { containerId: id }, opts);
    },
    listContainers: async (filter, opts) =>
      (await call<{ containers: Container[] }>("ListContainers", { filter }, opts)).containers,
    containerStatus: async (id, opts) => {
      const reply = await call<{ status: ContainerStatus | null }>(
        "ContainerStatus",
        { containerId: id },
        opts,
      );
      if (!reply.status) throw new CriError("ContainerStatus", GRPC_STATUS.NOT_FOUND, `no status for ${id}`);
      return reply.status;
    },
    execSync: async (id, cmd, timeoutSeconds, opts) =>
      await call<ExecSyncResponse>(
        "ExecSync",
        {
          containerId: id,
          cmd,
          timeout: timeoutSeconds,
        },
        opts,
        timeoutSeconds * 1000,
      ),
    exec: async (id, cmd, streams, opts) =>
      (await call<{ url: string }>("Exec", { containerId: id, cmd, ...streams }, opts)).url,
    attach: async (id, streams, opts) =>
      (await call<{ url: string }>("Attach", { containerId: id, ...streams }, opts)).url,
    portForward: async (sandboxId, ports, opts) =>
      (await call<{ url: string }>("PortForward", { podSandboxId: sandboxId, port: ports }, opts)).url,
    containerStats: async (id, opts) =>
      (await call<{ stats: ContainerStats | null }>("ContainerStats", { containerId: id }, opts)).stats ??
        undefined,
    listContainerStats: async (filter, opts) =>
      (await call<{ stats: ContainerStats[] }>("ListContainerStats", { filter }, opts)).stats,
    listImages: async (opts) => (await call<{ images: Image[] }>("ListImages", {}, opts)).images,
    imageStatus: async (image, opts) =>
      (await call<{ image: Image | null }>("ImageStatus", { image: { image } }, opts)).image ??
        undefined,
    pullImage: async (image, auth, sandboxConfig, opts) =>
      (await call<{ imageRef: string }>("PullImage", { image: { image }, auth, sandboxConfig }, opts))
        .imageRef,
    removeImage: async (image, opts) => {
      await call("RemoveImage", { image: { image } }, opts);
    },
    imageFsInfo: async (opts) =>
      (await call<{ imageFilesystems: FilesystemUsage[] }>("ImageFsInfo", {}, opts)).imageFilesystems,
    close() {
      channel.close();
    },
  };
}
