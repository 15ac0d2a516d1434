/**
 * The simulator's client workload: real Ops (src/core/types.ts) over a small key space so
 * that they collide — creates (persistent, sequential, ephemeral owned by a session),
 * sets and deletes with and without version checks, multis, and sessions opened and closed.
 * Every written value is unique (a counter), so that equal data means the same write.
 */
import type { CreateMode, Op, SessionId, SubOp } from '../../src/core/types.js';
import type { Prng } from '../../src/util/prng.js';

const KEYS = 6;

export class Workload {
  private counter = 0;
  /** Sessions this workload opened (some may have failed to open, or closed since). */
  private readonly sessions: SessionId[] = [];

  constructor(private readonly prng: Prng) {}

  private value(): Uint8Array {
    return new TextEncoder().encode(`v${this.counter++}${'x'.repeat(this.prng.int(24))}`);
  }

  private path(): string {
    const p = this.prng;
    return p.chance(0.3) ? `/d${p.int(2)}/k${p.int(KEYS)}` : `/k${p.int(KEYS)}`;
  }

  private version(): number {
    return this.prng.chance(0.5) ? -1 : this.prng.int(3);
  }

  private create(): SubOp {
    const p = this.prng;
    const owner = this.sessions.length > 0 && p.chance(0.3) ? p.pick(this.sessions) : undefined;
    const mode: CreateMode = owner !== undefined ? p.pick(['ephemeral', 'ephemeral_sequential'] as const) : p.pick(['persistent', 'persistent', 'persistent_sequential'] as const);
    return { op: 'create', path: this.path(), data: this.value(), mode, parents: p.chance(0.5), ...(owner !== undefined ? { owner } : {}) };
  }

  private sub(): SubOp {
    const p = this.prng;
    const k = p.int(10);
    if (k < 4) return this.create();
    if (k < 7) return { op: 'set', path: this.path(), data: this.value(), version: this.version() };
    if (k < 9) return { op: 'delete', path: this.path(), version: this.version() };
    return { op: 'check', path: this.path(), version: this.version() };
  }

  next(): Op {
    const p = this.prng;
    const k = p.int(20);
    if (k < 2) {
      const id = BigInt(p.int(2 ** 30)) + 1n;
      this.sessions.push(id);
      if (this.sessions.length > 8) this.sessions.shift();
      return { op: 'createSession', id, timeoutMs: p.pick([2000, 10_000]) };
    }
    if (k < 3 && this.sessions.length > 0) return { op: 'closeSession', id: p.pick(this.sessions), reason: p.pick(['closed', 'expired'] as const) };
    if (k < 6) {
      const ops: SubOp[] = [];
      for (let i = p.range(1, 3); i > 0; i--) ops.push(this.sub());
      return { op: 'multi', ops };
    }
    return this.sub();
  }
}
