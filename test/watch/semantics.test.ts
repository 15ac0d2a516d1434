/**
 * Watch semantics over a real WebSocket: ZooKeeper's trigger table (zookeeper-semantics.md
 * 2.8) row by row, one-shot and persistent lifetimes, atomic frames, withData as of each
 * event, the REST operations on the socket, and bad frames that never break the socket.
 */
import WebSocket from 'ws';
import { metricsText, openStream, send } from '../support/http.js';
import { brief, Client, serve, utf8, type Frame, type Served } from './helpers.js';

let s: Served;
let c: Client;

beforeAll(async () => {
  s = await serve({ config: { heartbeatMs: 0, maxDataBytes: 4096 } });
});
afterAll(async () => s.close());
beforeEach(async () => {
  c = await Client.connect(s.wsUrl);
});
afterEach(async () => {
  await c.close();
});

let n = 0;
/** A fresh subtree per test, so tests don't see each other's events. */
function root(): string {
  return `/t${++n}`;
}
const create = (path: string, data = '') => s.write({ op: 'create', path, data: utf8(data), mode: 'persistent' });
const set = (path: string, data: string) => s.write({ op: 'set', path, data: utf8(data), version: -1 });
const del = (path: string) => s.write({ op: 'delete', path, version: -1 });

/** Events a watch received, as "Type path". */
async function seen(watchId: unknown): Promise<string[]> {
  await c.sync();
  return c.events(String(watchId)).map((e) => `${String(e.event)} ${String(e.path)}`);
}

describe('registration', () => {
  test('watching carries the state read at zxid Z, and every later event has zxid > Z', async () => {
    const r = root();
    await create(r, 'hello');
    await create(`${r}/b`);
    await create(`${r}/a`);
    const w = await c.watch({ path: r, kind: 'children' });
    expect(w.zxid).toBe(String(s.member.appliedZxid));
    const state = w.state as { data: string; encoding: string; stat: { version: number; numChildren: number }; children: string[] };
    expect(state.data).toBe('hello');
    expect(state.encoding).toBe('utf8');
    expect(state.stat.numChildren).toBe(2);
    expect(state.children).toEqual(['a', 'b']);
    const d = await c.watch({ path: r, kind: 'data' });
    expect((d.state as { children?: unknown }).children).toBeUndefined();
    await create(`${r}/c`);
    await set(r, 'x');
    await c.sync();
    for (const e of c.events()) expect(Number(e.zxid)).toBeGreaterThan(Number(w.zxid));
  });

  test('exists on a missing znode: state null; data and children on a missing znode: NoNode (as getData/getChildren)', async () => {
    const r = root();
    const w = await c.watch({ path: r, kind: 'exists' });
    expect(w.state).toBeNull();
    for (const kind of ['data', 'children']) {
      const e = await c.request({ op: 'watch', path: r, kind });
      expect(e.type).toBe('error');
      expect((e.error as Frame).code).toBe('NoNode');
      expect((e.error as Frame).path).toBe(r);
    }
    const p = await c.watch({ path: r, kind: 'persistent' });
    expect(p.state).toBeNull();
    expect(p.kind).toBe('persistent');
  });

  test('kind defaults to persistent', async () => {
    const r = root();
    const w = await c.watch({ path: r });
    expect(w.kind).toBe('persistent');
  });
});

