/**
 * The watch core without sockets: the history ring's range and bounds, the hub's handling of
 * a jump in the applied log (a snapshot installed), a subscriber that throws, and the cost of
 * dispatch with many watchers elsewhere in the tree (printed).
 */
import type { Stat, TreeEvent, Zxid } from '../../src/core/types.js';
import { DataTree } from '../../src/tree/datatree.js';
import { EventHistory, Subscriber, WatchHub, type Delivery, type EventRecord, type Watch, type WatchSource } from '../../src/watch/index.js';

class FakeSource implements WatchSource {
  appliedZxid = 0;
  tree = new DataTree();
  private listeners: ((zxid: Zxid, events: TreeEvent[]) => void)[] = [];
  onApply(l: (zxid: Zxid, events: TreeEvent[]) => void): void {
    this.listeners.push(l);
  }
  apply(events: TreeEvent[], zxid = this.appliedZxid + 1): void {
    this.appliedZxid = zxid;
    for (const l of this.listeners) l(zxid, events);
  }
}

class Recorder extends Subscriber {
  got: string[] = [];
  compactions: string[] = [];
  beats: Zxid[] = [];
  throwing = false;
  override deliver(d: Delivery, watches: readonly Watch[], events: readonly number[]): void {
    if (this.throwing) throw new Error('subscriber bug');
    for (let k = 0; k < watches.length; k++) this.got.push(`${watches[k]!.id} ${d.events[events[k]!]!.type} ${d.events[events[k]!]!.path} @${d.zxid}`);
  }
  override heartbeat(zxid: Zxid): void {
    this.beats.push(zxid);
  }
  override compacted(w: Watch, z: Zxid): void {
    this.compactions.push(`${w.id}@${z}`);
  }
}

const rec = (type: EventRecord['type'], path: string): EventRecord => ({ type, path, node: undefined });
const ev = (type: TreeEvent['type'], path: string): TreeEvent => ({ type, path });

describe('EventHistory', () => {
  test('covers (base, last]: zxids without events move last only; dropping an entry moves base', () => {
    const h = new EventHistory(10, { maxEntries: 2, maxBytes: 1 << 20 });
    expect([h.base, h.last]).toEqual([10, 10]);
    h.record(11, []);
    h.record(12, [rec('NodeCreated', '/a')]);
    h.record(13, []);
    expect([h.base, h.last, h.entries]).toEqual([10, 13, 1]);
    h.record(14, [rec('NodeDataChanged', '/a')]);
    h.record(15, [rec('NodeDeleted', '/a')]);
    expect([h.base, h.last, h.entries]).toEqual([12, 15, 2]);
    expect([...h.since(12)].map((e) => e.zxid)).toEqual([14, 15]);
    expect([...h.since(14)].map((e) => e.zxid)).toEqual([15]);
    expect([...h.since(15)]).toEqual([]);
    expect(() => h.record(17, [])).toThrow(/zxid 17 after 15/);
  });

  test('bounded by bytes; the newest entry stays whatever its size', () => {
    const big = (n: number): EventRecord => ({ type: 'NodeDataChanged', path: '/b', node: { data: new Uint8Array(n), stat: {} as Stat } });
    const h = new EventHistory(0, { maxEntries: 1000, maxBytes: 10_000 });
    for (let z = 1; z <= 10; z++) h.record(z, [big(3000)]);
    expect(h.bytes).toBeLessThanOrEqual(10_000);
    expect(h.entries).toBe(3);
    expect(h.base).toBe(7);
    h.record(11, [big(50_000)]);
    expect([h.entries, h.base]).toEqual([1, 10]);
  });

  test('many drops keep the ring compact and ordered', () => {
    const h = new EventHistory(0, { maxEntries: 100, maxBytes: 1 << 30 });
    for (let z = 1; z <= 5000; z++) h.record(z, [rec('NodeDataChanged', '/x')]);
    expect(h.base).toBe(4900);
    expect([...h.since(4990)].map((e) => e.zxid)).toEqual(Array.from({ length: 10 }, (_, i) => 4991 + i));
  });
});

