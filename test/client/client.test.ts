/**
 * ZgateClient against one real member process (no mocks of zgate): the operations and their
 * typed results and errors, bad arguments refused before any request, a closed client, the
 * session and its ephemerals, the three kinds of watch with ZooKeeper's ordering (a watch
 * sees a change before the write that made it returns), and resume after a dropped socket,
 * with and without the member still holding the missed events (`--watch-history 4`).
 */
import { send } from '../support/http.js';
import { startMember, type RunningMember } from '../support/member.js';
import { getFreePort } from '../support/ports.js';
import { Lock, ZgateClient, ZgateError, type ClientState, type Stat, type WatchEvent } from '../../src/client/index.js';
import { Clients, ControlledSockets, waitFor } from './helpers.js';

let member: RunningMember;
const clients = new Clients();
let n = 0;
/** A fresh path per test, so tests share the member without seeing each other. */
const fresh = (): string => `/t${++n}`;

beforeAll(async () => {
  member = await startMember({ args: ['--watch-history', '4', '--log-level', 'warn'] });
});
afterEach(() => clients.closeAll());
afterAll(() => member?.stop());

async function caught(p: Promise<unknown>): Promise<ZgateError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ZgateError);
    return e as ZgateError;
  }
  throw new Error('expected a ZgateError');
}

describe('operations', () => {
  test('create, get, exists, children, set, delete with typed results', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    const made = await zk.create(`${p}/a/b`, 'hello', { makeParents: true });
    expect(made.path).toBe(`${p}/a/b`);
    expect(made.stat).toMatchObject({ version: 0, dataLength: 5, numChildren: 0, ephemeralOwner: '0' });
    expect(typeof made.stat.czxid).toBe('string');

    const got = await zk.get(`${p}/a/b`);
    expect(got).toEqual({ path: `${p}/a/b`, data: 'hello', stat: made.stat });
    const bytes = await zk.get(`${p}/a/b`, { binary: true });
    expect(bytes.data).toEqual(new TextEncoder().encode('hello'));

    expect(await zk.exists(`${p}/a/b`)).toEqual(made.stat);
    expect(await zk.exists(`${p}/nope`)).toBeNull();
    await zk.create(`${p}/a/c`);
    expect(await zk.children(`${p}/a`)).toEqual(['b', 'c']);

    const set = await zk.set(`${p}/a/b`, 'v2', { version: 0 });
    expect(set.stat.version).toBe(1);
    const stale = await caught(zk.set(`${p}/a/b`, 'v3', { version: 0 }));
    expect(stale).toMatchObject({ code: 'BadVersion', path: `${p}/a/b`, member: member.baseUrl });
    expect([409, 412]).toContain(stale.status);
    expect((await zk.get(`${p}/a/b`)).data).toBe('v2');
    expect((await zk.set(`${p}/a/b`, 'any')).stat.version).toBe(2);

    const notEmpty = await caught(zk.delete(`${p}/a`));
    expect(notEmpty).toMatchObject({ code: 'NotEmpty', status: 409, path: `${p}/a` });
    expect((await caught(zk.delete(`${p}/a/c`, { version: 5 }))).code).toBe('BadVersion');
    await zk.delete(`${p}/a/c`, { version: 0 });
    await zk.delete(p, { recursive: true });
    expect(await zk.exists(p)).toBeNull();
    const noNode = await caught(zk.get(`${p}/a/b`));
    expect(noNode).toMatchObject({ code: 'NoNode', status: 404, path: `${p}/a/b`, member: member.baseUrl });
    expect(noNode.message).toContain(`${p}/a/b`);
    expect((await caught(zk.set(`${p}/x`, 'y'))).code).toBe('NoNode');
  });

  test('binary data round-trips; text of non-UTF-8 bytes is decoded lossily, bytes exactly', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    const raw = new Uint8Array([0, 255, 254, 10, 128]);
    await zk.create(p, raw);
    expect((await zk.get(p, { binary: true })).data).toEqual(raw);
    expect((await zk.get(p)).data).toBe(new TextDecoder().decode(raw));
  });

  test('modes: sequential names, container, ttl; NodeExists', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    await zk.create(p);
    const a = await zk.create(`${p}/job-`, 'a', { mode: 'persistent_sequential' });
    const b = await zk.create(`${p}/`, 'b', { mode: 'persistent_sequential' });
    expect(a.path).toBe(`${p}/job-0000000000`);
    expect(b.path).toBe(`${p}/0000000001`);
    const c = await zk.create(`${p}/box`, undefined, { mode: 'container' });
    expect(c.stat.ephemeralOwner).toBe('0');
    const t = await zk.create(`${p}/lease`, 'x', { mode: 'persistent_with_ttl', ttl: 60_000 });
    expect(t.path).toBe(`${p}/lease`);
    const exists = await caught(zk.create(`${p}/box`));
    expect(exists).toMatchObject({ code: 'NodeExists', status: 409, path: `${p}/box` });
    await zk.ensurePath(`${p}/deep/er`);
    await zk.ensurePath(`${p}/deep/er`);
    expect(await zk.children(`${p}/deep`)).toEqual(['er']);
  });

  test('txn: all ops at one zxid; a failure reports opIndex and each op code, and applies nothing', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    await zk.create(p, '0');
    const ok = await zk.txn([
      { op: 'check', path: p, version: 0 },
      { op: 'create', path: `${p}/q-`, data: 'x', mode: 'persistent_sequential' },
      { op: 'set', path: p, data: new Uint8Array([1, 2, 255]) },
      { op: 'create', path: `${p}/gone` },
      { op: 'delete', path: `${p}/gone` },
    ]);
    expect(ok.results.map((r) => r.op)).toEqual(['check', 'create', 'set', 'create', 'delete']);
    expect(ok.results[1]).toMatchObject({ op: 'create', path: `${p}/q-0000000000` });
    const set = ok.results[2] as { stat: Stat };
    expect(set.stat.mzxid).toBe(ok.zxid);
    expect((await zk.get(p, { binary: true })).data).toEqual(new Uint8Array([1, 2, 255]));

    const failed = await caught(zk.txn([{ op: 'create', path: `${p}/never` }, { op: 'delete', path: p, version: 7 }]));
    expect(failed).toMatchObject({ code: 'BadVersion', opIndex: 1, path: p, status: 409 });
    expect(failed.results).toEqual([
      { op: 'create', code: 'Ok' },
      { op: 'delete', code: 'BadVersion' },
    ]);
    expect(await zk.exists(`${p}/never`)).toBeNull();
    expect(await zk.txn([])).toMatchObject({ results: [] });
  });

  test('a member that is down is skipped: the call goes to the next URL; with none up, ConnectionLoss names the member', async () => {
    const dead = `http://127.0.0.1:${await getFreePort()}`;
    const zk = clients.make([dead, member.baseUrl]);
    const p = fresh();
    await zk.create(p, 'via the second');
    expect((await zk.get(p)).data).toBe('via the second');
    const alone = clients.make(dead, { requestTimeoutMs: 1500 });
    const e = await caught(alone.get(p));
    expect(e.code).toBe('ConnectionLoss');
    expect(e.member).toBe(dead);
    expect(e.message).toContain(dead);
  });
});

