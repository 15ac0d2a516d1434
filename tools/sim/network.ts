/**
 * The simulated network: messages in flight ordered by delivery time, with seeded faults —
 * drops, duplicates, delays (hence reordering) and partitions (symmetric or one-way).
 * Time is in sub-steps of a tick (see simulation.ts).
 */
import type { Message } from '../../src/raft/index.js';
import type { Prng } from '../../src/util/prng.js';

export interface NetConfig {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  dupRate: number;
  /** Delay bounds in sub-steps for ordinary messages. */
  minDelay: number;
  maxDelay: number;
  /** Probability of a long delay (a slow link), up to longDelayMax sub-steps. */
  longDelayRate: number;
  longDelayMax: number;
  /** Deliver messages due at the same time in send order (with a constant delay: FIFO links). */
  fifo?: boolean;
}

interface InFlight {
  at: number;
  seq: number;
  msg: Message;
}

/** A binary min-heap of messages by (delivery time, send order). */
class Heap {
  private readonly a: InFlight[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): InFlight | undefined {
    return this.a[0];
  }

  push(x: InFlight): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p]!, a[i]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): InFlight | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.a.length = 0;
  }
}

function less(x: InFlight, y: InFlight): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export class SimNetwork {
  private readonly heap = new Heap();
  private seq = 0;
  /** Ordered pairs from -> to whose messages are lost. */
  private readonly blocked = new Set<number>();
  sent = 0;
  dropped = 0;
  duplicated = 0;
  /** Told of every message lost in a partition while in flight (the sender's runtime notices). */
  onDrop: (msg: Message) => void = () => {};

  constructor(
    private readonly prng: Prng,
    public config: NetConfig,
  ) {}

  get inFlight(): number {
    return this.heap.size;
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked.has(from * 1024 + to);
  }

  block(from: number, to: number): void {
    this.blocked.add(from * 1024 + to);
  }

  blockBoth(a: number, b: number): void {
    this.block(a, b);
    this.block(b, a);
  }

  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  /** Puts a message on the wire at time `now`; returns false when it was lost at once. */
  send(now: number, msg: Message): boolean {
    this.sent++;
    if (this.isBlocked(msg.from, msg.to) || this.prng.chance(this.config.dropRate)) {
      this.dropped++;
      return false;
    }
    this.enqueue(now, msg);
    if (this.prng.chance(this.config.dupRate)) {
      this.duplicated++;
      this.enqueue(now, msg);
    }
    return true;
  }

  private enqueue(now: number, msg: Message): void {
    const c = this.config;
    const delay = this.prng.chance(c.longDelayRate) ? this.prng.range(c.maxDelay, Math.max(c.maxDelay, c.longDelayMax)) : this.prng.range(c.minDelay, c.maxDelay);
    this.heap.push({ at: now + delay, seq: this.seq++, msg });
  }

  /** Messages due at `now`, in a shuffled order; a partition that arose meanwhile drops them. */
  due(now: number): Message[] {
    const out: Message[] = [];
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.at > now) break;
      this.heap.pop();
      if (this.isBlocked(top.msg.from, top.msg.to)) {
        this.dropped++;
        this.onDrop(top.msg);
        continue;
      }
      out.push(top.msg);
    }
    if (out.length > 1 && this.config.fifo !== true) this.prng.shuffle(out);
    return out;
  }

  clear(): void {
    this.heap.clear();
  }
}
