/**
 * A shared counter, as kazoo's Counter: an integer kept as decimal text in a znode, changed by
 * a compare-and-set loop on the znode's version (read, set at that version, read again on
 * BadVersion). Each set carries an Idempotency-Key, so an increment retried on another member
 * after a failure is applied once.
 */
import { checkOptions, checkPath, checkPositiveInt } from '../args.js';
import type { ZgateClient } from '../client.js';
import { argumentError, isZgateError, ZgateError } from '../errors.js';
import { deadlineOf } from './common.js';

export interface CounterOptions {
  /** The value of a counter whose znode does not exist yet. Default 0. */
  initial?: number;
  /** Give up an add() that keeps losing races after this many ms (OperationTimeout). Default 30,000. */
  timeoutMs?: number;
}

export class Counter {
  private readonly initial: number;
  private readonly timeoutMs: number;

  constructor(
    readonly client: ZgateClient,
    readonly path: string,
    options?: CounterOptions,
  ) {
    checkPath(path);
    const o = checkOptions<CounterOptions>(options, 'options', ['initial', 'timeoutMs']);
    if (o.initial !== undefined && !Number.isSafeInteger(o.initial)) throw argumentError('options.initial', `must be a safe integer, got ${String(o.initial)}`);
    this.initial = o.initial ?? 0;
    this.timeoutMs = checkPositiveInt(o.timeoutMs, 'options.timeoutMs') ?? 30_000;
  }

  /** The current value. */
  async value(): Promise<number> {
    return (await this.read()).value;
  }

  /** Adds `delta` (negative to subtract); answers the value it set. */
  async add(delta: number): Promise<number> {
    if (!Number.isSafeInteger(delta)) throw argumentError('delta', `must be a safe integer, got ${String(delta)}`);
    const deadline = deadlineOf(this.timeoutMs);
    for (let round = 0; ; round++) {
      const { value, version } = await this.read();
      const next = value + delta;
      if (!Number.isSafeInteger(next)) throw argumentError('delta', `${value} + ${delta} is past the safe integers`);
      try {
        if (version === undefined) await this.client.create(this.path, String(next), { makeParents: true });
        else await this.client.set(this.path, String(next), { version });
        return next;
      } catch (e) {
        if (!isZgateError(e, 'BadVersion') && !isZgateError(e, 'NodeExists') && !isZgateError(e, 'NoNode')) throw e;
      }
      if (Date.now() >= deadline) throw new ZgateError('OperationTimeout', `counter ${this.path}: add(${delta}) lost every race for ${this.timeoutMs} ms`, { path: this.path });
      // Lost a race: back off a little, more after every loss, so contenders spread out.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * round)));
    }
  }

  private async read(): Promise<{ value: number; version: number | undefined }> {
    try {
      const z = await this.client.get(this.path);
      const value = z.data.trim() === '' ? this.initial : Number(z.data);
      if (!Number.isSafeInteger(value)) throw new ZgateError('BadArguments', `counter ${this.path} holds ${JSON.stringify(z.data.slice(0, 40))}, not an integer`, { path: this.path });
      return { value, version: z.stat.version };
    } catch (e) {
      if (isZgateError(e, 'NoNode')) return { value: this.initial, version: undefined };
      throw e;
    }
  }
}
