/**
 * The client's credentials against one real member: Basic and Bearer on every HTTP request,
 * ACLs through create's `acl` and getAcl/setAcl, tokens minted and revoked, and the errors
 * (AuthFailed, NoAuth, Throttled) a refused credential or a denied ACL gives. A second member
 * runs with --auth-required. The member on this branch neither authenticates WebSocket upgrades
 * nor answers the in-band `auth` frame (another branch builds that face), so the client's side of
 * the WebSocket (the frame first on every socket, close 4401 → AuthFailed without a reconnect
 * loop) is tested against a stand-in server; with the real member only the HTTP path and a
 * session opened by an authenticated client are.
 */
import { startMember, type RunningMember } from '../support/member.js';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { ZgateError, type WebSocketLike } from '../../src/client/index.js';
import { Clients, waitFor } from './helpers.js';

let open: RunningMember;
let locked: RunningMember;
const clients = new Clients();
let n = 0;
const fresh = (): string => `/auth${++n}`;
const bob = { basic: { user: 'bob', password: 'pass' } };

beforeAll(async () => {
  [open, locked] = await Promise.all([
    startMember({ args: ['--log-level', 'warn'] }),
    startMember({ args: ['--log-level', 'warn', '--auth-required'] }),
  ]);
});
afterEach(() => clients.closeAll());
afterAll(() => Promise.all([open?.stop(), locked?.stop()]));

async function caught(p: Promise<unknown>): Promise<ZgateError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ZgateError);
    return e as ZgateError;
  }
  throw new Error('expected a ZgateError');
}

test('Basic creates a znode only its digest can read; a token of that identity reads it; anonymous is NoAuth', async () => {
  const zk = clients.make(open.baseUrl, { auth: bob });
  const anon = clients.make(open.baseUrl);
  const p = fresh();
  await zk.create(p, 'secret', { acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] });
  expect((await zk.get(p)).data).toBe('secret');
  const who = await zk.whoami();
  expect(who.ids).toEqual(expect.arrayContaining([{ scheme: 'digest', id: 'bob' }]));
  const denied = await caught(anon.get(p));
  expect(denied.code).toBe('NoAuth');
  expect(denied.status).toBe(403);

  const t = await zk.createToken({ readOnly: true, description: 'client test' });
  expect(t.token).toMatch(/^zgt_/);
  const reader = clients.make(open.baseUrl, { auth: { token: t.token } });
  expect((await reader.get(p)).data).toBe('secret');
  const ro = await caught(reader.set(p, 'nope'));
  expect(ro.code).toBe('NoAuth');
  await zk.revokeToken(t.id);
  const revoked = await caught(reader.get(p));
  expect(revoked.code).toBe('AuthFailed');
  expect(revoked.status).toBe(401);
});

