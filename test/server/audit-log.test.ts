/**
 * The audit log (api.md "Audit log") written to real files: exact fields, nothing secret,
 * no line broken by a client's input, the per-client bound on refusals with its summary,
 * the bounded map of clients, the bounded queue with its count and summary, close() flushing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../../src/auth/digest.js';
import { mintToken } from '../../src/auth/token-secret.js';
import type { AuditEvent, AuditLog } from '../../src/coordination/audit.js';
import { MAX_FIELD, openAuditLog, type AuditLogOptions } from '../../src/server/audit-log.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';

/** Wall and monotonic time the test moves, with timers that fire as it does. */
class FakeClock implements Clock {
  now = Date.UTC(2026, 11, 7, 12, 0, 0);
  mono = 1_000;
  private timers: { at: number; every?: number; fn: () => void; live: boolean }[] = [];
  nowMs(): number {
    return this.now;
  }
  monoMs(): number {
    return this.mono;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { at: this.mono + ms, fn, live: true };
    this.timers.push(t);
    return { cancel: () => void (t.live = false) };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = { at: this.mono + ms, every: ms, fn, live: true };
    this.timers.push(t);
    return { cancel: () => void (t.live = false) };
  }
  yieldTurn(): Promise<void> {
    return new Promise((r) => setImmediate(r));
  }
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.step(due.at);
      if (due.every !== undefined) due.at += due.every;
      else due.live = false;
      due.fn();
    }
    this.step(end);
  }
  private step(to: number): void {
    this.now += to - this.mono;
    this.mono = to;
  }
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
}

const BOB = { scheme: 'digest', id: digestOf('bob', 'pass') };
const IP = { scheme: 'ip', id: '10.0.0.5' };

function event(over: Partial<AuditEvent> = {}): AuditEvent {
  return { zxid: 42, session: 7n, ids: [IP, BOB], token: null, ip: '10.0.0.5', op: 'create', path: '/app/a', result: 'success', code: null, ...over };
}

let dir: string;
let clock: FakeClock;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zgate-audit-'));
  file = join(dir, 'audit.log');
  clock = new FakeClock();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function open(over: Partial<AuditLogOptions> = {}): Promise<AuditLog> {
  return openAuditLog({ dest: file, member: 3, clock, ...over });
}

