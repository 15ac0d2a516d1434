import fc from 'fast-check';
import { Inflights } from '../../src/raft/inflights.js';
import { AssertionFailure } from '../../src/util/assert.js';

describe('Inflights', () => {
  it('is bounded by count', () => {
    const f = new Inflights(3, 0);
    f.add(1, 10);
    f.add(2, 10);
    expect(f.full()).toBe(false);
    f.add(5, 10);
    expect(f.full()).toBe(true);
    expect(() => f.add(6, 1)).toThrow(AssertionFailure);
    f.freeLE(2);
    expect(f.toArray()).toEqual([5]);
    expect(f.bytes).toBe(10);
    expect(f.full()).toBe(false);
  });

  it('is bounded by bytes (one message may overshoot)', () => {
    const f = new Inflights(10, 100);
    f.add(1, 60);
    expect(f.full()).toBe(false);
    f.add(2, 60);
    expect(f.full()).toBe(true);
    f.freeLE(1);
    expect(f.full()).toBe(false);
    expect(f.bytes).toBe(60);
  });

  it('wraps around its ring', () => {
    const f = new Inflights(3, 0);
    for (let i = 1; i <= 20; i++) {
      f.add(i, 1);
      if (f.full()) f.freeLE(i - 1);
      expect(f.count).toBeLessThanOrEqual(3);
    }
    expect(f.toArray()).toEqual([19, 20]);
  });

  it('freeFirstOne frees the oldest', () => {
    const f = new Inflights(2, 0);
    f.add(4, 3);
    f.add(7, 5);
    f.freeFirstOne();
    expect(f.toArray()).toEqual([7]);
    expect(f.bytes).toBe(5);
    f.freeFirstOne();
    f.freeFirstOne();
    expect(f.count).toBe(0);
  });

  it('requires increasing indexes', () => {
    const f = new Inflights(4, 0);
    f.add(5, 1);
    expect(() => f.add(5, 1)).toThrow(AssertionFailure);
  });

  it('matches a naive model', () => {
    type Op = { add: number } | { free: number } | { reset: true };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.oneof(fc.record({ add: fc.integer({ min: 0, max: 20 }) }), fc.record({ free: fc.integer({ min: 0, max: 60 }) }), fc.constant({ reset: true as const })), { maxLength: 60 }),
        (max, maxBytes, ops: Op[]) => {
          const f = new Inflights(max, maxBytes);
          let model: { index: number; bytes: number }[] = [];
          let next = 1;
          for (const op of ops) {
            if ('add' in op) {
              const full = model.length === max || (maxBytes > 0 && model.reduce((n, x) => n + x.bytes, 0) >= maxBytes);
              expect(f.full()).toBe(full);
              if (full) continue;
              f.add(next, op.add);
              model.push({ index: next, bytes: op.add });
              next += 1 + (op.add % 3);
            } else if ('free' in op) {
              f.freeLE(op.free);
              model = model.filter((x) => x.index > op.free);
            } else {
              f.reset();
              model = [];
            }
            expect(f.toArray()).toEqual(model.map((x) => x.index));
            expect(f.bytes).toBe(model.reduce((n, x) => n + x.bytes, 0));
          }
        },
      ),
    );
  });
});