describe('bad input', () => {
  test('invalid arguments fail before any request is sent, with a message naming the argument', async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const sockets = new ControlledSockets();
    const zk = clients.make(member.baseUrl, { fetch: counting, webSocket: sockets.factory });
    const refusals: [Promise<unknown>, RegExp][] = [
      [zk.get('a'), /^path: path must start with "\/"/],
      [zk.get('/a/'), /^path: .*must not end with/],
      [zk.get('/a//b'), /^path: empty segment/],
      [zk.exists('/a/../b'), /^path: relative segment/],
      [zk.children(42 as unknown as string), /^path: must be a string, got 42/],
      [zk.create('/q/'), /^path: .*must not end with/],
      [zk.create('/a', 7 as unknown as string), /^data: must be a string or a Uint8Array, got 7/],
      [zk.create('/a', 'x', { mode: 'bogus' as 'persistent' }), /^options\.mode: must be one of persistent, ephemeral/],
      [zk.create('/a', 'x', { mode: 'persistent_with_ttl' }), /^options\.ttl: mode persistent_with_ttl needs a ttl/],
      [zk.create('/a', 'x', { ttl: 5 }), /^options\.ttl: goes only with mode/],
      [zk.create('/a', 'x', { mode: 'persistent_with_ttl', ttl: 0 }), /^options\.ttl: must be an integer number of ms/],
      [zk.create('/a', 'x', { makeparents: true } as unknown as { makeParents: boolean }), /^options\.makeparents: is not an option/],
      [zk.set('/a', 'x', { version: -2 }), /^options\.version: must be -1 \(any\) or an integer/],
      [zk.set('/a', 'x', { version: 1.5 }), /^options\.version: must be -1/],
      [zk.delete('/'), /^path: the root znode/],
      [zk.delete('/a', { recursive: 'yes' as unknown as boolean }), /^options\.recursive: must be true or false/],
      [zk.txn('nope' as unknown as []), /^ops: must be an array/],
      [zk.txn([{ op: 'create', path: '/ok' }, { op: 'frob', path: '/a' } as unknown as { op: 'check'; path: string }]), /^ops\[1\]\.op: must be create, set, delete or check/],
      [zk.txn([{ op: 'set', path: 'rel', data: 'x' }]), /^ops\[0\]\.path: path must start/],
      [zk.dataWatch('/a', undefined as unknown as () => void), /^fn: must be a function/],
      [zk.childrenWatch('/a/', () => undefined), /^path: /],
    ];
    for (const [p, re] of refusals) {
      const e = await caught(p);
      expect(e.code).toBe('BadArguments');
      expect(e.message).toMatch(re);
    }
    expect(() => zk.watch('nope')).toThrow(/^path: path must start/);
    expect(() => zk.watch('/a', { recursive: 1 as unknown as boolean })).toThrow(/^options\.recursive: must be true or false/);
    expect(() => new ZgateClient([])).toThrow(/^members: must be a member URL or a non-empty array/);
    expect(() => new ZgateClient(['http://127.0.0.1:1', 'localhost'])).toThrow(/^members\[1\]: is not a URL/);
    expect(() => new ZgateClient('ftp://x')).toThrow(/^members: must be an http: or https: URL/);
    expect(() => new ZgateClient('http://x', { sessionTimeout: 5 } as unknown as object)).toThrow(/^options\.sessionTimeout: is not an option/);
    expect(requests).toBe(0);
    expect(sockets.opened).toBe(0);
  });

  test('a closed client rejects every call with ClientClosed', async () => {
    const zk = await clients.connect(member.baseUrl);
    await zk.close();
    await zk.close();
    expect(zk.state).toBe('closed');
    const calls: Promise<unknown>[] = [
      zk.get('/'),
      zk.exists('/'),
      zk.children('/'),
      zk.create('/x'),
      zk.set('/x', 'y'),
      zk.delete('/x'),
      zk.txn([]),
      zk.connect(),
      zk.ensurePath('/x'),
      zk.sync(),
      zk.dataWatch('/x', () => undefined),
      zk.childrenWatch('/x', () => undefined),
    ];
    for (const c of calls) {
      const e = await caught(c);
      expect(e.code).toBe('ClientClosed');
      expect(e.message).toMatch(/the client is closed/);
    }
    expect(() => zk.watch('/x')).toThrow(/the client is closed/);
  });
});

