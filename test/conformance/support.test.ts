/** The comparison primitives of the conformance harness, checked on their own (no servers). */
import { NStat, OrderMap, PairMap, prng, TimeBook } from '../support/conformance.js';
import { znodeUrl } from '../support/zgate-http.js';

describe('OrderMap (zxids compared by relative order)', () => {
  test('accepts any order-preserving pairing, with gaps on either side', () => {
    const m = new OrderMap();
    expect(m.add(10n, 1n)).toBeUndefined();
    expect(m.add(14n, 2n)).toBeUndefined(); // ZooKeeper spent 11..13 on failed writes
    expect(m.add(12n, 1n)).toMatch(/zgate 1 was paired with zk 10/);
    expect(m.add(10n, 1n)).toBeUndefined(); // seen again, same pair
    expect(m.add(11n, 5n)).toMatch(/order/); // 10 < 11 < 14 but 5 is not between 1 and 2
    expect(m.add(30n, 9n)).toBeUndefined();
    expect(m.add(20n, 3n)).toBeUndefined(); // first seen late, fits between
    expect(m.add(25n, 3n)).toMatch(/zgate 3 was paired/);
    expect(m.add(20n, 4n)).toMatch(/zk 20 was paired with zgate 3/);
    expect(m.add(5n, 0n)).toBeUndefined();
    expect(m.add(40n, 8n)).toMatch(/order/);
    expect(m.size).toBe(5);
  });

  test('random monotone maps always pass, a swapped pair always fails', () => {
    const rnd = prng(42);
    for (let round = 0; round < 50; round++) {
      const a: bigint[] = [];
      const b: bigint[] = [];
      let x = 0n;
      let y = 100n;
      for (let i = 0; i < 30; i++) {
        x += BigInt(1 + Math.floor(rnd() * 3));
        y += BigInt(1 + Math.floor(rnd() * 2));
        a.push(x);
        b.push(y);
      }
      const order = a.map((_, i) => i).sort(() => rnd() - 0.5);
      const m = new OrderMap();
      for (const i of order) expect(m.add(a[i]!, b[i]!)).toBeUndefined();
      const m2 = new OrderMap();
      const [i, j] = [order[0]!, order[1]!];
      const problems = order.map((k) => m2.add(a[k]!, k === i ? b[j]! : k === j ? b[i]! : b[k]!)).filter((e) => e !== undefined);
      expect(problems.length).toBeGreaterThan(0);
    }
  });
});

describe('PairMap (session ids)', () => {
  test('one-to-one', () => {
    const m = new PairMap();
    expect(m.add(7n, 70n)).toBeUndefined();
    expect(m.add(7n, 70n)).toBeUndefined();
    expect(m.add(7n, 71n)).toMatch(/zk 7/);
    expect(m.add(8n, 70n)).toMatch(/zgate 70/);
  });
});

describe('TimeBook (times consistent with zxids on one side)', () => {
  const now = Date.now();
  const stat = (czxid: bigint, ctime: number, mzxid = czxid, mtime = ctime): NStat => ({
    czxid,
    mzxid,
    pzxid: czxid,
    ctime,
    mtime,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
    dataLength: 0,
    numChildren: 0,
  });

  test('accepts consistent stats', () => {
    const t = new TimeBook('x', now - 1000);
    expect(t.check(stat(1n, now), 'a')).toEqual([]);
    expect(t.check(stat(2n, now, 3n, now + 5), 'b')).toEqual([]);
    expect(t.check(stat(1n, now, 4n, now + 5), 'a')).toEqual([]); // same millisecond, later zxid
  });

  test('rejects two times for one zxid, time going backwards, mtime != ctime at creation', () => {
    const t = new TimeBook('x', now - 1000);
    t.check(stat(5n, now + 10), 'a');
    expect(t.check(stat(5n, now + 11), 'b').join()).toMatch(/two times/);
    expect(t.check(stat(6n, now + 9), 'c').join()).toMatch(/earlier than/);
    expect(t.check(stat(7n, now + 20, 7n, now + 21), 'd').join()).toMatch(/mzxid == czxid but mtime/);
    expect(t.check(stat(8n, 12345), 'e').join()).toMatch(/not an epoch-ms time/);
  });
});

describe('znodeUrl', () => {
  test('percent-encodes each segment and keeps empty ones', () => {
    expect(znodeUrl('/')).toBe('/v1/znodes');
    expect(znodeUrl('/a/b c')).toBe('/v1/znodes/a/b%20c');
    expect(znodeUrl('/q/')).toBe('/v1/znodes/q/');
    expect(znodeUrl('/a//b')).toBe('/v1/znodes/a//b');
    expect(znodeUrl('/x\u0001/%')).toBe('/v1/znodes/x%01/%25');
  });
});