describe('one-shot watches', () => {
  test('a data watch fires once, then is gone (unwatch answers NoWatcher)', async () => {
    const r = root();
    await create(r);
    const w = await c.watch({ path: r, kind: 'data' });
    await set(r, '1');
    await set(r, '2');
    await del(r);
    expect(await seen(w.watchId)).toEqual([`NodeDataChanged ${r}`]);
    const u = await c.request({ op: 'unwatch', watchId: w.watchId });
    expect(u.type).toBe('error');
    expect((u.error as Frame).code).toBe('NoWatcher');
    expect(s.hub.registry.size).toBe(0);
  });

  test('an exists watch on a missing znode fires NodeCreated', async () => {
    const r = root();
    const w = await c.watch({ path: r, kind: 'exists' });
    const zxid = await create(r, 'v');
    await set(r, 'w');
    await c.sync();
    const evs = c.events(String(w.watchId));
    expect(evs.map(brief)).toEqual([`NodeCreated ${r} @${zxid}`]);
  });

  test('an unwatched watch never fires', async () => {
    const r = root();
    await create(r);
    const w = await c.watch({ path: r, kind: 'data' });
    const p = await c.watch({ path: r, kind: 'persistent' });
    expect(await c.request({ op: 'unwatch', watchId: w.watchId })).toMatchObject({ type: 'unwatched', watchId: w.watchId });
    expect(await c.request({ op: 'unwatch', watchId: p.watchId })).toMatchObject({ type: 'unwatched' });
    await set(r, '1');
    await create(`${r}/x`);
    await del(`${r}/x`);
    expect(await seen(w.watchId)).toEqual([]);
    expect(await seen(p.watchId)).toEqual([]);
    expect(s.hub.registry.size).toBe(0);
  });

  test('within one multi a one-shot watch fires on its first event only', async () => {
    const r = root();
    await create(r);
    const w = await c.watch({ path: r, kind: 'data' });
    const ch = await c.watch({ path: r, kind: 'children' });
    await s.write({
      op: 'multi',
      ops: [
        { op: 'set', path: r, data: utf8('1'), version: -1 },
        { op: 'set', path: r, data: utf8('2'), version: -1 },
        { op: 'create', path: `${r}/a`, data: utf8(''), mode: 'persistent' },
        { op: 'create', path: `${r}/b`, data: utf8(''), mode: 'persistent' },
      ],
    });
    expect(await seen(w.watchId)).toEqual([`NodeDataChanged ${r}`]);
    expect(await seen(ch.watchId)).toEqual([`NodeChildrenChanged ${r}`]);
  });
});

