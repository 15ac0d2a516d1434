/**
 * A watcher inside a simulated member process: one persistent recursive watch on '/', held
 * through the member's real WatchHub (src/watch/hub.ts), recording what the hub delivers.
 * The member checker compares each delivery with the events the member applied at that zxid
 * (so the hub neither drops, reorders nor invents events), and so, through the applied events'
 * agreement, the watch streams of every member with each other.
 */
import type { Zxid } from '../../src/core/types.js';
import type { Member } from '../../src/node/member.js';
import { Subscriber, WatchHub, type Delivery, type Watch } from '../../src/watch/index.js';
import type { Clock } from '../../src/util/clock.js';

export type DeliveryListener = (zxid: Zxid, events: string) => void;

export class WatchRecorder extends Subscriber {
  readonly hub: WatchHub;
  private last = 0;
  deliveries = 0;
  rewatches = 0;

  constructor(
    member: Member,
    clock: Clock,
    private readonly onDelivery: DeliveryListener,
    private readonly onViolation: (message: string) => void,
  ) {
    super();
    this.hub = new WatchHub(member, { maxEntries: 64, maxBytes: 1 << 20, heartbeatMs: 0, clock, onError: (e) => onViolation(`the watch hub failed: ${String(e)}`) });
    this.hub.attach(this);
    this.watchAll();
  }

  private watchAll(): void {
    this.hub.watch(this, { path: '/', kind: 'persistent_recursive', withData: false }, (w) => {
      this.last = w.zxid;
    });
  }

  override deliver(d: Delivery, _watches: readonly Watch[], events: readonly number[]): void {
    if (d.zxid <= this.last) this.onViolation(`watch stream went back: zxid ${d.zxid} after ${this.last}`);
    this.last = d.zxid;
    this.deliveries++;
    this.onDelivery(d.zxid, events.map((i) => `${d.events[i]!.type}@${d.events[i]!.path}`).join(','));
  }

  override heartbeat(): void {
    // heartbeatMs is 0: none come.
  }

  /** A snapshot jumped the member's state: the stream can't go on exactly; watch anew, as a client would. */
  override compacted(): void {
    this.rewatches++;
    queueMicrotask(() => {
      if (this.watches.size === 0) this.watchAll();
    });
  }

  close(): void {
    this.hub.close();
  }
}