describe('session', () => {
  test('ephemerals belong to the client: kept alive by its socket, gone the moment close() returns', async () => {
    const zk = clients.make(member.baseUrl, { sessionTimeoutMs: 1500 });
    const other = clients.make(member.baseUrl);
    const p = fresh();
    // No connect(): the first ephemeral create opens the socket and the session.
    const eph = await zk.create(`${p}/e-`, 'me', { mode: 'ephemeral_sequential', makeParents: true });
    expect(zk.sessionId).toMatch(/^[1-9][0-9]*$/);
    expect(zk.state).toBe('connected');
    expect(eph.stat.ephemeralOwner).toBe(zk.sessionId);
    expect(zk.sessionTimeoutMs).toBe(1500);
    // Two timeouts without a call from us: the socket alone keeps the session.
    const until = Date.now() + 3200;
    await waitFor(() => Date.now() > until, 'two session timeouts');
    expect(await other.exists(eph.path)).not.toBeNull();
    const sid = zk.sessionId!;
    await zk.close();
    expect(await other.exists(eph.path)).toBeNull();
    const res = await send(member.baseUrl, 'GET', `/v1/sessions/${sid}`);
    expect(res.status).toBe(410);
  });

  test('connect() opens the session; the state listener sees connecting, connected, closed', async () => {
    const states: string[] = [];
    const zk = clients.make(member.baseUrl);
    zk.onStateChange((s) => states.push(s));
    expect(zk.state).toBe('idle');
    await zk.connect();
    const res = await send(member.baseUrl, 'GET', `/v1/sessions/${zk.sessionId}`);
    expect(res.status).toBe(200);
    await zk.close();
    expect(states).toEqual(['connecting', 'connected', 'closed']);
  });
  test('a session that expired while the client was cut off is reported lost; the client goes on with a new one', async () => {
    const sockets = new ControlledSockets();
    const zk = clients.make(member.baseUrl, { webSocket: sockets.factory, sessionTimeoutMs: 1000 });
    const other = clients.make(member.baseUrl);
    const p = fresh();
    const lock = new Lock(zk, `${p}/lock`);
    expect(await lock.acquire()).toBe(true);
    const held = lock.signal!;
    const old = zk.sessionId!;
    const states: ClientState[] = [];
    zk.onStateChange((s) => states.push(s));

    sockets.refusing = true;
    sockets.cut();
    // The member answers 410 from the moment it decides to expire the session; its ephemerals
    // go when that decision applies, a moment later.
    await waitFor(async () => (await other.children(`${p}/lock`)).length === 0, "the expired session's ephemeral to go");
    expect((await send(member.baseUrl, 'GET', `/v1/sessions/${old}`)).status).toBe(410);
    sockets.refusing = false;
    await waitFor(() => zk.state === 'connected' && zk.sessionId !== old, 'a new session');
    expect(states.join(',')).toBe('suspended,lost,connected');
    expect(lock.isAcquired).toBe(false);
    expect(held.aborted).toBe(true);
    const eph = await zk.create(`${p}/e`, '', { mode: 'ephemeral' });
    expect(eph.stat.ephemeralOwner).toBe(zk.sessionId);
  });
});