describe("ZooKeeper's trigger table (2.8), row by row", () => {
  /** One watch of every kind on P, on parent(P) and recursive on the grandparent. */
  async function watchAll(parent: string, p: string, pExists: boolean): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    const add = async (name: string, path: string, kind: string) => (ids[name] = String((await c.watch({ path, kind })).watchId));
    if (pExists) await add('data(P)', p, 'data');
    await add('exists(P)', p, 'exists');
    if (pExists) await add('children(P)', p, 'children');
    await add('persistent(P)', p, 'persistent');
    await add('recursive(P)', p, 'persistent_recursive');
    await add('data(parent)', parent, 'data');
    await add('children(parent)', parent, 'children');
    await add('persistent(parent)', parent, 'persistent');
    await add('recursive(parent)', parent, 'persistent_recursive');
    await add('recursive(/)', '/', 'persistent_recursive');
    return ids;
  }
  async function fired(ids: Record<string, string>): Promise<Record<string, string[]>> {
    await c.sync();
    const out: Record<string, string[]> = {};
    for (const [name, id] of Object.entries(ids)) {
      const evs = c.events(id).map((e) => `${String(e.event)} ${String(e.path)}`);
      if (evs.length > 0) out[name] = evs;
    }
    return out;
  }

  test('create P: NodeCreated to data watchers of P (exists, persistent, recursive at or above P); NodeChildrenChanged to child watchers of parent(P)', async () => {
    const r = root();
    await create(r);
    const p = `${r}/p`;
    const ids = await watchAll(r, p, false);
    await create(p);
    expect(await fired(ids)).toEqual({
      'exists(P)': [`NodeCreated ${p}`],
      'persistent(P)': [`NodeCreated ${p}`],
      'recursive(P)': [`NodeCreated ${p}`],
      'children(parent)': [`NodeChildrenChanged ${r}`],
      'persistent(parent)': [`NodeChildrenChanged ${r}`],
      'recursive(parent)': [`NodeCreated ${p}`],
      'recursive(/)': [`NodeCreated ${p}`],
    });
  });

  test('delete P: NodeDeleted to data and child watchers of P (once for a persistent watch); NodeChildrenChanged to child watchers of parent(P)', async () => {
    const r = root();
    await create(r);
    const p = `${r}/p`;
    await create(p);
    const ids = await watchAll(r, p, true);
    await del(p);
    expect(await fired(ids)).toEqual({
      'data(P)': [`NodeDeleted ${p}`],
      'exists(P)': [`NodeDeleted ${p}`],
      'children(P)': [`NodeDeleted ${p}`],
      'persistent(P)': [`NodeDeleted ${p}`],
      'recursive(P)': [`NodeDeleted ${p}`],
      'children(parent)': [`NodeChildrenChanged ${r}`],
      'persistent(parent)': [`NodeChildrenChanged ${r}`],
      'recursive(parent)': [`NodeDeleted ${p}`],
      'recursive(/)': [`NodeDeleted ${p}`],
    });
  });

  test('setData P: NodeDataChanged to data watchers of P, even with the same bytes', async () => {
    const r = root();
    await create(r);
    const p = `${r}/p`;
    await create(p, 'same');
    const ids = await watchAll(r, p, true);
    await set(p, 'same');
    expect(await fired(ids)).toEqual({
      'data(P)': [`NodeDataChanged ${p}`],
      'exists(P)': [`NodeDataChanged ${p}`],
      'persistent(P)': [`NodeDataChanged ${p}`],
      'recursive(P)': [`NodeDataChanged ${p}`],
      'recursive(parent)': [`NodeDataChanged ${p}`],
      'recursive(/)': [`NodeDataChanged ${p}`],
    });
  });

  test('failed ops and checks fire nothing (but take a zxid)', async () => {
    const r = root();
    await create(r);
    const p = `${r}/p`;
    await create(p);
    const ids = await watchAll(r, p, true);
    const before = s.member.appliedZxid;
    await s.write({ op: 'set', path: p, data: utf8('x'), version: 7 });
    await s.write({ op: 'create', path: p, data: utf8(''), mode: 'persistent' });
    await s.write({ op: 'multi', ops: [{ op: 'check', path: p, version: 0 }] });
    await s.write({ op: 'multi', ops: [{ op: 'set', path: p, data: utf8('x'), version: -1 }, { op: 'delete', path: `${r}/missing`, version: -1 }] });
    expect(s.member.appliedZxid).toBe(before + 4);
    expect(await fired(ids)).toEqual({});
  });

  test('persistent watches stay; a persistent watch sees NodeChildrenChanged of P, a recursive one never does', async () => {
    const r = root();
    await create(r);
    const pw = String((await c.watch({ path: r, kind: 'persistent' })).watchId);
    const rw = String((await c.watch({ path: r, kind: 'persistent_recursive' })).watchId);
    await create(`${r}/a`);
    await create(`${r}/a/b`);
    await set(`${r}/a/b`, 'x');
    await set(r, 'y');
    await del(`${r}/a/b`);
    expect(await seen(pw)).toEqual([`NodeChildrenChanged ${r}`, `NodeDataChanged ${r}`]);
    expect(await seen(rw)).toEqual([`NodeCreated ${r}/a`, `NodeCreated ${r}/a/b`, `NodeDataChanged ${r}/a/b`, `NodeDataChanged ${r}`, `NodeDeleted ${r}/a/b`]);
    expect(s.hub.registry.size).toBe(2);
  });

  test('a recursive watch sees nothing outside its subtree (a sibling with a common prefix)', async () => {
    const r = root();
    await create(r);
    const rw = String((await c.watch({ path: `${r}/a`, kind: 'persistent_recursive' })).watchId);
    await create(`${r}/ab`);
    await create(`${r}/a`);
    await create(`${r}/a/x`);
    expect(await seen(rw)).toEqual([`NodeCreated ${r}/a`, `NodeCreated ${r}/a/x`]);
  });
});