test('getAcl and setAcl round trip, with the aversion compared', async () => {
  const zk = clients.make(open.baseUrl, { auth: bob });
  const p = fresh();
  await zk.create(p, 'x');
  const before = await zk.getAcl(p);
  expect(before.path).toBe(p);
  expect(before.acl).toEqual([{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
  const aversion = before.stat.aversion;
  const acl = [
    { perms: 'r', scheme: 'world', id: 'anyone' },
    { perms: 'cdrwa', scheme: 'auth', id: '' },
  ];
  const set = await zk.setAcl(p, acl, aversion);
  expect(set.stat.aversion).toBe(aversion + 1);
  const stale = await caught(zk.setAcl(p, acl, aversion));
  expect(stale.code).toBe('BadVersion');
  const after = await zk.getAcl(p);
  expect(after.acl).toEqual([
    { perms: 'r', scheme: 'world', id: 'anyone' },
    { perms: 'cdrwa', scheme: 'digest', id: expect.stringMatching(/^bob:/) },
  ]);
  const anon = clients.make(open.baseUrl);
  expect((await anon.get(p)).data).toBe('x');
  expect((await caught(anon.set(p, 'y'))).code).toBe('NoAuth');
  expect((await caught(zk.setAcl(p, [] as never))).code).toBe('BadArguments');
});

test('bad auth options are refused before anything is sent', () => {
  expect(() => clients.make(open.baseUrl, { auth: {} as never })).toThrow(/options.auth/);
  expect(() => clients.make(open.baseUrl, { auth: { basic: { user: 'a:b', password: 'x' } } })).toThrow(/user/);
});

test('--auth-required: anonymous is AuthFailed; a Basic client works over HTTP and the WebSocket (session, ephemeral)', async () => {
  const anon = clients.make(locked.baseUrl);
  const e = await caught(anon.get('/'));
  expect(e.code).toBe('AuthFailed');
  const zk = clients.make(locked.baseUrl, { auth: bob });
  const p = fresh();
  await zk.create(p, 'e', { mode: 'ephemeral' });
  expect(zk.sessionId).toBeDefined();
  expect((await zk.getAcl(p)).acl[0]).toMatchObject({ scheme: 'digest', perms: 'cdrwa' });
});

/**
 * The member on this branch does not authenticate WebSocket upgrades nor answer the `auth`
 * frame yet (another branch builds them), so the client's side of it is tested against a
 * stand-in WebSocket server on loopback that answers as api.md says: `{"type":"auth","ids"}`
 * to a good credential, a close 4401 to a bad one.
 */
describe('in-band auth frame (stand-in server)', () => {
  let wss: WebSocketServer;
  let url: string;
  const frames: Record<string, unknown>[] = [];
  let upgrades = 0;
  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (ws) => {
      upgrades++;
      ws.on('message', (m) => {
        const f = JSON.parse(String(m)) as Record<string, unknown>;
        frames.push(f);
        if (f.op === 'auth') {
          if (f.token === 'zgt_good.secret' || f.auth === 'bob:pass') ws.send(JSON.stringify({ id: f.id, type: 'auth', ids: [{ scheme: 'digest', id: 'bob' }] }));
          else ws.close(4401, 'AuthFailed');
        } else if (f.op === 'ping') ws.send(JSON.stringify({ id: f.id, type: 'pong', zxid: '0' }));
      });
    });
  });
  afterAll(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise((r) => wss.close(r));
  });
  // A factory as a browser's: no headers at the upgrade, so the client authenticates in-band.
  const browserLike = (u: string): WebSocketLike => new WebSocket(u) as unknown as WebSocketLike;

  test('the auth frame goes first on every socket (bearer and digest)', async () => {
    frames.length = 0;
    const zk = clients.make(url, { auth: { token: 'zgt_good.secret' }, webSocket: browserLike, requestTimeoutMs: 2000 });
    void zk.watch('/x').ready.catch(() => undefined);
    // The watch frame follows the auth frame's reply (the stand-in never answers the watch).
    await waitFor(() => frames.some((f) => f.op === 'watch'), 'the watch frame');
    expect(frames[0]).toMatchObject({ op: 'auth', scheme: 'bearer', token: 'zgt_good.secret' });
    expect(typeof frames[0]!.id).toBe('number');
    frames.length = 0;
    const zk2 = clients.make(url, { auth: bob, webSocket: browserLike, requestTimeoutMs: 2000 });
    void zk2.watch('/x').ready.catch(() => undefined);
    await waitFor(() => frames.some((f) => f.op === 'watch'), 'the watch frame');
    expect(frames[0]).toMatchObject({ op: 'auth', scheme: 'digest', auth: 'bob:pass' });
  });

  test('a close 4401 is AuthFailed, and the client does not reconnect in a loop', async () => {
    const zk = clients.make(url, { auth: { token: 'zgt_bad.secret' }, webSocket: browserLike, requestTimeoutMs: 3000 });
    const before = upgrades;
    const e = await caught(zk.connect());
    expect(e.code).toBe('AuthFailed');
    const started = Date.now();
    expect((await caught(zk.connect())).code).toBe('AuthFailed');
    expect(Date.now() - started).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 300));
    expect(upgrades - before).toBe(1);
  });
});

// Last: it throttles the loopback address on the --auth-required member.
test('past --auth-rate failed authentications, Throttled with retryAfterMs', async () => {
  const bad = clients.make(locked.baseUrl, { auth: { token: 'zgt_nope.nope' }, maxAttempts: 1 });
  let e: ZgateError | undefined;
  for (let i = 0; i < 30; i++) {
    e = await caught(bad.get('/'));
    if (e.code !== 'AuthFailed') break;
  }
  expect(e!.code).toBe('Throttled');
  expect(e!.status).toBe(429);
  expect(e!.retryAfterMs).toBeGreaterThan(0);
});
