/**
 * A CRI v1 client (RuntimeService and ImageService) over grpc-js, for containerd's socket
 * (`unix:///run/containerd/containerd.sock`). Every call has a deadline (default 2 minutes) and replies are
 * capped at `maxReceiveBytes`. Failures throw CriError with the gRPC status code.
 */

import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { CRI_PROTO } from "./proto.ts";
import { protoToJson } from "./proto_json.ts";
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

type Callback = (err: grpc.ServiceError | null, reply: unknown) => void;
type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, cb: Callback) => void;
type GrpcClient = grpc.Client & Record<string, Unary>;
type ClientCtor = new (address: string, creds: grpc.ChannelCredentials, options: object) => GrpcClient;

let services: { runtime: ClientCtor; image: ClientCtor } | undefined;

function loadServices(): { runtime: ClientCtor; image: ClientCtor } {
  if (services) return services;
  const definition = fromJSON(protoToJson(CRI_PROTO), { longs: Number, enums: String, defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { RuntimeService: ClientCtor; ImageService: ClientCtor } };
  };
  services = { runtime: root.runtime.v1.RuntimeService, image: root.runtime.v1.ImageService };
  return services;
}

export function createCriClient(options: CriClientOptions): CriClient {
  const target = options.endpoint.startsWith("unix://") ? options.endpoint : `unix://${options.endpoint}`;
  const defaultTimeout = options.timeoutMs ?? DEFAULT_CRI_TIMEOUT_MS;
  const maxReceive = options.maxReceiveBytes ?? DEFAULT_CRI_MAX_RECEIVE_BYTES;
  const channelOptions = {
    "grpc.max_receive_message_length": maxReceive,
    "grpc.max_send_message_length": 4 * 1024 * 1024,
    "grpc.enable_retries": 0,
  };
  const { runtime: Runtime, image: Images } = loadServices();
  const creds = grpc.credentials.createInsecure();
  const rt = new Runtime(target, creds, channelOptions);
  const img = new Images(target, creds, channelOptions);

  const call = <T>(client: GrpcClient, method: string, request: unknown, opts?: CallOptions, extraMs = 0) => {
    const timeout = (opts?.timeoutMs ?? defaultTimeout) + extraMs;
    return new Promise<T>((resolve, reject) => {
      const fn = client[method];
      if (!fn) return reject(new CriError(method, 12, "no such method"));
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeout }, (err, reply) => {
        if (err) {
          const detail = err.code === GRPC_STATUS.DEADLINE_EXCEEDED
            ? `deadline exceeded after ${timeout} ms`
            : err.details || err.message;
          reject(new CriError(method, err.code ?? 2, detail, { cause: err }));
        } else resolve(reply as T);
      });
    });
  };

  return {
    version: async (opts) => await call<VersionResponse>(rt, "Version", { version: "v1" }, opts),
    status: async (opts) =>
      (await call<{ status: { conditions: RuntimeCondition[] } | null }>(rt, "Status", {}, opts)).status
        ?.conditions ?? [],
    runPodSandbox: async (config, runtimeHandler = "", opts) =>
      (await call<{ podSandboxId: string }>(rt, "RunPodSandbox", { config, runtimeHandler }, opts))
        .podSandboxId,
    stopPodSandbox: async (id, opts) => {
      await call(rt, "StopPodSandbox", { podSandboxId: id }, opts);
    },
    removePodSandbox: async (id, opts) => {
      await call(rt, "RemovePodSandbox", { podSandboxId: id }, opts);
    },
    podSandboxStatus: async (id, opts) => {
      const reply = await call<{ status: PodSandboxStatus | null }>(rt, "PodSandboxStatus", {
        podSandboxId: id,
      }, opts);
      if (!reply.status) throw new CriError("PodSandboxStatus", GRPC_STATUS.NOT_FOUND, `no status for ${id}`);
      return reply.status;
    },
    listPodSandbox: async (filter, opts) =>
      (await call<{ items: PodSandbox[] }>(rt, "ListPodSandbox", { filter }, opts)).items,
    createContainer: async (sandboxId, config, sandboxConfig, opts) =>
      (await call<{ containerId: string }>(rt, "CreateContainer", {
        podSandboxId: sandboxId,
        config,
        sandboxConfig,
      }, opts)).containerId,
    startContainer: async (id, opts) => {
      await call(rt, "StartContainer", { containerId: id }, opts);
    },
    stopContainer: async (id, timeoutSeconds, opts) => {
      await call(
        rt,
        "StopContainer",
        { containerId: id, timeout: timeoutSeconds },
        opts,
        timeoutSeconds * 1000,
      );
    },
    removeContainer: async (id, opts) => {
      await call(rt, "RemoveContainer", { containerId: id }, opts);
    },
    listContainers: async (filter, opts) =>
      (await call<{ containers: Container[] }>(rt, "ListContainers", { filter }, opts)).containers,
    containerStatus: async (id, opts) => {
      const reply = await call<{ status: ContainerStatus | null }>(
        rt,
        "ContainerStatus",
        { containerId: id },
        opts,
      );
      if (!reply.status) throw new CriError("ContainerStatus", GRPC_STATUS.NOT_FOUND, `no status for ${id}`);
      return reply.status;
    },
    execSync: async (id, cmd, timeoutSeconds, opts) =>
      await call<ExecSyncResponse>(
        rt,
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
      (await call<{ url: string }>(rt, "Exec", { containerId: id, cmd, ...streams }, opts)).url,
    attach: async (id, streams, opts) =>
      (await call<{ url: string }>(rt, "Attach", { containerId: id, ...streams }, opts)).url,
    portForward: async (sandboxId, ports, opts) =>
      (await call<{ url: string }>(rt, "PortForward", { podSandboxId: sandboxId, port: ports }, opts)).url,
    containerStats: async (id, opts) =>
      (await call<{ stats: ContainerStats | null }>(rt, "ContainerStats", { containerId: id }, opts)).stats ??
        undefined,
    listContainerStats: async (filter, opts) =>
      (await call<{ stats: ContainerStats[] }>(rt, "ListContainerStats", { filter }, opts)).stats,
    listImages: async (opts) => (await call<{ images: Image[] }>(img, "ListImages", {}, opts)).images,
    imageStatus: async (image, opts) =>
      (await call<{ image: Image | null }>(img, "ImageStatus", { image: { image } }, opts)).image ??
        undefined,
    pullImage: async (image, auth, sandboxConfig, opts) =>
      (await call<{ imageRef: string }>(img, "PullImage", { image: { image }, auth, sandboxConfig }, opts))
        .imageRef,
    removeImage: async (image, opts) => {
      await call(img, "RemoveImage", { image: { image } }, opts);
    },
    imageFsInfo: async (opts) =>
      (await call<{ imageFilesystems: FilesystemUsage[] }>(img, "ImageFsInfo", {}, opts)).imageFilesystems,
    close() {
      rt.close();
      img.close();
    },
  };
}