describe('frames', () => {
  test('the events of one multi for one socket arrive in one events frame sharing the zxid', async () => {
    const r = root();
    await create(r);
    const w = await c.watch({ path: r, kind: 'persistent_recursive' });
    const pw = await c.watch({ path: r, kind: 'persistent' });
    const before = c.eventFrames().length;
    const zxid = await s.write({
      op: 'multi',
      ops: [
        { op: 'create', path: `${r}/a`, data: utf8('1'), mode: 'persistent' },
        { op: 'set', path: r, data: utf8('2'), version: -1 },
        { op: 'delete', path: `${r}/a`, version: -1 },
      ],
    });
    await c.sync();
    const frames = c.eventFrames().slice(before);
    expect(frames).toHaveLength(1);
    const f = frames[0]!;
    expect(f.type).toBe('events');
    expect(f.zxid).toBe(String(zxid));
    const evs = f.events as Frame[];
    expect(evs.map((e) => `${String(e.watchId)} ${String(e.event)} ${String(e.path)}`)).toEqual([
      `${String(w.watchId)} NodeCreated ${r}/a`,
      `${String(pw.watchId)} NodeChildrenChanged ${r}`,
      `${String(pw.watchId)} NodeDataChanged ${r}`,
      `${String(w.watchId)} NodeDataChanged ${r}`,
      `${String(w.watchId)} NodeDeleted ${r}/a`,
      `${String(pw.watchId)} NodeChildrenChanged ${r}`,
    ]);
    for (const e of evs) expect(e).toMatchObject({ type: 'event', zxid: String(zxid) });
  });

  test('a recursive delete reaches a recursive watcher as one frame, children before parents', async () => {
    const r = root();
    await create(r);
    await create(`${r}/a`);
    await create(`${r}/a/x`);
    await create(`${r}/a/y`);
    const w = await c.watch({ path: r, kind: 'persistent_recursive' });
    const before = c.eventFrames().length;
    const zxid = await s.write({ op: 'deleteTree', path: `${r}/a`, version: -1, maxNodes: 100 });
    await c.sync();
    const frames = c.eventFrames().slice(before);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.zxid).toBe(String(zxid));
    expect((frames[0]!.events as Frame[]).map((e) => `${String(e.event)} ${String(e.path)}`)).toEqual([
      `NodeDeleted ${r}/a/x`,
      `NodeDeleted ${r}/a/y`,
      `NodeDeleted ${r}/a`,
    ]);
    expect(c.events(String(w.watchId))).toHaveLength(3);
  });

  test('one event is a single event frame', async () => {
    const r = root();
    await create(r);
    const w = await c.watch({ path: r, kind: 'data' });
    const zxid = await set(r, 'x');
    const f = await c.next((x) => x.type === 'event');
    expect(f).toEqual({ type: 'event', watchId: w.watchId, event: 'NodeDataChanged', path: r, zxid: String(zxid) });
  });

  test('withData: data, encoding and stat as of each event, none on NodeDeleted; binary data as base64', async () => {
    const r = root();
    await create(r, 'v0');
    const w = await c.watch({ path: r, kind: 'persistent', withData: true });
    const plain = await c.watch({ path: r, kind: 'persistent' });
    const z1 = await set(r, 'v1');
    const z2 = await s.write({ op: 'set', path: r, data: new Uint8Array([0xff, 0x00]), version: -1 });
    const z3 = await del(r);
    await c.sync();
    const evs = c.events(String(w.watchId));
    expect(evs.map((e) => [e.event, e.zxid, e.data, e.encoding, (e.stat as { version?: number } | undefined)?.version])).toEqual([
      ['NodeDataChanged', String(z1), 'v1', 'utf8', 1],
      ['NodeDataChanged', String(z2), '/wA=', 'base64', 2],
      ['NodeDeleted', String(z3), undefined, undefined, undefined],
    ]);
    expect(evs[0]!.stat).toMatchObject({ mzxid: String(z1), dataLength: 2 });
    for (const e of c.events(String(plain.watchId))) expect(e.data).toBeUndefined();
  });

  test('several sockets watching one path all get the event', async () => {
    const r = root();
    await create(r);
    const others = await Promise.all([1, 2, 3].map(() => Client.connect(s.wsUrl)));
    const ws = await Promise.all(others.map((o) => o.watch({ path: r, kind: 'data', withData: true })));
    const zxid = await set(r, 'all');
    for (let i = 0; i < others.length; i++) {
      const e = await others[i]!.next((f) => f.type === 'event');
      expect(e).toMatchObject({ watchId: ws[i]!.watchId, zxid: String(zxid), data: 'all' });
    }
    await Promise.all(others.map((o) => o.close()));
  });
});

