/**
 * The MsgApp messages a leader has sent to one follower and not yet seen acknowledged,
 * bounded by count and by bytes of entry data (flow control for pipelined replication).
 * A ring buffer: add() appends in increasing index order, freeLE() frees a prefix.
 */
import { assert } from '../util/assert.js';

export class Inflights {
  private readonly indexes: number[];
  private readonly sizes: number[];
  private start = 0;
  private count_ = 0;
  private bytes_ = 0;

  /** maxBytes = 0 means "no byte limit". */
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    assert(Number.isInteger(maxCount) && maxCount >= 1, `Inflights maxCount ${maxCount}`);
    assert(Number.isInteger(maxBytes) && maxBytes >= 0, `Inflights maxBytes ${maxBytes}`);
    this.indexes = new Array<number>(maxCount).fill(0);
    this.sizes = new Array<number>(maxCount).fill(0);
  }

  get count(): number {
    return this.count_;
  }

  get bytes(): number {
    return this.bytes_;
  }

  /** Full: no more MsgApp until some are acknowledged. A single message may overshoot maxBytes. */
  full(): boolean {
    return this.count_ === this.maxCount || (this.maxBytes > 0 && this.bytes_ >= this.maxBytes);
  }

  /** Records a MsgApp whose last entry is `index`, carrying `bytes` of entry data. */
  add(index: number, bytes: number): void {
    assert(!this.full(), 'Inflights.add when full');
    assert(Number.isInteger(bytes) && bytes >= 0, `Inflights.add bytes ${bytes}`);
    if (this.count_ > 0) {
      const last = this.indexes[(this.start + this.count_ - 1) % this.maxCount]!;
      assert(index > last, `Inflights.add: index ${index} not above the last in flight ${last}`);
    }
    const slot = (this.start + this.count_) % this.maxCount;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.count_++;
    this.bytes_ += bytes;
  }

  /** Frees every message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.count_ > 0 && this.indexes[this.start]! <= index) {
      this.bytes_ -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.maxCount;
      this.count_--;
    }
    if (this.count_ === 0) this.start = 0;
    assert(this.bytes_ >= 0, 'Inflights bytes went negative');
  }

  /** Frees the oldest message (a heartbeat answer shows the follower is alive: let one more MsgApp go). */
  freeFirstOne(): void {
    if (this.count_ === 0) return;
    this.freeLE(this.indexes[this.start]!);
  }

  reset(): void {
    this.start = 0;
    this.count_ = 0;
    this.bytes_ = 0;
  }

  /** The last indexes in flight, oldest first (for tests and status). */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count_; i++) out.push(this.indexes[(this.start + i) % this.maxCount]!);
    return out;
  }
}
