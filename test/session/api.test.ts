/**
 * /v1/sessions and the Zgate-Session header over HTTP (api.md "Sessions" and the ephemeral
 * rows of "Operations"), against the real app on a real member: every route, every error,
 * nothing changed by refused input, expiry in real time with short timeouts, the
 * WebSocket's session binding (presence), NodeDeleted to watchers, and the metrics.
 */
import request from 'supertest';
import { startApp, type TestApp } from '../api/helpers.js';
import { Client, serve, type Served } from '../watch/helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

function expectError(res: request.Response, status: number, code: string): request.Response {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(res.headers['zgate-zxid']).toMatch(/^[0-9]+$/);
  return res;
}

describe('routes', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;
  beforeEach(async () => {
    t = await startApp({ sessionOptions: { minTimeoutMs: 1000, maxTimeoutMs: 60_000 } });
    http = request(t.app.server);
  });
  afterEach(async () => t.close());

  async function open(timeoutMs = 10_000): Promise<string> {
    const res = await http.post('/v1/sessions').send({ timeoutMs });
    expect(res.status).toBe(201);
    return res.body.sessionId as string;
  }

  /** Refused input changes nothing: not even a failed entry. */
  async function unchanged(fn: () => Promise<request.Response>): Promise<request.Response> {
    const digest = t.member.tree.digest();
    const zxid = t.member.appliedZxid;
    const sessions = t.member.sessions.size;
    const res = await fn();
    expect(t.member.tree.digest()).toBe(digest);
    expect(t.member.appliedZxid).toBe(zxid);
    expect(t.member.sessions.size).toBe(sessions);
    return res;
  }

  test('POST /v1/sessions: 201 with the id, the granted timeout, Location and the zxid of its entry', async () => {
    const res = await http.post('/v1/sessions').set('content-type', 'application/json').send('{"timeoutMs":10000}');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ sessionId: expect.stringMatching(/^[1-9][0-9]*$/), timeoutMs: 10_000 });
    expect(BigInt(res.body.sessionId)).toBeLessThan(1n << 63n);
    expect(res.headers.location).toBe(`/v1/sessions/${res.body.sessionId}`);
    expect(res.headers['zgate-zxid']).toBe(String(t.member.appliedZxid));
    expect(t.member.sessions.isOpen(BigInt(res.body.sessionId))).toBe(true);
  });

  test('the timeout is clamped to the bounds and the answer says what was granted; no body: the default', async () => {
    expect((await http.post('/v1/sessions').send({ timeoutMs: 1 })).body.timeoutMs).toBe(1000);
    expect((await http.post('/v1/sessions').send({ timeoutMs: 3_600_000 })).body.timeoutMs).toBe(60_000);
    expect((await http.post('/v1/sessions').send({ timeoutMs: 4321 })).body.timeoutMs).toBe(4321);
    const none = await http.post('/v1/sessions');
    expect(none.status).toBe(201);
    expect(none.body.timeoutMs).toBe(10_000);
    const empty = await http.post('/v1/sessions').send({});
    expect(empty.body.timeoutMs).toBe(10_000);
    // curl -d sends form-urlencoded: the body is JSON whatever the Content-Type.
    const curl = await http.post('/v1/sessions').set('content-type', 'application/x-www-form-urlencoded').send('{"timeoutMs":2000}');
    expect(curl.body.timeoutMs).toBe(2000);
  });

  test('a bad body is 400 BadArguments and opens nothing', async () => {
    for (const body of ['{"timeoutMs":"10"}', '{"timeoutMs":-5}', '{"timeoutMs":0}', '{"timeoutMs":1.5}', '{"timeoutMs":99999999999}', '{"timeout":10}', '[1]', '{nope', '"x"']) {
      const res = await unchanged(() => http.post('/v1/sessions').set('content-type', 'application/json').send(body));
      expectError(res, 400, 'BadArguments');
    }
  });

  test('keepalive: 200 for an open session; 410 for an unknown, closed or expired one; 400 for a malformed id', async () => {
    const id = await open();
    const ok = await http.post(`/v1/sessions/${id}/keepalive`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ sessionId: id, timeoutMs: 10_000 });
    expectError(await unchanged(() => http.post('/v1/sessions/12345/keepalive')), 410, 'SessionExpired');
    // Syntactically a 64-bit id, above the 63-bit ids zgate hands out: unknown.
    expectError(await unchanged(() => http.post(`/v1/sessions/${(1n << 64n) - 1n}/keepalive`)), 410, 'SessionExpired');
    for (const bad of ['abc', '0', '-1', '0x10', '18446744073709551616', '123456789012345678901', '1.5', '%20']) {
      expectError(await unchanged(() => http.post(`/v1/sessions/${bad}/keepalive`)), 400, 'BadArguments');
    }
    expect((await http.delete(`/v1/sessions/${id}`)).status).toBe(204);
    // Never resurrected: a client must create a new session.
    expectError(await unchanged(() => http.post(`/v1/sessions/${id}/keepalive`)), 410, 'SessionExpired');
  });

  test('GET: the timeout and the sorted ephemerals; 410 and 400 as keepalive', async () => {
    const id = await open(5000);
    expect((await http.get(`/v1/sessions/${id}`)).body).toEqual({ sessionId: id, timeoutMs: 5000, ephemerals: [] });
    await http.put('/v1/znodes/app').send('');
    for (const p of ['app/b', 'app/a', 'z']) expect((await http.post(`/v1/znodes/${p}?mode=ephemeral`).set('zgate-session', id).send('x')).status).toBe(201);
    const seq = await http.post('/v1/znodes/app/q-?mode=ephemeral_sequential').set('zgate-session', id).send('');
    expect(seq.body.path).toBe('/app/q-0000000002');
    const res = await http.get(`/v1/sessions/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.ephemerals).toEqual(['/app/a', '/app/b', '/app/q-0000000002', '/z']);
    expectError(await http.get('/v1/sessions/777'), 410, 'SessionExpired');
    expectError(await http.get('/v1/sessions/x1'), 400, 'BadArguments');
  });

  test('DELETE: 204, and its ephemerals go in the same transaction (one zxid); then 410', async () => {
    const id = await open();
    const other = await open();
    await http.put('/v1/znodes/app').send('');
    await http.post('/v1/znodes/app/a?mode=ephemeral').set('zgate-session', id).send('');
    await http.post('/v1/znodes/b?mode=ephemeral').set('zgate-session', id).send('');
    await http.post('/v1/znodes/app/keep?mode=ephemeral').set('zgate-session', other).send('');
    const res = await http.delete(`/v1/sessions/${id}`);
    expect(res.status).toBe(204);
    const zxid = Number(res.headers['zgate-zxid']);
    expect(zxid).toBe(t.member.appliedZxid);
    expect(t.member.tree.stat('/app')!.pzxid).toBe(zxid);
    expect(t.member.tree.stat('/')!.pzxid).toBe(zxid);
    expect(t.member.tree.has('/app/a') || t.member.tree.has('/b')).toBe(false);
    expect(t.member.tree.has('/app/keep')).toBe(true);
    expectError(await unchanged(() => http.delete(`/v1/sessions/${id}`)), 410, 'SessionExpired');
    expectError(await unchanged(() => http.delete('/v1/sessions/nope')), 400, 'BadArguments');
  });

  test('ephemeral creates: 400 without or with a malformed Zgate-Session, 410 for a session not open, NoChildrenForEphemerals', async () => {
    expectError(await unchanged(() => http.post('/v1/znodes/e?mode=ephemeral').send('')), 400, 'BadArguments');
    expectError(await unchanged(() => http.post('/v1/znodes/e?mode=ephemeral').set('zgate-session', 'abc').send('')), 400, 'BadArguments');
    expectError(await unchanged(() => http.post('/v1/znodes/e?mode=ephemeral').set('zgate-session', '0').send('')), 400, 'BadArguments');
    expectError(await unchanged(() => http.post('/v1/znodes/e?mode=ephemeral_sequential').set('zgate-session', '12345').send('')), 410, 'SessionExpired');
    const id = await open();
    const created = await http.post('/v1/znodes/e?mode=ephemeral').set('zgate-session', id).send('v');
    expect(created.status).toBe(201);
    expect(created.body.stat.ephemeralOwner).toBe(id);
    expectError(await http.post('/v1/znodes/e/child').send(''), 409, 'NoChildrenForEphemerals');
    expectError(await http.post('/v1/znodes/e/child?mode=ephemeral').set('zgate-session', id).send(''), 409, 'NoChildrenForEphemerals');
    // The header is only read for ephemeral modes.
    expect((await http.post('/v1/znodes/p').set('zgate-session', 'garbage').send('')).status).toBe(201);
    await http.delete(`/v1/sessions/${id}`);
    expectError(await unchanged(() => http.post('/v1/znodes/e2?mode=ephemeral').set('zgate-session', id).send('')), 410, 'SessionExpired');
  });

  test('POST /v1/txn: Zgate-Session owns the ephemerals of the multi; 400 / 410 as for a create', async () => {
    const id = await open();
    const body = { ops: [{ op: 'create', path: '/t' }, { op: 'create', path: '/t/e', mode: 'ephemeral' }, { op: 'create', path: '/t/s-', mode: 'ephemeral_sequential' }] };
    expectError(await unchanged(() => http.post('/v1/txn').send(body)), 400, 'BadArguments');
    expectError(await unchanged(() => http.post('/v1/txn').set('zgate-session', 'x').send(body)), 400, 'BadArguments');
    expectError(await unchanged(() => http.post('/v1/txn').set('zgate-session', '99').send(body)), 410, 'SessionExpired');
    const res = await http.post('/v1/txn').set('zgate-session', id).send(body);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { path: string }) => r.path)).toEqual(['/t', '/t/e', '/t/s-0000000001']);
    expect(res.body.results[1].stat.ephemeralOwner).toBe(id);
    expect(res.body.results[0].stat.ephemeralOwner).toBe('0');
    expect((await http.get(`/v1/sessions/${id}`)).body.ephemerals).toEqual(['/t/e', '/t/s-0000000001']);
  });

  test('an ephemeral create racing its session\'s close fails at apply with SessionExpired (410), nothing created', async () => {
    const id = await open();
    const [closed, created] = await Promise.all([http.delete(`/v1/sessions/${id}`), http.post('/v1/znodes/race?mode=ephemeral').set('zgate-session', id).send('')]);
    expect(closed.status).toBe(204);
    if (created.status !== 201) expectError(created, 410, 'SessionExpired');
    expect(t.member.tree.has('/race')).toBe(false);
  });

  test('metrics: open sessions, ephemerals, expirations', async () => {
    const id = await open();
    await open();
    await http.post('/v1/znodes/m?mode=ephemeral').set('zgate-session', id).send('');
    const text = (await http.get('/metrics')).text;
    expect(text).toMatch(/^zgate_sessions_open 2$/m);
    expect(text).toMatch(/^zgate_ephemerals 1$/m);
    expect(text).toMatch(/^zgate_session_expirations_total 0$/m);
    expect(text).toMatch(/^zgate_sessions_held 0$/m);
  });
});

describe('expiry in real time (short timeouts)', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;
  beforeEach(async () => {
    t = await startApp({ sessionOptions: { minTimeoutMs: 50, checkIntervalMs: 10, forwardIntervalMs: 20, reaperIntervalMs: 100 } });
    http = request(t.app.server);
  });
  afterEach(async () => t.close());

  test('an abandoned session expires after its timeout and its ephemerals vanish; a kept-alive one stays', async () => {
    const a = (await http.post('/v1/sessions').send({ timeoutMs: 300 })).body.sessionId as string;
    const b = (await http.post('/v1/sessions').send({ timeoutMs: 300 })).body.sessionId as string;
    await http.post('/v1/znodes/a?mode=ephemeral').set('zgate-session', a).send('');
    await http.post('/v1/znodes/b?mode=ephemeral').set('zgate-session', b).send('');
    const start = Date.now();
    const timer = setInterval(() => void http.post(`/v1/sessions/${b}/keepalive`).then(() => undefined), 80);
    try {
      await until(() => !t.member.tree.has('/a'), 3000, 'the abandoned session\'s ephemeral vanishes');
      expect(Date.now() - start).toBeGreaterThanOrEqual(250);
      await sleep(600);
      expect(t.member.tree.has('/b')).toBe(true);
      expect((await http.post(`/v1/sessions/${b}/keepalive`)).status).toBe(200);
    } finally {
      clearInterval(timer);
    }
    expectError(await http.post(`/v1/sessions/${a}/keepalive`), 410, 'SessionExpired');
    expect((await http.get('/metrics')).text).toMatch(/^zgate_session_expirations_total 1$/m);
    await until(() => !t.member.tree.has('/b'), 3000, 'b expires once keepalives stop');
  });

  test('the sweep reaps an emptied container and an expired TTL znode', async () => {
    await http.put('/v1/znodes/c?').send('');
    await http.post('/v1/znodes/box?mode=container').send('');
    await http.post('/v1/znodes/box/x').send('');
    await http.delete('/v1/znodes/box/x');
    await http.post('/v1/znodes/ttl?mode=persistent_with_ttl&ttl=100').send('');
    await until(() => !t.member.tree.has('/box') && !t.member.tree.has('/ttl'), 3000, 'reaped');
    expect(t.member.tree.has('/c')).toBe(true);
    expect((await http.get('/metrics')).text).toMatch(/^zgate_reaped_znodes_total 2$/m);
  });
});

describe('WebSocket: a session bound to a socket', () => {
  let s: Served;
  beforeEach(async () => {
    s = await serve({ config: { heartbeatMs: 0 }, sessionOptions: { minTimeoutMs: 50, checkIntervalMs: 10, forwardIntervalMs: 20 } });
  });
  afterEach(async () => s.close());

  test('{"op":"session"} creates a session the socket keeps alive (presence); after the socket closes it expires after its timeout', async () => {
    const c = await Client.connect(s.wsUrl);
    const watcher = await Client.connect(s.wsUrl);
    const bound = await c.request({ op: 'session', timeoutMs: 300 });
    expect(bound).toMatchObject({ type: 'session', sessionId: expect.stringMatching(/^[1-9][0-9]*$/), timeoutMs: 300 });
    expect(await c.request({ op: 'create', path: '/here', mode: 'ephemeral', data: 'tab 1' })).toMatchObject({ type: 'result', stat: { ephemeralOwner: bound.sessionId } });
    const w = await watcher.watch({ path: '/here', kind: 'exists' });
    await sleep(900);
    expect(s.member.tree.has('/here')).toBe(true);
    expect(s.member.sessions.isOpen(BigInt(bound.sessionId as string))).toBe(true);
    const closedAt = Date.now();
    await c.close();
    await watcher.next((f) => f.type === 'event' && f.event === 'NodeDeleted' && f.path === '/here' && f.watchId === w.watchId, 3000);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(150);
    expect(s.member.sessions.isOpen(BigInt(bound.sessionId as string))).toBe(false);
    await watcher.close();
  });

  test('binding an existing session, twice over; an unknown or malformed one is refused', async () => {
    const created = await request(s.app.server).post('/v1/sessions').send({ timeoutMs: 200 });
    const id = created.body.sessionId as string;
    const c1 = await Client.connect(s.wsUrl);
    const c2 = await Client.connect(s.wsUrl);
    expect(await c1.request({ op: 'session', sessionId: id })).toMatchObject({ type: 'session', sessionId: id, timeoutMs: 200 });
    expect(await c2.request({ op: 'session', sessionId: id, timeoutMs: 999 })).toMatchObject({ type: 'session', sessionId: id, timeoutMs: 200 });
    expect(await c1.request({ op: 'session', sessionId: '424242' })).toMatchObject({ type: 'error', error: { code: 'SessionExpired' } });
    expect(await c1.request({ op: 'session', sessionId: 'abc' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await c1.request({ op: 'session', sessionId: '18446744073709551616' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    // The failed rebinding left the first binding in place.
    expect(await c1.request({ op: 'create', path: '/e1', mode: 'ephemeral' })).toMatchObject({ type: 'result' });
    await c1.close();
    await sleep(600);
    // Still held by the second socket.
    expect(s.member.tree.has('/e1')).toBe(true);
    await c2.close();
    await until(() => !s.member.tree.has('/e1'), 3000, 'expires once no socket holds it');
  });

  test('a socket with no session: ephemeral creates are BadArguments', async () => {
    const c = await Client.connect(s.wsUrl);
    expect(await c.request({ op: 'create', path: '/e', mode: 'ephemeral' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    expect(await c.request({ op: 'txn', ops: [{ op: 'create', path: '/e', mode: 'ephemeral' }] })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    await c.close();
  });
});
