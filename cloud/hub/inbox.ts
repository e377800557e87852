/**
 * A node's messages waiting for the handler, in two lanes. Node-level messages (registration, node status,
 * Lease) go one at a time in their own lane, so they never wait behind the node's pod traffic; the kubelet
 * has the same split (its Lease runs beside the status manager). Object messages run concurrently up to a
 * bound, one at a time and in arrival order per object, the kubelet's per-pod status order.
 */
import type { Message } from "../../lib/protocol/mod.ts";
import { parseResource } from "../../lib/protocol/mod.ts";

export interface Lane {
  /** Node-level: served in the urgent lane. */
  readonly urgent: boolean;
  /** Messages with the same key are handled one at a time, in order. */
  readonly key: string;
}

export interface InboxOptions {
  /** Object messages handled at once (different keys). */
  readonly concurrency: number;
  readonly laneOf: (message: Message) => Lane;
  /** Handles one message; must not reject. */
  readonly handle: (message: Message) => Promise<void>;
  /** A message finished (the session may read again). */
  readonly onSettled: () => void;
}

export class Inbox {
  readonly #o: InboxOptions;
  readonly #urgent: Message[] = [];
  #urgentBusy = false;
  /** Waiting messages per object key; a key stays while one of its messages is in flight. */
  readonly #byKey = new Map<string, Message[]>();
  /** Keys with a waiting message and none in flight, oldest first. */
  readonly #ready: string[] = [];
  readonly #busy = new Set<string>();
  /** Frame bytes of every message waiting or in flight, by message. */
  readonly #bytesOf = new WeakMap<Message, number>();
  #size = 0;
  #bytes = 0;
  #closed = false;

  constructor(options: InboxOptions) {
    this.#o = options;
  }

  /** Messages waiting or in flight. */
  get size(): number {
    return this.#size;
  }

  /** Frame bytes of the messages waiting or in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `bytes`: the size of the frame the message came in, counted until it is handled. */
  push(message: Message, bytes = 0): void {
    if (this.#closed) return;
    this.#size++;
    this.#bytes += bytes;
    this.#bytesOf.set(message, bytes);
    const lane = this.#o.laneOf(message);
    if (lane.urgent) {
      this.#urgent.push(message);
      this.#pumpUrgent();
      return;
    }
    const waiting = this.#byKey.get(lane.key);
    if (waiting) {
      waiting.push(message);
      return;
    }
    this.#byKey.set(lane.key, [message]);
    this.#ready.push(lane.key);
    this.#pump();
  }

  /** Drops what waits; messages in flight finish but start nothing new. */
  close(): void {
    this.#closed = true;
    this.#size -= this.#urgent.length;
    this.#urgent.length = 0;
    for (const [key, waiting] of this.#byKey) {
      this.#size -= waiting.length;
      if (!this.#busy.has(key)) this.#byKey.delete(key);
      else waiting.length = 0;
    }
    this.#ready.length = 0;
  }

  #pumpUrgent(): void {
    if (this.#urgentBusy || this.#closed) return;
    const message = this.#urgent.shift();
    if (!message) return;
    this.#urgentBusy = true;
    void this.#o.handle(message).finally(() => {
      this.#urgentBusy = false;
      this.#settled(message);
      this.#pumpUrgent();
    });
  }

  #pump(): void {
    while (!this.#closed && this.#busy.size < this.#o.concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      const message = this.#byKey.get(key)!.shift()!;
      this.#busy.add(key);
      void this.#o.handle(message).finally(() => {
        this.#busy.delete(key);
        const waiting = this.#byKey.get(key);
        if (waiting && waiting.length > 0 && !this.#closed) this.#ready.push(key);
        else this.#byKey.delete(key);
        this.#settled(message);
        this.#pump();
      });
    }
  }

  #settled(message: Message): void {
    if (!this.#closed) {
      this.#size--;
      this.#bytes -= this.#bytesOf.get(message) ?? 0;
    }
    this.#o.onSettled();
  }
}

/** Resource types a node sends about itself: they go in the urgent lane. */
const NODE_LEVEL_TYPES: ReadonlySet<string> = new Set(["node", "nodepatch", "nodestatus", "lease"]);
/** Types that name the same pod: a status patch and the final delete keep their order. */
const POD_TYPES: ReadonlySet<string> = new Set(["pod", "podpatch", "podstatus"]);

/**
 * The lane of a message from an edge, read from its route: node-level types are urgent; other objects are
 * keyed by namespace, pod-ness and name; anything else (device twins, user topics) by its resource.
 */
export function edgeMessageLane(message: Message): Lane {
  const { resource } = message.route;
  const parsed = parseResource(resource);
  if (!parsed.ok || parsed.value.kind !== "object") return { urgent: false, key: resource };
  const { namespace, type, name } = parsed.value;
  if (NODE_LEVEL_TYPES.has(type)) return { urgent: true, key: resource };
  const family = POD_TYPES.has(type) ? "pod" : type;
  return { urgent: false, key: `${namespace}/${family}/${name ?? ""}` };
}