describe('requests on the socket', () => {
  test('ping answers pong with the applied zxid', async () => {
    const p = await c.request({ op: 'ping' });
    expect(p).toEqual({ id: p.id, type: 'pong', zxid: String(s.member.appliedZxid) });
  });

  test('get, create, set, delete and txn answer the REST bodies', async () => {
    const r = root();
    const cr = await c.request({ op: 'create', path: r, data: 'aGk=', encoding: 'base64' });
    expect(cr).toMatchObject({ type: 'result', path: r, stat: { version: 0, dataLength: 2 } });
    expect(cr.zxid).toBe((cr.stat as Frame).czxid);
    const seq = await c.request({ op: 'create', path: `${r}/q-`, mode: 'persistent_sequential' });
    expect(seq).toMatchObject({ type: 'result', path: `${r}/q-0000000000` });
    const g = await c.request({ op: 'get', path: r, children: true });
    expect(g).toMatchObject({ type: 'result', path: r, data: 'hi', encoding: 'utf8', children: ['q-0000000000'], more: false });
    expect(await c.request({ op: 'get', path: r, encoding: 'base64' })).toMatchObject({ data: 'aGk=', encoding: 'base64' });
    const st = await c.request({ op: 'set', path: r, data: 'x', version: 0 });
    expect(st).toMatchObject({ type: 'result', path: r, stat: { version: 1 } });
    const bad = await c.request({ op: 'set', path: r, data: 'x', version: 0 });
    expect(bad).toMatchObject({ type: 'error', error: { code: 'BadVersion', path: r } });
    expect(bad.zxid).toBeDefined();
    const txn = await c.request({ op: 'txn', ops: [{ op: 'create', path: `${r}/t` }, { op: 'check', path: r, version: 1 }] });
    expect(txn).toMatchObject({ type: 'result', results: [{ op: 'create', path: `${r}/t` }, { op: 'check', path: r }] });
    const txnBad = await c.request({ op: 'txn', ops: [{ op: 'create', path: `${r}/u` }, { op: 'set', path: r, data: 'y', version: 9 }, { op: 'delete', path: `${r}/t` }] });
    expect(txnBad).toMatchObject({
      type: 'error',
      error: { code: 'BadVersion', opIndex: 1, path: r },
      results: [
        { op: 'create', code: 'Ok' },
        { op: 'set', code: 'BadVersion' },
        { op: 'delete', code: 'RuntimeInconsistency' },
      ],
    });
    expect(await c.request({ op: 'delete', path: r })).toMatchObject({ type: 'error', error: { code: 'NotEmpty' } });
    const d = await c.request({ op: 'delete', path: r, recursive: true });
    expect(d).toMatchObject({ type: 'result', path: r, deleted: 3 });
    expect(await c.request({ op: 'get', path: r })).toMatchObject({ type: 'error', error: { code: 'NoNode', path: r } });
  });

  test('a write made on the socket: its event frame comes before its result', async () => {
    const r = root();
    await create(r);
    await c.watch({ path: r, kind: 'data' });
    const res = await c.request({ op: 'set', path: r, data: 'z' });
    const iEvent = c.frames.findIndex((f) => f.type === 'event' && f.path === r);
    const iResult = c.frames.indexOf(res);
    expect(iEvent).toBeGreaterThanOrEqual(0);
    expect(iEvent).toBeLessThan(iResult);
  });

  test('input refused before the log, as over HTTP: bad path, too much data, ephemeral without a session, writes under /zookeeper', async () => {
    const before = s.member.appliedZxid;
    expect(await c.request({ op: 'create', path: 'no-slash' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'create', path: '/big', data: 'x'.repeat(5000) })).toMatchObject({ type: 'error', error: { code: 'PayloadTooLarge' } });
    expect(await c.request({ op: 'create', path: '/e', mode: 'ephemeral' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'create', path: '/zookeeper/x' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'txn', ops: [{ op: 'create', path: '/ok' }, { op: 'create', path: '/a//b' }] })).toMatchObject({ type: 'error', error: { code: 'BadArguments', opIndex: 1 } });
    expect(await c.request({ op: 'set', path: '/x', version: 'three' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(s.member.appliedZxid).toBe(before);
  });

  test('session binds a new session to the socket, which then owns ephemerals (test/session has the rest)', async () => {
    const bound = await c.request({ op: 'session', timeoutMs: 5000 });
    expect(bound).toMatchObject({ type: 'session', timeoutMs: 5000 });
    const r = root();
    const e = await c.request({ op: 'create', path: r, mode: 'ephemeral' });
    expect(e).toMatchObject({ type: 'result', path: r, stat: { ephemeralOwner: bound.sessionId } });
  });
});

describe('bad frames: an error frame, and the socket and its watches go on', () => {
  test('invalid JSON, not an object, missing id, unknown op, unknown field, bad kind, bad path, fromZxid ahead, oversized frame, binary frame', async () => {
    const r = root();
    await create(r);
    const w = await c.watch({ path: r, kind: 'persistent' });
    const errorsBefore = () => c.frames.filter((f) => f.type === 'error').length;
    const nextError = async (send: () => void): Promise<Frame> => {
      const k = errorsBefore();
      send();
      await c.next(() => c.frames.filter((f) => f.type === 'error').length > k);
      return c.frames.filter((f) => f.type === 'error')[k]!;
    };
    expect(await nextError(() => c.sendRaw('{nope'))).toMatchObject({ id: null, error: { code: 'BadArguments' } });
    expect(await nextError(() => c.sendRaw('[1,2]'))).toMatchObject({ id: null, error: { code: 'BadArguments' } });
    expect(await nextError(() => c.sendRaw('{"op":"ping"}'))).toMatchObject({ id: null, error: { code: 'BadArguments' } });
    expect(await nextError(() => c.sendRaw('{"id":{"x":1},"op":"ping"}'))).toMatchObject({ id: null, error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'frobnicate' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'watch', path: r, colour: 'red' })).toMatchObject({ type: 'error', error: { code: 'BadArguments', message: expect.stringContaining('colour') } });
    expect(await c.request({ op: 'watch', path: r, kind: 'sometimes' })).toMatchObject({ type: 'error', error: { code: 'BadArguments', message: expect.stringContaining('kind') } });
    expect(await c.request({ op: 'watch', path: '/a/../b' })).toMatchObject({ type: 'error', error: { code: 'BadArguments', path: '/a/../b' } });
    expect(await c.request({ op: 'watch', path: r, fromZxid: String(s.member.appliedZxid + 1000) })).toMatchObject({ type: 'error', error: { code: 'BadArguments', message: expect.stringContaining('ahead') } });
    expect(await c.request({ op: 'watch', path: r, fromZxid: 'soon' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await nextError(() => c.sendRaw(JSON.stringify({ id: 99, op: 'create', path: '/big', data: 'x'.repeat(80_000) })))).toMatchObject({ error: { code: 'PayloadTooLarge' } });
    expect(await nextError(() => c.ws.send(Buffer.from('{"id":1,"op":"ping"}'), { binary: true }))).toMatchObject({ error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'unwatch', watchId: 'nope' })).toMatchObject({ type: 'error', error: { code: 'NoWatcher' } });
    // Still open, and the watch still fires.
    await set(r, 'still');
    expect(await seen(w.watchId)).toEqual([`NodeDataChanged ${r}`]);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('HTTP face of /v1/ws', () => {
  test('a plain GET answers 426; an upgrade elsewhere 404; a foreign Origin 403; the page origin is fine', async () => {
    const res = await send<{ error: { code: string } }>(s.base, 'GET', '/v1/ws');
    expect(res.status).toBe(426);
    expect(res.body!.error.code).toBe('BadArguments');
    await expect(Client.connect(`ws://127.0.0.1:${s.port}/v1/elsewhere`)).rejects.toThrow(/404/);
    await expect(Client.connect(s.wsUrl, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const same = await Client.connect(s.wsUrl, { origin: s.base });
    await same.close();
  });

  test('with --cors-origins: a listed Origin may open a WebSocket, and an SSE answer carries the CORS header', async () => {
    const h = await serve({ config: { heartbeatMs: 0, corsOrigins: ['http://app.example'] } });
    try {
      const ok = await Client.connect(h.wsUrl, { origin: 'http://app.example' });
      await ok.close();
      await expect(Client.connect(h.wsUrl, { origin: 'http://other.example' })).rejects.toThrow(/403/);
      const res = await openStream(h.base, 'GET', '/v1/watch', { headers: { origin: 'http://app.example', accept: 'text/event-stream' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://app.example');
      expect(res.headers.get('zgate-zxid')).toBe(String(h.member.appliedZxid));
      res.close();
    } finally {
      await h.close();
    }
  });

  test('the example page is served as HTML', async () => {
    const res = await send(s.base, 'GET', '/examples/watch.html');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('/v1/ws');
  });

  test('metrics: open sockets, active watches, events sent', async () => {
    const r = root();
    await create(r);
    await c.watch({ path: r, kind: 'persistent' });
    await set(r, 'm');
    await c.sync();
    const text = await metricsText(s.base);
    expect(text).toMatch(/zgate_watch_connections\{transport="ws"\} [1-9]/);
    expect(text).toMatch(/zgate_watches [1-9]/);
    expect(text).toMatch(/zgate_watch_events_sent_total\{transport="ws"\} [1-9]/);
    expect(text).toMatch(/zgate_watch_slow_reader_closes_total\{transport="ws"\} 0/);
    expect(text).toMatch(/zgate_watch_history_entries [1-9]/);
  });

  test('a closed socket frees its watches', async () => {
    const r = root();
    const other = await Client.connect(s.wsUrl);
    const before = s.hub.registry.size;
    for (let i = 0; i < 5; i++) await other.watch({ path: `${r}/${i}`, kind: 'exists' });
    await other.watch({ path: r, kind: 'persistent_recursive' });
    expect(s.hub.registry.size).toBe(before + 6);
    await other.close();
    await new Promise((res) => setTimeout(res, 50));
    expect(s.hub.registry.size).toBe(before);
  });
});

test('heartbeats carry the applied zxid', async () => {
  const h = await serve({ config: { heartbeatMs: 40 } });
  try {
    const hc = await Client.connect(h.wsUrl);
    const zxid = await h.write({ op: 'create', path: '/hb', data: utf8(''), mode: 'persistent' });
    const beat = await hc.next((f) => f.type === 'heartbeat' && f.zxid === String(zxid), 2000);
    expect(beat).toEqual({ type: 'heartbeat', zxid: String(zxid) });
    await hc.close();
  } finally {
    await h.close();
  }
});
