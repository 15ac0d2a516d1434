/**
 * Sessions on a real member process (dist/cli/main.js): an abandoned session's ephemerals
 * vanish within its timeout plus a check, a kept-alive session's stay, a session bound to a
 * WebSocket keeps its ephemerals (presence) until the socket closes plus the timeout, watchers
 * see NodeDeleted, the leader's sweep reaps containers and TTL znodes, and sessions are
 * durable: they survive a restart (also a kill -9, also through a snapshot).
 */
import { metricsText, send } from '../support/http.js';
import { memberBuilt, startMember, type RunningMember } from '../support/member.js';
import { Client } from '../watch/helpers.js';

const describeBuilt = memberBuilt() ? describe : describe.skip;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const FLAGS = ['--min-session-timeout-ms', '100', '--reaper-interval-ms', '300', '--heartbeat-ms', '0'];

interface Answer {
  status: number;
  body: { sessionId?: string; timeoutMs?: number; ephemerals?: string[]; error?: { code: string } } | undefined;
}

async function call(m: RunningMember, method: string, path: string, init: { body?: string; session?: string } = {}): Promise<Answer> {
  const res = await send<Answer['body']>(m.baseUrl, method, path, { ...init, headers: { 'content-type': 'application/json' }, timeoutMs: 5000 });
  return { status: res.status, body: res.body };
}

