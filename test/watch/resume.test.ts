/**
 * Resume by zxid (WebSocket fromZxid, SSE Last-Event-ID): the concatenated stream is exact,
 * a zxid with no events is a fine resume point, too old answers Compacted; and SSE as
 * `curl -N` reads it.
 */
import { brief, Client, serve, SseStream, utf8, type Frame, type Served } from './helpers.js';

const create = (s: Served, path: string, data = '') => s.write({ op: 'create', path, data: utf8(data), mode: 'persistent' });
const set = (s: Served, path: string, data: string) => s.write({ op: 'set', path, data: utf8(data), version: -1 });

describe('WebSocket resume', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ config: { heartbeatMs: 0, watchHistoryEntries: 20 } });
  });
  afterAll(async () => s.close());

  test('disconnect, write more, reconnect with fromZxid: the concatenated stream is exactly the live one', async () => {
    await create(s, '/r');
    const live = await Client.connect(s.wsUrl);
    const lw = await live.watch({ path: '/r', kind: 'persistent_recursive', withData: true });
    const a = await Client.connect(s.wsUrl);
    await a.watch({ path: '/r', kind: 'persistent_recursive', withData: true });
    await create(s, '/r/x', '1');
    await set(s, '/r/x', '2');
    await a.sync();
    const first = a.events();
    const last = first[first.length - 1]!.zxid as string;
    await a.close();
    // While away: a multi, a failed op, a set.
    await s.write({ op: 'multi', ops: [{ op: 'create', path: '/r/y', data: utf8('3'), mode: 'persistent' }, { op: 'set', path: '/r/x', data: utf8('4'), version: -1 }] });
    await s.write({ op: 'delete', path: '/r/missing', version: -1 });
    await set(s, '/r/y', '5');
    const b = await Client.connect(s.wsUrl);
    const w = await b.watch({ path: '/r', kind: 'persistent_recursive', withData: true, fromZxid: last });
    expect(w).toMatchObject({ zxid: last, state: null, resumed: true });
    await s.write({ op: 'delete', path: '/r/y', version: -1 });
    await b.sync();
    await live.sync();
    const strip = (e: Frame) => ({ ...e, watchId: undefined });
    const concatenated = [...first, ...b.events()].map(strip);
    expect(concatenated).toEqual(live.events(String(lw.watchId)).map(strip));
    // The multi arrived as one frame on the resume too.
    expect(b.eventFrames()[0]!.type).toBe('events');
    await Promise.all([b.close(), live.close()]);
  });

  test('resuming from a zxid whose op failed (no events) replays exactly what follows', async () => {
    await create(s, '/f');
    const c = await Client.connect(s.wsUrl);
    const failed = await s.write({ op: 'delete', path: '/f/missing', version: -1 });
    const z = await set(s, '/f', 'after');
    const w = await c.watch({ path: '/f', kind: 'persistent', fromZxid: failed });
    await c.sync();
    expect(c.events(String(w.watchId)).map(brief)).toEqual([`NodeDataChanged /f @${z}`]);
    await c.close();
  });

  test('a one-shot resume fires once from the history and is not left registered', async () => {
    await create(s, '/o');
    const from = s.member.appliedZxid;
    const z = await set(s, '/o', '1');
    await set(s, '/o', '2');
    const c = await Client.connect(s.wsUrl);
    const before = s.hub.registry.size;
    const w = await c.watch({ path: '/o', kind: 'data', fromZxid: String(from) });
    await set(s, '/o', '3');
    await c.sync();
    expect(c.events(String(w.watchId)).map(brief)).toEqual([`NodeDataChanged /o @${z}`]);
    expect(s.hub.registry.size).toBe(before);
    await c.close();
  });

  test('fromZxid older than the retained history: Compacted with the oldest zxid to resume from', async () => {
    await create(s, '/old');
    const from = s.member.appliedZxid;
    for (let i = 0; i < 30; i++) await set(s, '/old', String(i));
    const c = await Client.connect(s.wsUrl);
    const e = await c.request({ op: 'watch', path: '/old', fromZxid: String(from) });
    expect(e.type).toBe('error');
    expect(e.code).toBe('Compacted');
    const compactZxid = Number(e.compactZxid);
    expect(compactZxid).toBeGreaterThan(from);
    expect((e.error as Frame).code).toBe('Compacted');
    // compactZxid itself is accepted, and replays everything after it.
    const w = await c.watch({ path: '/old', fromZxid: String(compactZxid) });
    await c.sync();
    expect(c.events(String(w.watchId)).map((x) => Number(x.zxid))).toEqual(Array.from({ length: s.member.appliedZxid - compactZxid }, (_, i) => compactZxid + 1 + i));
    expect(s.hub.stats().historyEntries).toBeLessThanOrEqual(20);
    await c.close();
  });

  test('fromZxid equal to the applied zxid is live only', async () => {
    const c = await Client.connect(s.wsUrl);
    const w = await c.watch({ path: '/live', kind: 'exists', fromZxid: s.member.appliedZxid });
    const z = await create(s, '/live');
    await c.sync();
    expect(c.events(String(w.watchId)).map(brief)).toEqual([`NodeCreated /live @${z}`]);
    await c.close();
  });

  test('history bounded by bytes too', async () => {
    const h = await serve({ config: { heartbeatMs: 0, watchHistoryBytes: 20_000, maxDataBytes: 8192 } });
    try {
      await create(h, '/b');
      for (let i = 0; i < 20; i++) await h.write({ op: 'set', path: '/b', data: new Uint8Array(4000), version: -1 });
      const st = h.hub.stats();
      expect(st.historyBytes).toBeLessThanOrEqual(20_000);
      expect(st.historyEntries).toBeLessThan(20);
      expect(st.historyBase).toBeGreaterThan(1);
    } finally {
      await h.close();
    }
  });
});

