/**
 * The simulated network, as the links of the in-memory transport (src/cluster/
 * transport-memory.ts): every frame is carried on virtual time with seeded faults — drops,
 * duplicates, delays (hence reordering) and partitions (symmetric or one-way). A frame sent
 * into a partition is refused at once (the sender's link is down); one caught in flight by a
 * partition is lost, and the sender sometimes hears of it (a broken link).
 */
import type { MemoryLinks } from '../../src/cluster/transport-memory.js';
import type { Prng } from '../../src/util/prng.js';
import type { VirtualTime } from './virtual-clock.js';

export interface NetConfig {
  /** Probability that a frame is lost. */
  dropRate: number;
  /** Probability that a frame is delivered twice (the copy with its own delay). */
  dupRate: number;
  /** Delay bounds in virtual ms for ordinary frames. */
  minDelay: number;
  maxDelay: number;
  /** Probability of a long delay (a slow link), up to longDelayMax ms. */
  longDelayRate: number;
  longDelayMax: number;
}

export class SimNetwork implements MemoryLinks {
  /** Ordered pairs from -> to whose frames are lost. */
  private readonly blocked = new Set<number>();
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly prng: Prng,
    private readonly time: VirtualTime,
    public config: NetConfig,
  ) {}

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

  up(from: number, to: number): boolean {
    return !this.isBlocked(from, to);
  }

  carry(from: number, to: number, arrive: () => void, lost: () => void): boolean {
    this.sent++;
    if (this.isBlocked(from, to)) {
      this.dropped++;
      return false;
    }
    if (this.prng.chance(this.config.dropRate)) {
      this.dropped++;
      if (this.prng.chance(0.3)) this.time.at(this.time.now + this.config.maxDelay, lost);
      return true;
    }
    this.schedule(to, arrive);
    if (this.prng.chance(this.config.dupRate)) {
      this.duplicated++;
      this.schedule(to, arrive);
    }
    return true;
  }

  private schedule(to: number, arrive: () => void): void {
    const c = this.config;
    const delay = this.prng.chance(c.longDelayRate) ? this.prng.range(c.maxDelay, Math.max(c.maxDelay, c.longDelayMax)) : this.prng.range(c.minDelay, c.maxDelay);
    // A partition that arose meanwhile loses it: the memory network checks up() on arrival.
    this.time.at(this.time.now + delay, arrive, undefined, to);
  }
}
