/**
 * Sessions across a 3-member cluster of real processes: keepalives taken by followers reach
 * the leader's clock in batches; ephemerals survive the leader's kill -9 while their session
 * keeps sending keepalives to another member; an abandoned session expires after a failover
 * within election time + its timeout (the new leader restarts every clock, so never before
 * the timeout) and its ephemerals vanish on every member; a session bound to a WebSocket on a
 * follower lives while the socket does.
 */
import { metricsText, trySend } from '../support/http.js';
import { Client } from '../watch/helpers.js';
import { sleep, TestCluster } from './helpers.js';

let c: TestCluster;

afterEach(async () => {
  await c?.stop();
});

const FLAGS = ['--min-session-timeout-ms', '100', '--request-timeout-ms', '4000', '--heartbeat-ms', '0'];

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** status 0: no answer (a member killed). */
async function req(base: string, method: string, path: string, opts: { body?: string; session?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const res = await trySend<Record<string, unknown>>(base, method, path, { ...opts, headers: { 'content-type': 'application/json' }, timeoutMs: opts.timeoutMs ?? 5000 });
  return { status: res.status, body: res.body };
}

/** Retries 503 and connection failures (a leader change) until `timeoutMs`. */
async function reqRetrying(base: string, method: string, path: string, opts: { body?: string; session?: string } = {}, timeoutMs = 10_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await req(base, method, path, opts);
    if ((r.status !== 503 && r.status !== 0) || Date.now() > deadline) return r;
    await sleep(25);
  }
}

async function exists(base: string, path: string): Promise<boolean | undefined> {
  const r = await req(base, 'GET', `/v1/znodes${path}`);
  return r.status === 200 ? true : r.status === 404 ? false : undefined;
}

/** Waits until `path` is gone on every member in `ids`; the time it took. */
async function waitGoneEverywhere(ids: number[], path: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const seen = await Promise.all(ids.map((id) => exists(c.base(id), path)));
    if (seen.every((s) => s === false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`${path} still on some member after ${timeoutMs} ms: ${JSON.stringify(seen)}\n${c.diagnostics(1500)}`);
    await sleep(25);
  }
}

async function metric(id: number, name: string): Promise<number> {
  const text = await metricsText(c.base(id));
  const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function openSession(base: string, timeoutMs: number): Promise<string> {
  const r = await reqRetrying(base, 'POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs }) });
  expect(r.status).toBe(201);
  expect(r.body!.timeoutMs).toBe(timeoutMs);
  return r.body!.sessionId as string;
}

function keepSending(base: () => string, ids: string[], everyMs: number): { sent: () => number; stop: () => Promise<void> } {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running) {
      for (const id of ids) {
        const r = await req(base(), 'POST', `/v1/sessions/${id}/keepalive`, { timeoutMs: 1000 });
        if (r.status === 200) sent++;
        if (r.status === 410) throw new Error(`keepalive of ${id} answered 410 while being kept alive`);
      }
      await sleep(everyMs);
    }
  })();
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

test('keepalives on followers reach the leader in batches; ephemerals survive the leader\'s kill -9 while keepalives go to another member', async () => {
  c = await TestCluster.start(3, { args: FLAGS });
  const leader = await c.waitLeader();
  const [f1, f2] = c.ids.filter((id) => id !== leader) as [number, number];
  // Created through one follower, kept alive through the other.
  // Long enough that a loaded 2-core machine (keepalives sent one by one, 1 s timeout each)
  // still keeps them alive; short enough for the expiry phase below.
  const T = 4000;
  const sessions = await Promise.all([0, 1, 2, 3, 4].map(() => openSession(c.base(f1), T)));
  for (let i = 0; i < sessions.length; i++) {
    const r = await reqRetrying(c.base(f1), 'POST', `/v1/znodes/live/s${i}?mode=ephemeral&parents=true`, { session: sessions[i]! });
    expect(r.status).toBe(201);
  }
  const ka = keepSending(() => c.base(f2), sessions, 300);
  try {
    await sleep(2500);
    // Batched: one message per 100 ms at most, each with every id touched meanwhile.
    const sentBefore = ka.sent();
    const batches = await metric(f2, 'zgate_session_keepalive_batches_total');
    const forwarded = await metric(f2, 'zgate_session_keepalives_forwarded_total');
    expect(sentBefore).toBeGreaterThan(5);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThanOrEqual(Math.ceil(2600 / 100));
    expect(forwarded / batches).toBeGreaterThan(1);
    expect(await metric(leader, 'zgate_session_keepalives_received_total')).toBeGreaterThan(0);

    await c.kill(leader);
    const killedAt = Date.now();
    const survivors = [f1, f2];
    await c.waitLeader(15_000, survivors);
    const failover = Date.now() - killedAt;
    // Well past the timeout after the kill: the sessions are kept alive through the new leader.
    await sleep(Math.max(0, 2 * T - (Date.now() - killedAt)));
    for (const id of survivors) {
      const r = await req(c.base(id), 'GET', '/v1/znodes/live?children=true');
      expect({ member: id, children: (r.body as { children?: string[] } | undefined)?.children }).toEqual({ member: id, children: ['s0', 's1', 's2', 's3', 's4'] });
    }
    for (const s of sessions) expect((await req(c.base(f1), 'GET', `/v1/sessions/${s}`)).status).toBe(200);
    console.log(`failover ${failover} ms; sessions kept alive through it`);
  } finally {
    await ka.stop();
  }
  // Keepalives stopped: every ephemeral vanishes on every live member within the timeout and a little.
  const took = await waitGoneEverywhere([f1, f2], '/live/s0', T + 3000);
  expect(took).toBeGreaterThanOrEqual(T - 500);
  for (let i = 1; i < sessions.length; i++) await waitGoneEverywhere([f1, f2], `/live/s${i}`, 1000);
  expect(await metric(f1, 'zgate_session_expirations_total')).toBe(5);
}, 90_000);

