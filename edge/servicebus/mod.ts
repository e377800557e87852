/** The ServiceBus: the cloud's calls to apps on this box. The public face of edge/servicebus. */
export { type CallResult, EDGE_SERVER_HEADER, ServiceBus, type ServiceBusOptions } from "./service_bus.ts";
