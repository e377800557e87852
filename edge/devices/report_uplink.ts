/**
 * Reported twins to the cloud: `update device/<ns>/<name>/twin/edge_updated` as a request, and the twin's
 * ackReport only after the cloud answered "OK". One request per device at a time; a report that comes
 * meanwhile marks the device and its latest values (pendingReports) go when the answer is in. Unanswered
 * ones stay in the twin's SQLite table and go again after a reconnect and every `retryMs` while connected.
 */
import type { Logger } from "../../lib/log.ts";
import { ACK_CONTENT, buildDeviceResource, type Message, newMessage } from "../../lib/protocol/mod.ts";
import type { EdgeHub } from "../hub/mod.ts";
import type { DeviceState, DeviceTwin, TwinReport, Twins } from "../twin/mod.ts";
import { splitId } from "./cloud_messages.ts";

export interface ReportUplinkOptions {
  readonly hub: Pick<EdgeHub, "connected" | "request">;
  /** The twin, once started. */
  readonly twin: () => DeviceTwin | undefined;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly retryMs: number;
}

/** The source upstream's twin module writes on what it sends to the cloud. */
export const TWIN_SOURCE = "twin";

export class ReportUplink {
  readonly #o: ReportUplinkOptions;
  readonly #inflight = new Set<string>();
  readonly #dirty = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(options: ReportUplinkOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.sendPending(), this.#o.retryMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** The twin committed new reported values of `deviceId`. */
  reported(deviceId: string): void {
    void this.#send(deviceId);
  }

  /** Every device with unacknowledged values, one request each (those in flight are marked instead). */
  async sendPending(): Promise<void> {
    const twin = this.#o.twin();
    if (!twin || !this.#o.hub.connected) return;
    await Promise.all(twin.pendingReports().map((report) => this.#send(report.deviceId)));
  }

  /** A device's state changed: told to the cloud when connected (the twin keeps it either way). */
  state(deviceId: string, state: DeviceState, lastOnline: string): void {
    if (!this.#o.hub.connected) return;
    const { namespace, name } = splitId(deviceId);
    const message = newMessage({
      source: TWIN_SOURCE,
      group: "resource",
      operation: "update",
      resource: buildDeviceResource({ namespace, name, subresource: "state/update" }),
      content: {
        event_id: crypto.randomUUID(),
        timestamp: Date.now(),
        device: { name, state, last_online: lastOnline },
      },
    });
    this.#o.hub.request(message, this.#o.requestTimeoutMs).then(
      (reply) => {
        if (!isOk(reply)) {
          this.#o.log.warn("device state refused by cloud", { device: deviceId, reply: reply.content });
        }
      },
      (error) => this.#o.log.debug("device state not sent", { device: deviceId, error }),
    );
  }

  async #send(deviceId: string): Promise<void> {
    const twin = this.#o.twin();
    if (!twin || this.#stopped || !this.#o.hub.connected) return;
    if (this.#inflight.has(deviceId)) {
      this.#dirty.add(deviceId);
      return;
    }
    const report = twin.pendingReports().find((r) => r.deviceId === deviceId);
    if (!report) return;
    this.#inflight.add(deviceId);
    try {
      const reply = await this.#o.hub.request(this.#message(twin, report), this.#o.requestTimeoutMs);
      if (isOk(reply)) twin.ackReport(report);
      else this.#o.log.warn("twin report refused by cloud", { device: deviceId, reply: reply.content });
    } catch (error) {
      this.#o.log.debug("twin report not sent", { device: deviceId, error });
    } finally {
      this.#inflight.delete(deviceId);
    }
    if (this.#dirty.delete(deviceId)) await this.#send(deviceId);
  }

  /** The report as upstream sends it, with the expected value the edge holds (the cloud's observedDesired). */
  #message(twin: DeviceTwin, report: TwinReport): Message {
    const held = twin.twins(report.deviceId) ?? {};
    const withExpected: Twins = {};
    for (const [prop, value] of Object.entries(report.content.twin)) {
      const expected = held[prop]?.expected;
      withExpected[prop] = expected ? { ...value, expected } : value;
    }
    return newMessage({
      source: TWIN_SOURCE,
      group: "resource",
      operation: "update",
      resource: report.resource,
      content: { ...report.content, twin: withExpected },
    });
  }
}

function isOk(reply: Message): boolean {
  return reply.route.operation === "response" && reply.content === ACK_CONTENT;
}