test('an abandoned session expires after a failover within election time + its timeout, on every member, never before the timeout', async () => {
  c = await TestCluster.start(3, { args: FLAGS });
  const leader = await c.waitLeader();
  const follower = c.ids.find((id) => id !== leader)!;
  const s = await openSession(c.base(follower), 3000);
  expect((await reqRetrying(c.base(follower), 'POST', '/v1/znodes/orphan?mode=ephemeral', { session: s })).status).toBe(201);
  const watcher = await Client.connect(c.base(follower).replace(/^http/, 'ws') + '/v1/ws');
  try {
    const w = await watcher.watch({ path: '/orphan', kind: 'exists' });
    await c.kill(leader);
    const killedAt = Date.now();
    const survivors = c.ids.filter((id) => id !== leader);
    await c.waitLeader(15_000, survivors);
    const election = Date.now() - killedAt;
    await waitGoneEverywhere(survivors, '/orphan', election + 3000 + 4000);
    const took = Date.now() - killedAt;
    // The new leader's clock starts at its election: not before the full timeout after it.
    expect(took).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThanOrEqual(election + 3000 + 2000);
    const ev = await watcher.next((f) => f.type === 'event' && f.watchId === w.watchId, 2000);
    expect(ev.event).toBe('NodeDeleted');
    expect((await req(c.base(survivors[0]!), 'POST', `/v1/sessions/${s}/keepalive`)).status).toBe(410);
    console.log(`abandoned session expired ${took} ms after the leader's kill (election ${election} ms, timeout 3000 ms)`);
  } finally {
    await watcher.close();
  }
}, 90_000);

test('a session bound to a WebSocket on a follower lives while the socket does, and expires on every member after it closes', async () => {
  c = await TestCluster.start(3, { args: FLAGS });
  const leader = await c.waitLeader();
  const follower = c.ids.find((id) => id !== leader)!;
  const tab = await Client.connect(c.base(follower).replace(/^http/, 'ws') + '/v1/ws');
  const bound = await tab.request({ op: 'session', timeoutMs: 1000 });
  expect(bound).toMatchObject({ type: 'session', timeoutMs: 1000 });
  expect(await tab.request({ op: 'create', path: '/tab', mode: 'ephemeral', data: 'online' })).toMatchObject({ type: 'result' });
  await sleep(3000);
  for (const id of c.ids) expect(await exists(c.base(id), '/tab')).toBe(true);
  const closedAt = Date.now();
  await tab.close();
  await waitGoneEverywhere(c.ids, '/tab', 1000 + 3000);
  expect(Date.now() - closedAt).toBeGreaterThanOrEqual(500);
}, 60_000);

test('a member cut off from every other closes its session-bound WebSockets (1013) once it has known no leader for a third of their timeout', async () => {
  c = await TestCluster.start(3, { args: FLAGS });
  const leader = await c.waitLeader();
  const follower = c.ids.find((id) => id !== leader)!;
  const others = c.ids.filter((id) => id !== follower);
  const tab = await Client.connect(c.base(follower).replace(/^http/, 'ws') + '/v1/ws');
  expect(await tab.request({ op: 'session', timeoutMs: 6000 })).toMatchObject({ type: 'session', timeoutMs: 6000 });
  // A socket without a session stays: it holds nothing that needs the leader.
  const watcher = await Client.connect(c.base(follower).replace(/^http/, 'ws') + '/v1/ws');
  expect(await watcher.request({ op: 'watch', path: '/', kind: 'persistent' })).toMatchObject({ type: 'watching' });
  const cutAt = Date.now();
  for (const id of others) c.signal(id, 'SIGSTOP');
  try {
    const code = await Promise.race([tab.closed, sleep(20_000).then(() => -1)]);
    const after = Date.now() - cutAt;
    expect(code).toBe(1013);
    // Not before the election timeout (at least 10 ticks) plus a third of 6 s.
    expect(after).toBeGreaterThanOrEqual(2000);
    expect(watcher.closeCode).toBeUndefined();
  } finally {
    for (const id of others) c.signal(id, 'SIGCONT');
  }
  const sentAway = await metricsText(c.base(follower));
  expect(sentAway).toMatch(/^zgate_session_sockets_sent_away_total 1$/m);
  await watcher.close();
}, 60_000);