describe('a resume point this member has not applied yet (it lags another member)', () => {
  let h: Served;
  beforeAll(async () => {
    h = await serve({ config: { heartbeatMs: 0, minZxidWaitMs: 400 } });
    // A follower: it can't tell a zxid not applied yet from one that doesn't exist.
    const real = h.member.status.bind(h.member);
    h.member.status = () => ({ ...real(), role: 'follower', leaderId: 2 });
    await create(h, '/w');
  });
  afterAll(async () => h.close());

  test('WebSocket and SSE wait until the member has applied it, then replay from there', async () => {
    const ahead = h.member.appliedZxid + 2;
    const c = await Client.connect(h.wsUrl);
    const reply = c.request({ op: 'watch', path: '/w', fromZxid: String(ahead) });
    // (The SSE answer's headers come only once the member has caught up.)
    const opening = SseStream.open(`${h.base}/v1/watch/w`, { 'last-event-id': String(ahead) });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames).toHaveLength(0);
    await set(h, '/w', '1');
    await set(h, '/w', '2');
    const z3 = await set(h, '/w', '3');
    const sse = await opening;
    expect(await reply).toMatchObject({ type: 'watching', zxid: String(ahead), resumed: true });
    await c.sync();
    expect(c.events().map(brief)).toEqual([`NodeDataChanged /w @${z3}`]);
    await sse.until(() => sse.messages.length >= 2);
    expect(sse.status).toBe(200);
    expect(sse.events().map(brief)).toEqual([`NodeDataChanged /w @${z3}`]);
    sse.close();
    await c.close();
  });

  test('a fresh watch with minZxid waits until the member has applied it: its state is never older', async () => {
    const ahead = h.member.appliedZxid + 2;
    const c = await Client.connect(h.wsUrl);
    const reply = c.request({ op: 'watch', path: '/w', kind: 'data', minZxid: String(ahead) });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames).toHaveLength(0);
    await set(h, '/w', 'a');
    const z2 = await set(h, '/w', 'b');
    const r = (await reply) as { type: string; zxid: string; state: { data: string } };
    expect(r.type).toBe('watching');
    expect(Number(r.zxid)).toBeGreaterThanOrEqual(z2);
    expect(r.state.data).toBe('b');
    // Already applied: answered at once, as without it.
    expect(await c.request({ op: 'watch', path: '/w', kind: 'data', minZxid: '1' })).toMatchObject({ type: 'watching', state: { data: 'b' } });
    // Past --min-zxid-wait-ms: Unavailable, and no watch left behind.
    const before = h.hub.registry.size;
    expect(await c.request({ op: 'watch', path: '/w', minZxid: String(h.member.appliedZxid + 100) })).toMatchObject({ type: 'error', error: { code: 'Unavailable' } });
    expect(h.hub.registry.size).toBe(before);
    expect(await c.request({ op: 'watch', path: '/w', minZxid: 'x' })).toMatchObject({ type: 'error', error: { code: 'BadArguments' } });
    await c.close();
  });

  test('past --min-zxid-wait-ms: Unavailable (503 over SSE)', async () => {
    const far = String(h.member.appliedZxid + 100);
    const c = await Client.connect(h.wsUrl);
    expect(await c.request({ op: 'watch', path: '/w', fromZxid: far })).toMatchObject({ type: 'error', error: { code: 'Unavailable' } });
    const sse = await SseStream.open(`${h.base}/v1/watch/w?fromZxid=${far}`);
    await sse.until(() => sse.ended);
    expect(sse.status).toBe(503);
    expect(h.hub.registry.size).toBe(0);
    await c.close();
  });
});

