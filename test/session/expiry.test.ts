/** The leader's expiry clock, driven by an injected `now`. */
import { ExpiryTracker } from '../../src/session/index.js';

describe('ExpiryTracker', () => {
  test('a session is due once its timeout passed without a keepalive, never before', () => {
    const t = new ExpiryTracker(1);
    t.add(1n, 1000, 0);
    expect(t.due(999)).toEqual([]);
    expect(t.due(1000)).toEqual([1n]);
    expect(t.has(1n)).toBe(false);
    expect(t.due(5000)).toEqual([]);
  });

  test('keepalives move the deadline to now + timeout', () => {
    const t = new ExpiryTracker(1);
    t.add(1n, 1000, 0);
    for (let now = 500; now <= 10_000; now += 500) {
      expect(t.touch(1n, now)).toBe(true);
      expect(t.due(now + 999)).toEqual([]);
    }
    expect(t.deadline(1n)).toBe(11_000);
    expect(t.due(11_000)).toEqual([1n]);
    expect(t.touch(1n, 11_001)).toBe(false);
  });

  test('deadlines are rounded up to the granularity: late by less than one tick, never early', () => {
    const t = new ExpiryTracker(100);
    t.add(1n, 1000, 1);
    expect(t.deadline(1n)).toBe(1100);
    expect(t.due(1099)).toEqual([]);
    expect(t.due(1100)).toEqual([1n]);
    // A keepalive inside the same bucket does not move it; a later one does.
    t.add(2n, 1000, 0);
    t.touch(2n, 50);
    expect(t.deadline(2n)).toBe(1100);
    t.touch(2n, 150);
    expect(t.deadline(2n)).toBe(1200);
  });

  test('due sessions come out in deadline order, then id', () => {
    const t = new ExpiryTracker(10);
    t.add(5n, 300, 0);
    t.add(3n, 100, 0);
    t.add(4n, 100, 0);
    t.add(1n, 200, 0);
    t.add(2n, 10_000, 0);
    expect(t.due(300)).toEqual([3n, 4n, 1n, 5n]);
    expect(t.size).toBe(1);
  });

  test('a new leader restarts every clock at now + timeout', () => {
    const t = new ExpiryTracker(1);
    t.add(1n, 1000, 0);
    t.add(2n, 5000, 0);
    t.restartAll(900);
    expect(t.due(1899)).toEqual([]);
    expect(t.due(1900)).toEqual([1n]);
    expect(t.due(5899)).toEqual([]);
    expect(t.due(5900)).toEqual([2n]);
  });

  test('remove and clear forget sessions', () => {
    const t = new ExpiryTracker(1);
    t.add(1n, 10, 0);
    t.add(2n, 10, 0);
    t.remove(1n);
    t.remove(7n);
    expect(t.due(100)).toEqual([2n]);
    t.add(3n, 10, 0);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.due(100)).toEqual([]);
  });

  test('many sessions: each keepalive O(1), a check touches only due buckets', () => {
    const t = new ExpiryTracker(100);
    const n = 10_000;
    for (let i = 1; i <= n; i++) t.add(BigInt(i), 10_000, 0);
    const start = performance.now();
    for (let now = 500; now <= 20_000; now += 500) {
      for (let i = 1; i <= n; i += 2) t.touch(BigInt(i), now);
      const due = t.due(now);
      if (now < 10_000) expect(due).toEqual([]);
      else if (now === 10_000) expect(due.length).toBe(n / 2);
    }
    expect(t.size).toBe(n / 2);
    expect(performance.now() - start).toBeLessThan(5000);
  });
});