describe('WatchHub', () => {
  test('a jump in the applied log (a snapshot installed) compacts every live watch and the history', () => {
    const src = new FakeSource();
    const hub = new WatchHub(src, { maxEntries: 100, maxBytes: 1 << 20, heartbeatMs: 0 });
    const sub = new Recorder();
    hub.attach(sub);
    hub.watch(sub, { path: '/a', kind: 'persistent', withData: false }, () => undefined);
    hub.watch(sub, { path: '/', kind: 'persistent_recursive', withData: false }, () => undefined);
    src.apply([ev('NodeCreated', '/a'), ev('NodeChildrenChanged', '/')]);
    expect(sub.got).toEqual(['1 NodeCreated /a @1', '2 NodeCreated /a @1']);
    src.appliedZxid = 50; // restored from a snapshot: no onApply for 2..50
    src.apply([ev('NodeDataChanged', '/a')]);
    expect(sub.compactions).toEqual(['1@50', '2@50']);
    expect(hub.registry.size).toBe(0);
    expect(sub.got).toHaveLength(2);
    expect(hub.compactZxid).toBe(50);
    // A jump noticed at registration (no apply since) compacts too, before the new watch.
    src.appliedZxid = 60;
    const w = hub.watch(sub, { path: '/a', kind: 'exists', withData: false }, () => undefined);
    expect(w.zxid).toBe(60);
    expect(hub.compactZxid).toBe(60);
    expect(() => hub.watch(sub, { path: '/a', kind: 'persistent', withData: false, fromZxid: 55 }, () => undefined)).toThrow(/no longer retained/);
    hub.close();
  });

  test('a subscriber that throws is reported, never breaks the apply, and others still get the event', () => {
    const src = new FakeSource();
    const errors: unknown[] = [];
    const hub = new WatchHub(src, { maxEntries: 100, maxBytes: 1 << 20, heartbeatMs: 0, onError: (e) => errors.push(e) });
    const bad = new Recorder();
    const good = new Recorder();
    bad.throwing = true;
    for (const s of [bad, good]) {
      hub.attach(s);
      hub.watch(s, { path: '/a', kind: 'exists', withData: false }, () => undefined);
    }
    expect(() => src.apply([ev('NodeCreated', '/a')])).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(good.got).toEqual(['1 NodeCreated /a @1']);
    hub.close();
  });

  test('heartbeats reach every subscriber with the applied zxid', async () => {
    const src = new FakeSource();
    const hub = new WatchHub(src, { maxEntries: 10, maxBytes: 1 << 20, heartbeatMs: 20 });
    const sub = new Recorder();
    hub.attach(sub);
    src.apply([]);
    src.apply([]);
    await new Promise((r) => setTimeout(r, 70));
    expect(sub.beats.length).toBeGreaterThanOrEqual(2);
    expect(sub.beats.every((z) => z === 2)).toBe(true);
    hub.close();
  });

  test('dispatch cost does not grow with watchers elsewhere (printed)', () => {
    const src = new FakeSource();
    const hub = new WatchHub(src, { maxEntries: 10, maxBytes: 1 << 20, heartbeatMs: 0 });
    const sub = new Recorder();
    hub.attach(sub);
    const time = (): number => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 20_000; i++) src.apply([ev('NodeDataChanged', '/x/y/z/leaf'), ev('NodeChildrenChanged', '/x/y/z')]);
      return Number(process.hrtime.bigint() - t) / 20_000;
    };
    hub.watch(sub, { path: '/x', kind: 'persistent_recursive', withData: false }, () => undefined);
    const few = time();
    for (let i = 0; i < 50_000; i++) hub.watch(sub, { path: `/other/n${i}`, kind: i % 2 ? 'persistent' : 'persistent_recursive', withData: false }, () => undefined);
    const many = time();
    console.log(`dispatch of a 2-event zxid: ${few.toFixed(0)} ns with 1 watch, ${many.toFixed(0)} ns with 50,001 watches elsewhere`);
    expect(many).toBeLessThan(few * 5 + 20_000);
    hub.close();
  });
});