describe('server-sent events', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ config: { heartbeatMs: 100, watchHistoryEntries: 10 } });
    await create(s, '/s', 'v0');
  });
  afterAll(async () => s.close());

  test('curl -N style: watching first, then one message per event with id on the last of each zxid', async () => {
    const sse = await SseStream.open(`${s.base}/v1/watch/s?kind=persistent_recursive&withData=true`);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(sse.headers['cache-control']).toContain('no-cache');
    await sse.until(() => sse.messages.length >= 1);
    const watching = sse.messages[0]!;
    expect(watching.event).toBe('watching');
    const wj = JSON.parse(watching.data) as Frame;
    expect(wj).toMatchObject({ type: 'watching', path: '/s', kind: 'persistent_recursive', zxid: String(s.member.appliedZxid), state: { data: 'v0' } });
    expect(watching.id).toBe(wj.zxid);
    expect(sse.raw.startsWith('retry: ')).toBe(true);
    const z1 = await set(s, '/s', 'v1');
    const z2 = await s.write({ op: 'multi', ops: [{ op: 'create', path: '/s/a', data: utf8('x'), mode: 'persistent' }, { op: 'create', path: '/s/b', data: utf8('y'), mode: 'persistent' }] });
    await sse.until(() => sse.messages.length >= 4);
    const [m1, m2, m3] = sse.messages.slice(1);
    expect([m1!.event, m1!.id]).toEqual(['NodeDataChanged', String(z1)]);
    expect(JSON.parse(m1!.data)).toMatchObject({ type: 'event', event: 'NodeDataChanged', path: '/s', zxid: String(z1), data: 'v1', watchId: wj.watchId });
    expect([m2!.event, m2!.id]).toEqual(['NodeCreated', undefined]);
    expect([m3!.event, m3!.id]).toEqual(['NodeCreated', String(z2)]);
    expect(JSON.parse(m3!.data)).toMatchObject({ path: '/s/b', zxid: String(z2), data: 'y' });
    // Heartbeats: a comment with the zxid and an id line (Last-Event-ID moves on while idle).
    await sse.until(() => sse.comments.some((c) => c === `heartbeat zxid=${z2}`), 3000);
    expect(sse.comments).toContain(`id ${z2}`);
    sse.close();
  });

  test('Last-Event-ID resumes exactly like fromZxid; ?fromZxid too', async () => {
    const a = await SseStream.open(`${s.base}/v1/watch/s`);
    await a.until(() => a.messages.length >= 1);
    const z1 = await set(s, '/s', 'p1');
    await a.until(() => a.messages.length >= 2);
    const lastId = a.lastEventId()!;
    expect(lastId).toBe(String(z1));
    a.close();
    const z2 = await set(s, '/s', 'p2');
    const z3 = await create(s, '/s/c');
    const b = await SseStream.open(`${s.base}/v1/watch/s`, { 'last-event-id': lastId });
    await b.until(() => b.messages.length >= 3);
    expect(JSON.parse(b.messages[0]!.data)).toMatchObject({ type: 'watching', zxid: lastId, state: null, resumed: true });
    expect(b.events().map(brief)).toEqual([`NodeDataChanged /s @${z2}`, `NodeChildrenChanged /s @${z3}`]);
    b.close();
    const q = await SseStream.open(`${s.base}/v1/watch/s?fromZxid=${lastId}`, { 'last-event-id': String(z2) });
    await q.until(() => q.messages.length >= 2);
    // Last-Event-ID wins over ?fromZxid (a reconnecting EventSource keeps its first URL).
    expect(q.events().map(brief)).toEqual([`NodeChildrenChanged /s @${z3}`]);
    q.close();
  });

  test('too old: 410 Compacted with compactZxid; bad input: 400 before the stream', async () => {
    for (let i = 0; i < 15; i++) await set(s, '/s', `c${i}`);
    const old = await SseStream.open(`${s.base}/v1/watch/s`, { 'last-event-id': '1' });
    await old.until(() => old.ended);
    expect(old.status).toBe(410);
    const body = JSON.parse(old.body) as { error: { code: string; compactZxid: string } };
    expect(body.error.code).toBe('Compacted');
    expect(Number(body.error.compactZxid)).toBe(s.hub.compactZxid);
    for (const [url, headers] of [
      [`${s.base}/v1/watch/s?kind=data`, {}],
      [`${s.base}/v1/watch/s?nope=1`, {}],
      [`${s.base}/v1/watch/a//b`, {}],
      [`${s.base}/v1/watch/s`, { 'last-event-id': 'abc' }],
      [`${s.base}/v1/watch/s`, { 'last-event-id': '99999999' }],
    ] as [string, Record<string, string>][]) {
      const r = await SseStream.open(url, headers);
      await r.until(() => r.ended);
      expect([url, r.status]).toEqual([url, 400]);
      expect(JSON.parse(r.body).error.code).toBe('BadArguments');
    }
  });

  test('the root and a recursive watch of the whole tree; a closed stream frees its watch', async () => {
    const before = s.hub.registry.size;
    const r = await SseStream.open(`${s.base}/v1/watch?kind=persistent_recursive`);
    await r.until(() => r.messages.length >= 1);
    expect(s.hub.registry.size).toBe(before + 1);
    const z = await create(s, '/elsewhere');
    await r.until(() => r.messages.length >= 2);
    expect(r.events().map(brief)).toEqual([`NodeCreated /elsewhere @${z}`]);
    r.close();
    const deadline = Date.now() + 2000;
    while (s.hub.registry.size !== before && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(s.hub.registry.size).toBe(before);
  });

  test('with curl -N itself, when curl is installed', async () => {
    const { execFile } = await import('node:child_process');
    const which = await new Promise<boolean>((resolve) => execFile('curl', ['--version'], (err) => resolve(!err)));
    if (!which) {
      console.warn('curl is not installed: skipping the curl -N check');
      return;
    }
    const out = new Promise<string>((resolve) => {
      execFile('curl', ['-sN', '--max-time', '1', `${s.base}/v1/watch/s`], (_err, stdout) => resolve(stdout));
    });
    await new Promise((res) => setTimeout(res, 500));
    const z = await set(s, '/s', 'curl');
    const text = await out;
    expect(text).toContain('event: watching\n');
    expect(text).toContain(`event: NodeDataChanged\nid: ${z}\ndata: {"type":"event"`);
  });
});