function lines(): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('records', () => {
  it('writes exactly the documented fields', async () => {
    const log = await open();
    log.record(event());
    log.record(event({ zxid: null, session: null, ids: [IP], ip: '10.0.0.6', op: 'delete', path: null, result: 'denied', code: 'NoAuth' }));
    await log.close();
    expect(lines()).toEqual([
      { ts: '2026-12-07T12:00:00.000Z', member: 3, zxid: 42, session: '7', user: 'bob', token: null, ip: '10.0.0.5', op: 'create', path: '/app/a', result: 'success', code: null },
      { ts: '2026-12-07T12:00:00.000Z', member: 3, zxid: null, session: null, user: null, token: null, ip: '10.0.0.6', op: 'delete', path: null, result: 'denied', code: 'NoAuth' },
    ]);
    expect(Object.keys(lines()[0]!)).toEqual(['ts', 'member', 'zxid', 'session', 'user', 'token', 'ip', 'op', 'path', 'result', 'code']);
  });

  it('writes a 64-bit session id exactly, in decimal', async () => {
    const log = await open();
    log.record(event({ session: (1n << 63n) - 1n }));
    await log.close();
    expect(lines()[0]!.session).toBe('9223372036854775807');
  });

  it('shows a digest user, never the hash; else the x509 DN', async () => {
    const log = await open();
    log.record(event({ ids: [IP, { scheme: 'x509', id: 'CN=alice,O=acme' }, BOB] }));
    log.record(event({ ids: [IP, { scheme: 'x509', id: 'CN=alice,O=acme' }] }));
    log.record(event({ ids: [IP, { scheme: 'sasl', id: 'svc@EXAMPLE.COM' }] }));
    await log.close();
    expect(lines().map((l) => l.user)).toEqual(['bob', 'CN=alice,O=acme', 'svc@EXAMPLE.COM']);
    expect(readFileSync(file, 'utf8')).not.toContain(BOB.id.split(':')[1]);
  });

  it('shows a token as its accessor, even when handed the whole token', async () => {
    const t = mintToken();
    const log = await open();
    log.record(event({ token: t.accessor }));
    log.record(event({ token: t.token }));
    log.record(event({ token: `${t.secret}` }));
    await log.close();
    expect(lines().map((l) => l.token)).toEqual([t.accessor, t.accessor, null]);
    expect(readFileSync(file, 'utf8')).not.toContain(t.secret);
  });

  it('no input breaks a line', async () => {
    const nasty = '/a\nb\r\nc\u2028d\u2029e\u0085f\u0000g"h\\i{"op":"forged"}';
    const log = await open();
    log.record(event({ path: nasty, op: 'set\n{"forged":true}', ip: '1.2.3.4\n' }));
    log.record(event());
    await log.close();
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect(text).not.toMatch(/[\r\u2028\u2029\u0085]/);
    const [first] = lines();
    expect(first!.path).toBe(nasty);
    expect(first!.op).toBe('set\n{"forged":true}');
  });

  it('caps every string, never splitting a surrogate pair', async () => {
    const log = await open();
    log.record(event({ path: '/' + 'a'.repeat(5000), op: 'o'.repeat(2000) }));
    log.record(event({ path: '/' + 'a'.repeat(MAX_FIELD - 2) + '😀' + 'b' }));
    await log.close();
    const [a, b] = lines();
    expect((a!.path as string).length).toBe(MAX_FIELD);
    expect((a!.op as string).length).toBe(MAX_FIELD);
    expect(b!.path).toBe('/' + 'a'.repeat(MAX_FIELD - 2));
  });

  it('appends to an existing file', async () => {
    let log = await open();
    log.record(event({ zxid: 1 }));
    await log.close();
    log = await open();
    log.record(event({ zxid: 2 }));
    await log.close();
    expect(lines().map((l) => l.zxid)).toEqual([1, 2]);
  });

  it('refuses to open a file it cannot create', async () => {
    await expect(open({ dest: join(dir, 'missing', 'audit.log') })).rejects.toThrow(/ENOENT/);
  });

  it('close flushes everything queued and stops its timers', async () => {
    const log = await open();
    for (let i = 0; i < 10_000; i++) log.record(event({ zxid: i }));
    await log.close();
    const all = lines();
    expect(all).toHaveLength(10_000);
    expect(all[9_999]!.zxid).toBe(9_999);
    expect(log.dropped).toBe(0);
    expect(clock.pending).toBe(0);
    log.record(event());
    await log.close();
    expect(lines()).toHaveLength(10_000);
  });
});

