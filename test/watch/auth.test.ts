/**
 * WebSocket and SSE under identity and ACLs (api.md "WebSocket, SSE and browsers under auth",
 * "Identity and ACLs" watches bullet, "Tokens" revocation bullet): identity at the upgrade,
 * in-band auth, --auth-required's grace, watch events filtered by READ, the token cookie's
 * Origin rule, and revocation closing sockets and streams. A real member, real sockets.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthThrottle } from '../../src/auth/throttle.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/http/app.js';
import { mintToken } from '../../src/auth/token-secret.js';
import type { AuditEvent, AuditLog } from '../../src/coordination/audit.js';
import { digestOf as digestIdOf } from '../../src/auth/digest.js';
import { assembleMember } from '../../src/server/parts.js';
import type { Access } from '../../src/core/acl.js';
import type { TokenRecord } from '../../src/core/token-ops.js';
import { LocalLog } from '../../src/log/local-log.js';
import { Member } from '../../src/node/member.js';
import { identityKey } from '../../src/session/token-table.js';
import { Client, SseStream, until, type Frame } from './helpers.js';

interface Server {
  member: Member;
  app: FastifyInstance;
  base: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** The member's parts as the composition root assembles them, behind the real app (with a throttle and an audit log when given). */
async function start(opts: { authRequired?: boolean; authGraceMs?: number; throttle?: AuthThrottle; audit?: AuditLog } = {}): Promise<Server> {
  const member = new Member(new LocalLog(), {});
  const parts = assembleMember(member, { config: { authRequired: opts.authRequired === true, heartbeatMs: 0 } });
  const app = await buildApp({
    service: parts.service,
    logLevel: false,
    config: { heartbeatMs: 0, ...(opts.authGraceMs !== undefined ? { authGraceMs: opts.authGraceMs } : {}) },
    ...(opts.throttle !== undefined ? { throttle: opts.throttle } : {}),
    ...(opts.audit !== undefined ? { audit: opts.audit } : {}),
  });
  parts.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    member,
    app,
    base: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
    async close() {
      await app.close();
      parts.stop();
      await member.close();
    },
  };
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const digest = (user: string, password: string) => ({ scheme: 'digest', id: digestIdOf(user, password) });
const accessOf = (user: string, password: string): Access => ({ ids: [{ scheme: 'ip', id: '127.0.0.1' }, digest(user, password)], super: false });

/** A live token for `user`, created through the log as the REST route would. */
async function createToken(s: Server, user: string, password: string, ttlMs = 3_600_000): Promise<{ accessor: string; token: string }> {
  const minted = mintToken();
  const now = Date.now();
  const ids = [digest(user, password)];
  const record: TokenRecord = {
    accessor: minted.accessor,
    hash: minted.hash,
    ids,
    readOnly: false,
    description: 'test',
    cookie: false,
    owner: identityKey(ids),
    createdBy: ids,
    createdAt: now,
    expiresAt: now + ttlMs,
  };
  const a = await s.member.write({ op: 'createToken', record }, undefined, accessOf(user, password));
  expect(a.outcome.ok).toBe(true);
  return { accessor: minted.accessor, token: minted.token };
}

/** Sends a WebSocket upgrade and reports the answer: 101, or the refusal's status, headers and JSON body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url.replace(/^ws/, 'http'), {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A socket that remembers its close code and reason. */
async function connect(url: string, headers: Record<string, string> = {}): Promise<Client & { reason: Promise<string> }> {
  const c = (await Client.connect(url, { headers })) as Client & { reason: Promise<string> };
  c.reason = new Promise((resolve) => c.ws.on('close', (_code, reason) => resolve(reason.toString())));
  return c;
}

async function restGet(s: Server, path: string, headers: Record<string, string>): Promise<number> {
  const r = await fetch(`${s.base}/v1/znodes${path}`, { headers });
  await r.arrayBuffer();
  return r.status;
}

