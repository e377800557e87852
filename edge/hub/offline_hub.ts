// The hub of an edgecore that has no cloud to talk to (not joined): never connected, holds nothing.
import type { Message } from "../../lib/protocol/mod.ts";
import type { EdgeHub } from "./edge_hub.ts";

export function offlineHub(): EdgeHub {
  return {
    connected: false,
    send(_message: Message) {
      throw new RangeError("Cannot send to the cloud: edgecore has no cloud address (not joined)");
    },
    request(_message: Message) {
      return Promise.reject(
        new RangeError("Cannot send to the cloud: edgecore has no cloud address (not joined)"),
      );
    },
    reconnect() {},
    close: () => Promise.resolve(),
  };
}