describe('refusals per client per second', () => {
  const denied = (ip: string, result: AuditEvent['result'] = 'denied'): AuditEvent =>
    event({ ip, ids: [{ scheme: 'ip', id: ip }], zxid: null, result, code: result === 'denied' ? 'NoAuth' : 'AuthFailed' });

  it('writes 10 a second per address and one summary when the window rolls', async () => {
    const log = await open();
    for (let i = 0; i < 25; i++) log.record(denied('10.0.0.1'));
    for (let i = 0; i < 3; i++) log.record(denied('10.0.0.2', 'unauthenticated'));
    for (let i = 0; i < 30; i++) log.record(event({ ip: '10.0.0.1' })); // successes are never limited
    clock.advance(1000);
    log.record(denied('10.0.0.1'));
    await log.close();
    const all = lines();
    expect(all.filter((l) => l.ip === '10.0.0.1' && l.result === 'denied')).toHaveLength(11);
    expect(all.filter((l) => l.ip === '10.0.0.2')).toHaveLength(3);
    expect(all.filter((l) => l.result === 'success')).toHaveLength(30);
    const summaries = all.filter((l) => l.result === 'suppressed');
    expect(summaries).toEqual([{ ts: expect.any(String), member: 3, zxid: null, session: null, user: null, token: null, ip: '10.0.0.1', op: 'audit', path: null, result: 'suppressed', code: null, count: 15 }]);
    // The summary closes the first window, before the next window's record.
    const i = all.findIndex((l) => l.result === 'suppressed');
    expect(all.slice(i + 1).filter((l) => l.result === 'denied')).toHaveLength(1);
  });

  it('a window is one second from its first refusal', async () => {
    const log = await open({ refusalsPerSecond: 2 });
    log.record(denied('a'));
    clock.advance(600);
    log.record(denied('a'));
    log.record(denied('a')); // third within the window: suppressed
    clock.advance(399);
    log.record(denied('a')); // still the first window (999 ms)
    clock.advance(1);
    await log.close();
    const all = lines();
    expect(all.filter((l) => l.result === 'denied')).toHaveLength(2);
    expect(all.find((l) => l.result === 'suppressed')!.count).toBe(2);
  });

  it('a client that goes quiet still gets its summary, from the sweep', async () => {
    const log = await open();
    for (let i = 0; i < 12; i++) log.record(denied('10.0.0.9', 'throttled'));
    clock.advance(2000);
    await new Promise((r) => setTimeout(r, 50));
    const before = lines();
    expect(before.filter((l) => l.result === 'suppressed')).toEqual([expect.objectContaining({ ip: '10.0.0.9', count: 2 })]);
    await log.close();
    expect(lines()).toHaveLength(11);
  });

  it('close writes the summaries still owed', async () => {
    const log = await open();
    for (let i = 0; i < 14; i++) log.record(denied('b'));
    await log.close();
    expect(lines().filter((l) => l.result === 'suppressed')).toEqual([expect.objectContaining({ ip: 'b', count: 4 })]);
  });

  it('bounds the clients it remembers; a forgotten one is summarised first', async () => {
    const log = await open({ maxClients: 2, refusalsPerSecond: 1 });
    log.record(denied('a'));
    log.record(denied('a'));
    log.record(denied('b'));
    log.record(denied('c')); // forgets a, writing its summary
    log.record(denied('a')); // a starts afresh (and forgets b, who owes nothing)
    await log.close();
    const all = lines().map((l) => `${String(l.ip)}:${String(l.result)}${l.count === undefined ? '' : `=${String(l.count)}`}`);
    expect(all).toEqual(['a:denied', 'b:denied', 'a:suppressed=1', 'c:denied', 'a:denied']);
  });
});

describe('the bounded queue', () => {
  it('drops past its bytes, counts, and says so when there is room again', async () => {
    const log = await open({ maxQueuedBytes: 4096 });
    const n = 1000;
    for (let i = 0; i < n; i++) log.record(event({ zxid: i }));
    const dropped = log.dropped;
    expect(dropped).toBeGreaterThan(900);
    expect(dropped).toBeLessThan(n);
    // Let the writes finish; the retry timer reports the drops without another record.
    await new Promise((r) => setTimeout(r, 100));
    clock.advance(100);
    await log.close();
    const all = lines();
    const kept = all.filter((l) => l.op === 'create');
    expect(kept).toHaveLength(n - dropped);
    expect(kept.map((l) => l.zxid)).toEqual(Array.from({ length: n - dropped }, (_, i) => i));
    expect(all.filter((l) => l.result === 'dropped')).toEqual([expect.objectContaining({ op: 'audit', ip: null, count: dropped })]);
    expect(log.dropped).toBe(dropped);
  });

  it('the summary comes before the next record when that one comes first', async () => {
    const log = await open({ maxQueuedBytes: 2048 });
    for (let i = 0; i < 100; i++) log.record(event({ zxid: i }));
    const dropped = log.dropped;
    expect(dropped).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    log.record(event({ zxid: 1000 }));
    await log.close();
    const all = lines();
    expect(all.slice(-2)).toEqual([expect.objectContaining({ result: 'dropped', count: dropped }), expect.objectContaining({ zxid: 1000 })]);
  });
});
