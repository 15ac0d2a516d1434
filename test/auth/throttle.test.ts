/** The failed-authentication throttle on a fake monotonic clock. */
import { AuthThrottle, retryAfterSeconds } from '../../src/auth/throttle.js';

class FakeClock {
  constructor(public mono = 5_000) {}
  monoMs(): number {
    return this.mono;
  }
}

function setup(rate = 10, maxAddresses?: number): { clock: FakeClock; t: AuthThrottle } {
  const clock = new FakeClock();
  return { clock, t: new AuthThrottle(clock, maxAddresses === undefined ? { rate } : { rate, maxAddresses }) };
}

describe('AuthThrottle', () => {
  it('lets `rate` failures a second through and throttles the next', () => {
    const { t } = setup(10);
    for (let i = 0; i < 10; i++) {
      t.failed('10.0.0.1');
      expect(t.retryAfterMs('10.0.0.1')).toBe(0);
    }
    t.failed('10.0.0.1');
    expect(t.retryAfterMs('10.0.0.1')).toBe(1000);
    expect(t.retryAfterMs('10.0.0.2')).toBe(0);
  });

  it('throttles until the window passes, then frees the address', () => {
    const { clock, t } = setup(3);
    for (let i = 0; i < 4; i++) {
      t.failed('a');
      clock.mono += 100;
    }
    // Failures at 5000, 5100, 5200, 5300; now 5400: four in a window until 6000.
    expect(t.retryAfterMs('a')).toBe(600);
    clock.mono = 5999;
    expect(t.retryAfterMs('a')).toBe(1);
    clock.mono = 6000;
    expect(t.retryAfterMs('a')).toBe(0);
    // 5100, 5200, 5300 and one more at 6000 are four within 1000 ms again.
    t.failed('a');
    expect(t.retryAfterMs('a')).toBe(100);
  });

  it('is a sliding window, not a fixed one: no double burst at a boundary', () => {
    const { clock, t } = setup(10);
    clock.mono = 900;
    for (let i = 0; i < 10; i++) t.failed('a');
    clock.mono = 1100;
    t.failed('a');
    expect(t.retryAfterMs('a')).toBe(800);
  });

  it('failures spread out never throttle', () => {
    const { clock, t } = setup(2);
    for (let i = 0; i < 100; i++) {
      t.failed('a');
      expect(t.retryAfterMs('a')).toBe(0);
      clock.mono += 501;
    }
  });

  it('counts each address apart', () => {
    const { t } = setup(1);
    t.failed('a');
    t.failed('b');
    expect(t.retryAfterMs('a')).toBe(0);
    t.failed('a');
    expect(t.retryAfterMs('a')).toBeGreaterThan(0);
    expect(t.retryAfterMs('b')).toBe(0);
  });

  it('forgets quiet addresses', () => {
    const { clock, t } = setup(1);
    t.failed('a');
    t.failed('a');
    expect(t.size).toBe(1);
    clock.mono += 1000;
    expect(t.retryAfterMs('a')).toBe(0);
    expect(t.size).toBe(0);
  });

  it('bounds the addresses it tracks, forgetting the least recently failed', () => {
    const { t } = setup(1, 3);
    for (const a of ['a', 'b', 'c']) {
      t.failed(a);
      t.failed(a);
    }
    t.failed('a'); // a is now the most recent
    t.failed('d');
    expect(t.size).toBe(3);
    expect(t.retryAfterMs('b')).toBe(0); // forgotten
    expect(t.retryAfterMs('a')).toBeGreaterThan(0);
    expect(t.retryAfterMs('c')).toBeGreaterThan(0);
    for (let i = 0; i < 10_000; i++) t.failed(`x${i}`);
    expect(t.size).toBe(3);
  });

  it('refuses nonsense options', () => {
    const clock = new FakeClock();
    expect(() => new AuthThrottle(clock, { rate: 0 })).toThrow(RangeError);
    expect(() => new AuthThrottle(clock, { rate: 1.5 })).toThrow(RangeError);
    expect(() => new AuthThrottle(clock, { rate: 1, windowMs: 0 })).toThrow(RangeError);
    expect(() => new AuthThrottle(clock, { rate: 1, maxAddresses: -1 })).toThrow(RangeError);
  });

  it('retryAfterSeconds rounds up to whole seconds', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(0)).toBe(1);
  });
});