async function openSession(m: RunningMember, timeoutMs: number): Promise<string> {
  const r = await call(m, 'POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs }) });
  expect(r.status).toBe(201);
  expect(r.body?.timeoutMs).toBe(timeoutMs);
  return r.body!.sessionId!;
}

async function exists(m: RunningMember, path: string): Promise<boolean> {
  const res = await send(m.baseUrl, 'HEAD', `/v1/znodes${path}`, { timeoutMs: 5000 });
  return res.status === 200;
}

async function waitGone(m: RunningMember, path: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (await exists(m, path)) {
    if (Date.now() - start > timeoutMs) throw new Error(`${path} still exists after ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - start;
}

function wsUrl(m: RunningMember): string {
  return m.baseUrl.replace(/^http/, 'ws') + '/v1/ws';
}

describeBuilt('sessions on a member process', () => {
  let m: RunningMember;
  beforeAll(async () => {
    m = await startMember({ args: FLAGS, readyPath: '/readyz' });
  }, 30_000);
  afterAll(async () => m?.stop());

  test('an abandoned session\'s ephemerals vanish within timeout + one check; a kept-alive one\'s stay; a watcher sees NodeDeleted', async () => {
    const watcher = await Client.connect(wsUrl(m));
    try {
      const T = 1500;
      const gone = await openSession(m, T);
      const kept = await openSession(m, T);
      // Both are kept alive while the scene is set up (a loaded machine's fsyncs can be slow).
      const setup = setInterval(() => {
        for (const id of [gone, kept]) void call(m, 'POST', `/v1/sessions/${id}/keepalive`).catch(() => undefined);
      }, 150);
      let w: Awaited<ReturnType<typeof watcher.watch>>;
      try {
        expect((await call(m, 'POST', '/v1/znodes/presence?mode=persistent')).status).toBe(201);
        expect((await call(m, 'POST', '/v1/znodes/presence/gone?mode=ephemeral', { session: gone })).status).toBe(201);
        expect((await call(m, 'POST', '/v1/znodes/presence/kept?mode=ephemeral', { session: kept })).status).toBe(201);
        w = await watcher.watch({ path: '/presence', kind: 'persistent_recursive' });
      } finally {
        clearInterval(setup);
      }
      // The last keepalive of `gone` is sent after this instant: it can't expire sooner than T after it.
      const start = Date.now();
      expect((await call(m, 'POST', `/v1/sessions/${gone}/keepalive`)).status).toBe(200);
      const timer = setInterval(() => void call(m, 'POST', `/v1/sessions/${kept}/keepalive`).catch(() => undefined), 150);
      try {
        const ev = await watcher.next((f) => f.type === 'event' && f.event === 'NodeDeleted' && f.watchId === w.watchId, 5000);
        const took = Date.now() - start;
        expect(ev.path).toBe('/presence/gone');
        // Never before the timeout; within it plus the leader's check (and the test's polling).
        // The leader's expiry clock has 100 ms buckets.
        expect(took).toBeGreaterThanOrEqual(T - 100);
        expect(took).toBeLessThan(T + 3000);
        await sleep(1500);
        expect(await exists(m, '/presence/kept')).toBe(true);
      } finally {
        clearInterval(timer);
      }
      expect((await call(m, 'POST', `/v1/sessions/${gone}/keepalive`)).status).toBe(410);
      expect((await call(m, 'GET', `/v1/sessions/${kept}`)).body).toEqual({ sessionId: kept, timeoutMs: T, ephemerals: ['/presence/kept'] });
      await waitGone(m, '/presence/kept', T + 3000);
      const metrics = await metricsText(m.baseUrl);
      expect(metrics).toMatch(/^zgate_session_expirations_total 2$/m);
      expect(metrics).toMatch(/^zgate_sessions_open 0$/m);
    } finally {
      await watcher.close();
    }
  }, 30_000);

  test('a WebSocket-bound session keeps its ephemerals (presence); they vanish after the socket closes + the timeout', async () => {
    const tab = await Client.connect(wsUrl(m));
    const watcher = await Client.connect(wsUrl(m));
    try {
      const bound = await tab.request({ op: 'session', timeoutMs: 400 });
      expect(bound).toMatchObject({ type: 'session', timeoutMs: 400 });
      expect(await tab.request({ op: 'create', path: '/tab', mode: 'ephemeral', data: 'online' })).toMatchObject({ type: 'result' });
      const w = await watcher.watch({ path: '/tab', kind: 'exists' });
      await sleep(1500);
      expect(await exists(m, '/tab')).toBe(true);
      const closedAt = Date.now();
      await tab.close();
      const ev = await watcher.next((f) => f.type === 'event' && f.watchId === w.watchId, 5000);
      expect(ev.event).toBe('NodeDeleted');
      const took = Date.now() - closedAt;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(400 + 1500);
    } finally {
      await watcher.close();
    }
  }, 30_000);

  test('the leader\'s sweep reaps an emptied container and an expired TTL znode within one interval', async () => {
    expect((await call(m, 'POST', '/v1/znodes/box?mode=container')).status).toBe(201);
    expect((await call(m, 'POST', '/v1/znodes/box/item')).status).toBe(201);
    expect((await call(m, 'POST', '/v1/znodes/unused?mode=container')).status).toBe(201);
    expect((await call(m, 'POST', '/v1/znodes/lease?mode=persistent_with_ttl&ttl=200')).status).toBe(201);
    expect((await call(m, 'DELETE', '/v1/znodes/box/item')).status).toBe(204);
    await waitGone(m, '/box', 300 + 1000);
    await waitGone(m, '/lease', 200 + 300 + 1000);
    expect(await exists(m, '/unused')).toBe(true);
  }, 30_000);
});

describeBuilt('sessions are durable', () => {
  test('a session and its ephemerals survive a restart and a kill -9, through a snapshot; its clock restarts', async () => {
    // A snapshot every 5 entries: the table goes through snapshot + log replay.
    const args = [...FLAGS, '--snapshot-entries', '5'];
    let m = await startMember({ args, readyPath: '/readyz', keepDataDir: true });
    const dataDir = m.dataDir;
    try {
      const id = await openSession(m, 2000);
      const closed = await openSession(m, 2000);
      for (let i = 0; i < 8; i++) expect((await call(m, 'POST', `/v1/znodes/e${i}?mode=ephemeral`, { session: id })).status).toBe(201);
      expect((await call(m, 'DELETE', `/v1/sessions/${closed}`)).status).toBe(204);
      await m.stop();
      m = await startMember({ args, dataDir, readyPath: '/readyz', keepDataDir: true });
      const after = await call(m, 'GET', `/v1/sessions/${id}`);
      expect(after.status).toBe(200);
      expect(after.body?.ephemerals).toHaveLength(8);
      expect((await call(m, 'GET', `/v1/sessions/${closed}`)).status).toBe(410);
      expect((await call(m, 'POST', `/v1/sessions/${id}/keepalive`)).status).toBe(200);
      await m.kill('SIGKILL');
      const restartedAt = Date.now();
      m = await startMember({ args, dataDir, readyPath: '/readyz', keepDataDir: true });
      expect((await call(m, 'GET', `/v1/sessions/${id}`)).body?.ephemerals).toHaveLength(8);
      // Nobody keeps it alive now: it expires one timeout after the member (its leader) came back.
      const took = await waitGone(m, '/e0', 10_000);
      expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(2000);
      expect(took).toBeLessThan(8000);
      expect((await call(m, 'GET', `/v1/sessions/${id}`)).status).toBe(410);
    } finally {
      await m.stop();
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
