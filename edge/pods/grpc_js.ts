/**
 * grpc-js for the gRPC probe, behind a module of ours: imported on demand (`await import("./grpc_js.ts")`),
 * a static import of the CommonJS package inside it gives its named exports in the bundle too, where a
 * dynamic import of the package itself gives only `default` (every gRPC probe then failed in edgecore while
 * passing unbundled).
 */
import * as grpc from "@grpc/grpc-js";

export { grpc };