describe('WebSocket identity (open member)', () => {
  let s: Server;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => s.close());

  test('Basic at the upgrade is the socket identity; an in-band digest adds one; the reply shows users, never hashes', async () => {
    const c = await connect(s.wsUrl, { authorization: basic('bob', 'pw') });
    const r = await c.request({ op: 'auth', scheme: 'digest', auth: 'carol:se:cret' });
    expect(r).toEqual({
      id: r.id,
      type: 'auth',
      ids: [
        { scheme: 'ip', id: '127.0.0.1' },
        { scheme: 'digest', id: 'bob' },
        { scheme: 'digest', id: 'carol' },
      ],
    });
    // Both ids act: a znode only carol may read is readable, and so is one only bob may read.
    const made = await c.request({ op: 'create', path: '/both', acl: [{ perms: 'cdrwa', scheme: 'digest', id: digestIdOf('carol', 'se:cret') }, { perms: 'r', scheme: 'digest', id: digestIdOf('bob', 'pw') }] });
    expect(made).toMatchObject({ type: 'result', path: '/both' });
    const acl = await c.request({ op: 'getAcl', path: '/both' });
    expect(acl).toMatchObject({ type: 'result', path: '/both', acl: [{ perms: 'cdrwa', scheme: 'digest' }, { perms: 'r', scheme: 'digest' }] });
    await c.close();
  });

  test('a wrong token, or malformed Authorization, at the upgrade is 401 with WWW-Authenticate; nothing is upgraded', async () => {
    const bad = await upgrade(s.wsUrl, { authorization: `Bearer ${mintToken().token}` });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Basic realm="zgate", Bearer realm="zgate"');
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'AuthFailed' } });
    const malformed = await upgrade(s.wsUrl, { authorization: 'Digest xyz' });
    expect(malformed.status).toBe(401);
    const url = await upgrade(`${s.wsUrl}?token=zgt_x`);
    expect(url.status).toBe(400);
    const ok = await upgrade(s.wsUrl, { authorization: basic('bob', 'pw') });
    expect(ok.status).toBe(101);
  });

  test("in-band digest auth: a create with auth ACL belongs to it; another identity's socket and REST get NoAuth", async () => {
    const alice = await connect(s.wsUrl);
    const r = await alice.request({ op: 'auth', scheme: 'digest', auth: 'alice:pw' });
    expect(r).toMatchObject({ type: 'auth', ids: [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'digest', id: 'alice' }] });
    const made = await alice.request({ op: 'create', path: '/secret', data: 'x', acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] });
    expect(made).toMatchObject({ type: 'result', path: '/secret' });
    expect(await alice.request({ op: 'get', path: '/secret' })).toMatchObject({ type: 'result', data: 'x' });
    const acl = await alice.request({ op: 'getAcl', path: '/secret' });
    expect(acl).toMatchObject({ type: 'result', acl: [{ perms: 'cdrwa', scheme: 'digest', id: digestIdOf('alice', 'pw') }] });

    const mallory = await connect(s.wsUrl);
    await mallory.request({ op: 'auth', scheme: 'digest', auth: 'mallory:pw' });
    expect(await mallory.request({ op: 'get', path: '/secret' })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    expect(await mallory.request({ op: 'watch', path: '/secret', kind: 'data' })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    expect(await mallory.request({ op: 'set', path: '/secret', data: 'y' })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    expect(await mallory.request({ op: 'setAcl', path: '/secret', acl: [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }] })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    const anonymous = await connect(s.wsUrl);
    expect(await anonymous.request({ op: 'get', path: '/secret' })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    expect(await restGet(s, '/secret', { authorization: basic('mallory', 'pw') })).toBe(403);
    expect(await restGet(s, '/secret', { authorization: basic('alice', 'pw') })).toBe(200);
    // An auth ACL with no authenticated id is InvalidACL.
    expect(await anonymous.request({ op: 'create', path: '/nobody', acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] })).toMatchObject({ type: 'error', error: { code: 'InvalidACL' } });
    // A txn's create takes an ACL too.
    const txn = await alice.request({ op: 'txn', ops: [{ op: 'create', path: '/secret2', acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] }] });
    expect(txn).toMatchObject({ type: 'result' });
    expect(await mallory.request({ op: 'get', path: '/secret2' })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    // setAcl by the owner (ADMIN) opens it.
    expect(await alice.request({ op: 'setAcl', path: '/secret', acl: [{ perms: 'r', scheme: 'world', id: 'anyone' }], version: 0 })).toMatchObject({ type: 'result', path: '/secret' });
    expect(await mallory.request({ op: 'get', path: '/secret' })).toMatchObject({ type: 'result', data: 'x' });
    await Promise.all([alice.close(), mallory.close(), anonymous.close()]);
  });

  test('a session bound by an authenticated socket belongs to its ids', async () => {
    const alice = await connect(s.wsUrl, { authorization: basic('alice', 'pw') });
    const sess = await alice.request({ op: 'session', timeoutMs: 10_000 });
    expect(sess).toMatchObject({ type: 'session' });
    const mallory = await connect(s.wsUrl, { authorization: basic('mallory', 'pw') });
    expect(await mallory.request({ op: 'session', sessionId: sess.sessionId })).toMatchObject({ type: 'error', error: { code: 'NoAuth' } });
    await Promise.all([alice.close(), mallory.close()]);
  });

  test('a failed in-band auth answers AuthFailed and closes the socket with 4401', async () => {
    const c = await connect(s.wsUrl);
    const r = await c.request({ op: 'auth', scheme: 'bearer', token: mintToken().token });
    expect(r).toMatchObject({ type: 'error', error: { code: 'AuthFailed' } });
    expect(await c.closed).toBe(4401);
    const d = await connect(s.wsUrl);
    expect(await d.request({ op: 'auth', scheme: 'digest', auth: 'no-colon' })).toMatchObject({ type: 'error', error: { code: 'AuthFailed' } });
    expect(await d.closed).toBe(4401);
    // A malformed frame is a bad request, not a failed authentication.
    const e = await connect(s.wsUrl);
    expect(await e.request({ op: 'auth', scheme: 'kerberos', auth: 'x' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await e.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    await e.close();
  });
});

describe('WebSocket under --auth-required', () => {
  let s: Server;
  beforeAll(async () => {
    s = await start({ authRequired: true, authGraceMs: 300 });
  });
  afterAll(async () => s.close());

  test('a socket without credentials is accepted, may send only auth, then acts as its identity', async () => {
    const c = await connect(s.wsUrl);
    const r = await c.request({ op: 'auth', scheme: 'digest', auth: 'alice:pw' });
    expect(r).toMatchObject({ type: 'auth', ids: [{ scheme: 'ip' }, { scheme: 'digest', id: 'alice' }] });
    // The default ACL is auth::cdrwa: the znode is alice's.
    expect(await c.request({ op: 'create', path: '/mine' })).toMatchObject({ type: 'result' });
    expect(await c.request({ op: 'getAcl', path: '/mine' })).toMatchObject({ acl: [{ perms: 'cdrwa', scheme: 'digest', id: digestIdOf('alice', 'pw') }] });
    // Past the grace, an authenticated socket stays open.
    await new Promise((r) => setTimeout(r, 450));
    expect(await c.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    await c.close();
  });

  test('any other op before auth answers AuthFailed and closes 4401', async () => {
    const c = await connect(s.wsUrl);
    expect(await c.request({ op: 'get', path: '/' })).toMatchObject({ type: 'error', error: { code: 'AuthFailed' } });
    expect(await c.closed).toBe(4401);
    const w = await connect(s.wsUrl);
    expect(await w.request({ op: 'watch', path: '/', kind: 'persistent' })).toMatchObject({ type: 'error', error: { code: 'AuthFailed' } });
    expect(await w.closed).toBe(4401);
  });

  test('a socket that sends no auth is closed with 4401 after the grace', async () => {
    const c = await connect(s.wsUrl);
    const t0 = Date.now();
    expect(await c.closed).toBe(4401);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await c.reason).toMatch(/auth/);
  });

  test('credentials at the upgrade are checked there: a bad token is 401; Basic is accepted with its identity', async () => {
    expect((await upgrade(s.wsUrl, { authorization: `Bearer ${mintToken().token}` })).status).toBe(401);
    const c = await connect(s.wsUrl, { authorization: basic('alice', 'pw') });
    expect(await c.request({ op: 'get', path: '/mine' })).toMatchObject({ type: 'result', path: '/mine' });
    await c.close();
    // REST and SSE without credentials are plain 401 (no in-band auth there).
    const sse = await SseStream.open(`${s.base}/v1/watch/mine`);
    expect(sse.status).toBe(401);
    sse.close();
  });
});

describe('watch events under ACLs', () => {
  let s: Server;
  let alice: Client;
  beforeAll(async () => {
    s = await start();
    alice = await connect(s.wsUrl, { authorization: basic('alice', 'pw') });
    expect(await alice.request({ op: 'create', path: '/w' })).toMatchObject({ type: 'result' });
  });
  afterAll(async () => {
    await alice.close();
    await s.close();
  });

  const aliceOnly = [{ perms: 'cdrwa', scheme: 'auth', id: '' }];

  test('events about a znode the watcher cannot read are not delivered, live and on resume', async () => {
    const bob = await connect(s.wsUrl, { authorization: basic('bob', 'pw') });
    const w = await bob.watch({ path: '/w', kind: 'persistent_recursive' });
    const own = await alice.watch({ path: '/w', kind: 'persistent_recursive' });
    await alice.request({ op: 'create', path: '/w/open', data: '1' });
    await alice.request({ op: 'create', path: '/w/priv', data: '1', acl: aliceOnly });
    await alice.request({ op: 'set', path: '/w/priv', data: '2' });
    await alice.request({ op: 'create', path: '/w/priv/child', data: '1' });
    await alice.request({ op: 'set', path: '/w/open', data: '2' });
    await alice.request({ op: 'delete', path: '/w/priv/child' });
    await bob.sync();
    await alice.sync();
    const seen = (c: Client, id: string) => c.events(id).map((e) => `${String(e.event)} ${String(e.path)}`);
    // /w/priv/child is world-readable under a znode bob may not read: its own events reach him.
    const forBob = ['NodeCreated /w/open', 'NodeCreated /w/priv/child', 'NodeDataChanged /w/open', 'NodeDeleted /w/priv/child'];
    expect(seen(bob, w.watchId as string)).toEqual(forBob);
    expect(seen(alice, own.watchId as string)).toEqual([
      'NodeCreated /w/open',
      'NodeCreated /w/priv',
      'NodeDataChanged /w/priv',
      'NodeCreated /w/priv/child',
      'NodeDataChanged /w/open',
      'NodeDeleted /w/priv/child',
    ]);
    // Resume from before it all: the same filter.
    const again = await connect(s.wsUrl, { authorization: basic('bob', 'pw') });
    const r = await again.watch({ path: '/w', kind: 'persistent_recursive', fromZxid: w.zxid });
    await again.sync();
    expect(seen(again, r.watchId as string)).toEqual(forBob);
    // An anonymous SSE stream resuming: the same.
    const sse = await SseStream.open(`${s.base}/v1/watch/w?kind=persistent_recursive&fromZxid=${String(w.zxid)}`);
    expect(sse.status).toBe(200);
    await sse.until(() => sse.events().length >= forBob.length);
    await new Promise((res) => setTimeout(res, 50));
    expect(sse.events().map((e) => `${String(e.event)} ${String(e.path)}`)).toEqual(forBob);
    sse.close();
    await Promise.all([bob.close(), again.close()]);
  });

  test("NodeChildrenChanged is filtered by the parent's ACL as of the event", async () => {
    await alice.request({ op: 'create', path: '/w/gate' });
    const bob = await connect(s.wsUrl, { authorization: basic('bob', 'pw') });
    const w = await bob.watch({ path: '/w/gate', kind: 'persistent' });
    await alice.request({ op: 'create', path: '/w/gate/a' });
    await alice.request({ op: 'setAcl', path: '/w/gate', acl: aliceOnly });
    await alice.request({ op: 'create', path: '/w/gate/b' });
    await alice.request({ op: 'setAcl', path: '/w/gate', acl: [{ perms: 'r', scheme: 'world', id: 'anyone' }] });
    await alice.request({ op: 'create', path: '/w/gate/c' }).catch(() => undefined);
    await bob.sync();
    // The third create needs CREATE on /w/gate, which alice no longer has: only /w/gate/a's event is bob's.
    expect(bob.events(w.watchId as string).map((e) => `${String(e.event)} ${String(e.path)}`)).toEqual(['NodeChildrenChanged /w/gate']);
    await bob.close();
  });

  test('a one-shot data watch whose event is filtered is spent: a later readable change does not fire it', async () => {
    await alice.request({ op: 'create', path: '/w/x', data: '1' });
    const bob = await connect(s.wsUrl, { authorization: basic('bob', 'pw') });
    const w = await bob.watch({ path: '/w/x', kind: 'data' });
    // setACL fires no watch; the set after it is not bob's to see, and spends the watch.
    expect(await alice.request({ op: 'setAcl', path: '/w/x', acl: aliceOnly })).toMatchObject({ type: 'result' });
    await alice.request({ op: 'set', path: '/w/x', data: '2' });
    expect(await alice.request({ op: 'setAcl', path: '/w/x', acl: [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }] })).toMatchObject({ type: 'result' });
    await alice.request({ op: 'set', path: '/w/x', data: '3' });
    await bob.sync();
    expect(bob.events()).toEqual([]);
    expect(await bob.request({ op: 'unwatch', watchId: w.watchId })).toMatchObject({ type: 'error', error: { code: 'NoWatcher' } });
    // Readable again: a new watch fires.
    const w2 = await bob.watch({ path: '/w/x', kind: 'data' });
    await alice.request({ op: 'set', path: '/w/x', data: '4' });
    await bob.next((f) => f.type === 'event' && f.watchId === w2.watchId);
    await bob.close();
  });

  test('an in-band auth widens what the existing watches deliver', async () => {
    const c = await connect(s.wsUrl);
    const w = await c.watch({ path: '/w', kind: 'persistent_recursive' });
    await alice.request({ op: 'create', path: '/w/later', data: '1', acl: aliceOnly });
    await c.sync();
    expect(c.events(w.watchId as string)).toEqual([]);
    await c.request({ op: 'auth', scheme: 'digest', auth: 'alice:pw' });
    await alice.request({ op: 'set', path: '/w/later', data: '2' });
    await c.next((f: Frame) => f.type === 'event' && f.path === '/w/later');
    await c.close();
  });
});

describe('SSE identity and token revocation', () => {
  let s: Server;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(async () => s.close());

  test('the token cookie with a cross-site Origin, or Sec-Fetch-Site: cross-site, is 403; same-origin streams', async () => {
    const { token } = await createToken(s, 'alice', 'pw');
    const host = new URL(s.base).host;
    const cross = await SseStream.open(`${s.base}/v1/watch/`, { cookie: `zgate_token=${token}`, origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    await cross.until(() => cross.ended);
    expect(JSON.parse(cross.body)).toMatchObject({ error: { code: 'NoAuth' } });
    const fetchSite = await SseStream.open(`${s.base}/v1/watch/`, { cookie: `zgate_token=${token}`, 'sec-fetch-site': 'cross-site' });
    expect(fetchSite.status).toBe(403);
    fetchSite.close();
    const same = await SseStream.open(`${s.base}/v1/watch/`, { cookie: `zgate_token=${token}`, origin: `http://${host}` });
    expect(same.status).toBe(200);
    same.close();
    // The upgrade follows the same rule.
    expect((await upgrade(s.wsUrl, { cookie: `zgate_token=${token}`, origin: 'https://evil.example' })).status).toBe(403);
    expect((await upgrade(s.wsUrl, { cookie: `zgate_token=${token}` })).status).toBe(403);
    expect((await upgrade(s.wsUrl, { cookie: `zgate_token=${token}`, origin: `http://${host}` })).status).toBe(101);
    // A bad token on a stream is 401 before any stream.
    const bad = await SseStream.open(`${s.base}/v1/watch/`, { authorization: `Bearer ${mintToken().token}` });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Basic realm="zgate", Bearer realm="zgate"');
    bad.close();
  });

  test('revoking a token closes its WebSockets (4401, "token revoked") and SSE streams (event: error); others stay', async () => {
    const { accessor, token } = await createToken(s, 'alice', 'pw');
    const header = await connect(s.wsUrl, { authorization: `Bearer ${token}` });
    const inBand = await connect(s.wsUrl);
    expect(await inBand.request({ op: 'auth', scheme: 'bearer', token })).toMatchObject({ type: 'auth', ids: [{ scheme: 'ip' }, { scheme: 'digest', id: 'alice' }] });
    const other = await connect(s.wsUrl, { authorization: basic('alice', 'pw') });
    const sse = await SseStream.open(`${s.base}/v1/watch/`, { authorization: `Bearer ${token}` });
    expect(sse.status).toBe(200);
    await sse.until(() => sse.messages.some((m) => m.event === 'watching'));
    const revoked = await s.member.write({ op: 'revokeToken', accessor }, undefined, accessOf('alice', 'pw'));
    expect(revoked.outcome.ok).toBe(true);
    expect(await header.closed).toBe(4401);
    expect(await header.reason).toBe('token revoked');
    expect(await inBand.closed).toBe(4401);
    await sse.until(() => sse.ended);
    const err = sse.messages.find((m) => m.event === 'error');
    expect(JSON.parse(err!.data)).toMatchObject({ error: { code: 'AuthFailed' } });
    expect(await other.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    await other.close();
    // And the token is refused at the next upgrade.
    expect((await upgrade(s.wsUrl, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  test("a token's expiry (the reaping entry) closes its sockets too", async () => {
    const { accessor, token } = await createToken(s, 'bob', 'pw', 200);
    const c = await connect(s.wsUrl, { authorization: `Bearer ${token}` });
    await new Promise((r) => setTimeout(r, 250));
    await s.member.write({ op: 'expireTokens', accessors: [accessor] });
    expect(await c.closed).toBe(4401);
    await until(() => c.closeCode !== undefined);
  });
});

describe('failed authentications are throttled and audited', () => {
  let s: Server;
  const audited: AuditEvent[] = [];
  const audit: AuditLog = { record: (e) => void audited.push(e), close: async () => undefined, dropped: 0 };
  beforeAll(async () => {
    // A clock that never moves: the window never passes.
    s = await start({ throttle: new AuthThrottle({ monoMs: () => 0 }, { rate: 1, windowMs: 60_000 }), audit });
  });
  afterAll(async () => s.close());

  test("a read the socket's ids may not make is audited as denied", async () => {
    const alice = await connect(s.wsUrl, { authorization: basic('alice', 'pw') });
    await alice.request({ op: 'create', path: '/p', acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] });
    const anon = await connect(s.wsUrl);
    expect(await anon.request({ op: 'get', path: '/p' })).toMatchObject({ error: { code: 'NoAuth' } });
    expect(await anon.request({ op: 'watch', path: '/p' })).toMatchObject({ error: { code: 'NoAuth' } });
    expect(audited.filter((e) => e.result === 'denied').map((e) => [e.op, e.path, e.code])).toEqual([
      ['get', '/p', 'NoAuth'],
      ['watch', '/p', 'NoAuth'],
    ]);
    expect((await upgrade(s.wsUrl, { origin: 'https://evil.example' })).status).toBe(403);
    expect(audited[audited.length - 1]).toMatchObject({ op: 'GET /v1/ws', result: 'denied', code: 'NoAuth', ip: '127.0.0.1' });
    audited.length = 0;
    await Promise.all([alice.close(), anon.close()]);
  });

  test('failed in-band auths count; past the rate an upgrade is 429 with Retry-After, and an auth is refused (4429)', async () => {
    const early = await connect(s.wsUrl);
    for (let i = 0; i < 2; i++) {
      const c = await connect(s.wsUrl);
      expect(await c.request({ op: 'auth', scheme: 'bearer', token: mintToken().token })).toMatchObject({ error: { code: 'AuthFailed' } });
      expect(await c.closed).toBe(4401);
    }
    const refused = await upgrade(s.wsUrl);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'Throttled' } });
    // Even a good credential is not tried while throttled.
    expect(await early.request({ op: 'auth', scheme: 'digest', auth: 'alice:pw' })).toMatchObject({ error: { code: 'Throttled' } });
    expect(await early.closed).toBe(4429);
    expect(audited.map((e) => [e.op, e.result, e.code])).toEqual([
      ['auth', 'unauthenticated', 'AuthFailed'],
      ['auth', 'unauthenticated', 'AuthFailed'],
      ['GET /v1/ws', 'throttled', 'Throttled'],
      ['auth', 'throttled', 'Throttled'],
    ]);
  });
});