describe('watches', () => {
  test('dataWatch: the current state at once, then every change before the write that made it returns', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    const seen: [string | null, number | null, string | undefined][] = [];
    const stop = await zk.dataWatch(p, (data, stat, event) => {
      seen.push([data, stat?.version ?? null, event?.type]);
    });
    expect(seen).toEqual([[null, null, undefined]]);
    await zk.create(p, 'one');
    expect(seen.at(-1)).toEqual(['one', 0, 'NodeCreated']);
    await zk.set(p, 'two');
    expect(seen.at(-1)).toEqual(['two', 1, 'NodeDataChanged']);
    await zk.delete(p);
    expect(seen.at(-1)).toEqual([null, null, 'NodeDeleted']);
    stop();
    await zk.create(p, 'after stop');
    expect(seen).toHaveLength(4);

    // On an existing znode the first call has its data; returning false stops the watch.
    const calls: string[] = [];
    await zk.dataWatch(p, (data) => {
      calls.push(data ?? 'null');
      return calls.length < 2;
    });
    await zk.set(p, 'x');
    await zk.set(p, 'y');
    expect(calls).toEqual(['after stop', 'x']);
  });

  test('dataWatch sees changes made by another client, in order, without a miss', async () => {
    const watcher = clients.make(member.baseUrl);
    const writer = clients.make(member.baseUrl);
    const p = fresh();
    await writer.create(p, '0');
    const seen: string[] = [];
    await watcher.dataWatch(p, (data) => void seen.push(data ?? 'gone'));
    for (let i = 1; i <= 20; i++) await writer.set(p, String(i));
    await writer.delete(p);
    await waitFor(() => seen.at(-1) === 'gone', 'the delete to reach the watcher');
    expect(seen).toEqual([...Array.from({ length: 21 }, (_, i) => String(i)), 'gone']);
  });

  test('childrenWatch: sorted children at once and after every change; null while the znode is missing', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    const seen: (string[] | null)[] = [];
    const stop = await zk.childrenWatch(p, (children) => void seen.push(children));
    expect(seen).toEqual([null]);
    await zk.create(`${p}/b`, '', { makeParents: true });
    expect(seen.at(-1)).toEqual(['b']);
    await zk.create(`${p}/a`);
    expect(seen.at(-1)).toEqual(['a', 'b']);
    await zk.set(p, 'data changes do not count');
    await zk.txn([
      { op: 'delete', path: `${p}/a` },
      { op: 'create', path: `${p}/c` },
    ]);
    expect(seen.at(-1)).toEqual(['b', 'c']);
    await zk.delete(p, { recursive: true });
    expect(seen.at(-1)).toBeNull();
    expect(seen).toEqual([null, ['b'], ['a', 'b'], ['b', 'c'], null]);
    stop();
  });

  test('watch(): the events of a subtree as an async iterator, a txn at one zxid, until stopped', async () => {
    const zk = clients.make(member.baseUrl);
    const p = fresh();
    await zk.create(p);
    const stream = zk.watch(p, { recursive: true });
    await stream.ready;
    await zk.create(`${p}/a`, 'A');
    const txn = await zk.txn([
      { op: 'set', path: `${p}/a`, data: 'A2' },
      { op: 'create', path: `${p}/a/b`, data: 'B' },
    ]);
    await zk.delete(p, { recursive: true });
    const events: WatchEvent[] = [];
    for await (const e of stream) {
      events.push(e);
      if (e.type === 'NodeDeleted' && e.path === p) break;
    }
    const brief = events.map((e) => (e.type === 'Resync' ? 'Resync' : `${e.type} ${e.path}${e.data === undefined ? '' : ` =${e.data}`}`));
    expect(brief).toEqual([`NodeCreated ${p}/a =A`, `NodeDataChanged ${p}/a =A2`, `NodeCreated ${p}/a/b =B`, `NodeDeleted ${p}/a/b`, `NodeDeleted ${p}/a`, `NodeDeleted ${p}`]);
    expect(events[1]!.zxid).toBe(txn.zxid);
    expect(events[2]!.zxid).toBe(txn.zxid);
    // The loop's break stopped it: later changes are not buffered for anyone.
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  test('a dropped socket resumes every watch from its zxid: the missed changes arrive once, in order; the session survives', async () => {
    const sockets = new ControlledSockets();
    const zk = clients.make(member.baseUrl, { webSocket: sockets.factory });
    const writer = clients.make(member.baseUrl);
    const p = fresh();
    await writer.create(p, '0');
    await zk.create(`${p}-eph`, '', { mode: 'ephemeral' });
    const sid = zk.sessionId;
    const values: string[] = [];
    await zk.dataWatch(p, (data) => void values.push(data ?? 'gone'));
    const stream = zk.watch(p);
    await stream.ready;
    const states: string[] = [];
    zk.onStateChange((s) => states.push(s));

    sockets.refusing = true;
    sockets.cut();
    await waitFor(() => zk.state === 'suspended', 'the client to notice the drop');
    // Fewer changes than the member retains (--watch-history 4): a resume replays them.
    await writer.set(p, '1');
    await writer.set(p, '2');
    await writer.set(p, '3');
    sockets.refusing = false;
    await waitFor(() => values.at(-1) === '3', `the missed changes (seen ${JSON.stringify(values)})`);
    expect(values).toEqual(['0', '1', '2', '3']);
    const got: string[] = [];
    for await (const e of stream) {
      got.push(`${e.type} ${'data' in e ? e.data : ''}`);
      if (got.length === 3) break;
    }
    expect(got).toEqual(['NodeDataChanged 1', 'NodeDataChanged 2', 'NodeDataChanged 3']);
    expect(zk.sessionId).toBe(sid);
    expect(await writer.exists(`${p}-eph`)).not.toBeNull();
    expect(states).toEqual(['suspended', 'connected']);
  });

  test('a resume point the member no longer retains (Compacted): the client reads anew and goes on', async () => {
    const sockets = new ControlledSockets();
    const zk = clients.make(member.baseUrl, { webSocket: sockets.factory });
    const writer = clients.make(member.baseUrl);
    const p = fresh();
    await writer.create(p, '0');
    const values: string[] = [];
    await zk.dataWatch(p, (data) => void values.push(data ?? 'gone'));
    const stream = zk.watch(p);
    await stream.ready;

    sockets.refusing = true;
    sockets.cut();
    await waitFor(() => zk.state === 'suspended', 'the client to notice the drop');
    // More zxids than the member retains (4): the events after the resume point are gone.
    for (let i = 1; i <= 8; i++) await writer.set(p, String(i));
    sockets.refusing = false;
    await waitFor(() => values.at(-1) === '8', `the current state after the resync (seen ${JSON.stringify(values)})`);
    // The function saw the first state and the state read anew; nothing in between (it is gone).
    expect(values).toEqual(['0', '8']);
    await writer.set(p, '9');
    await waitFor(() => values.at(-1) === '9', 'the next change');
    expect(values).toEqual(['0', '8', '9']);
    const first = await stream.next();
    expect(first.value).toMatchObject({ type: 'Resync', reason: 'compacted', path: p });
    expect((await stream.next()).value).toMatchObject({ type: 'NodeDataChanged', data: '9' });
    stream.stop();
  });
});
