/**
 * One rule, whichever face: the coordination service decides readiness, idempotency keys and
 * session checks once, so the WebSocket and HTTP answer alike; the service itself is usable
 * without any face. Also the HTTP face's own corners: unknown routes, HEAD on the watch stream,
 * the documented HEAD routes.
 */
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { LateLog } from '../../src/log/local-log.js';
import { Member } from '../../src/node/member.js';
import { assembleApp, startApp, type TestApp } from '../api/helpers.js';
import { Client, serve, utf8, type Served } from '../watch/helpers.js';

describe('idempotency keys on the WebSocket, as over HTTP', () => {
  let s: Served;
  let ws: Client;
  beforeAll(async () => {
    s = await serve({ config: { heartbeatMs: 0 } });
    ws = await Client.connect(s.wsUrl);
  });
  afterAll(async () => {
    await ws.close();
    await s.close();
  });

  test('a create retried with its key replays the first answer (same zxid, applied once)', async () => {
    const first = await ws.request({ op: 'create', path: '/idem-ws', data: 'x', mode: 'persistent_sequential', idempotencyKey: 'k-ws-1' });
    expect(first.type).toBe('result');
    expect(first.idempotentReplayed).toBeUndefined();
    const again = await ws.request({ op: 'create', path: '/idem-ws', data: 'x', mode: 'persistent_sequential', idempotencyKey: 'k-ws-1' });
    expect(again.type).toBe('result');
    expect(again.path).toBe(first.path);
    expect(again.zxid).toBe(first.zxid);
    expect(again.idempotentReplayed).toBe(true);
    expect(s.member.tree.children('/')!.filter((n) => n.startsWith('idem-ws'))).toHaveLength(1);
  });

  test('a key first used over HTTP replays on the WebSocket: one table for every face', async () => {
    const http = await fetch(`${s.base}/v1/znodes/idem-both?mode=persistent_sequential`, { method: 'POST', body: 'y', headers: { 'idempotency-key': 'k-both' } });
    expect(http.status).toBe(201);
    const body = (await http.json()) as { path: string };
    const again = await ws.request({ op: 'create', path: '/idem-both', data: 'y', mode: 'persistent_sequential', idempotencyKey: 'k-both' });
    expect(again.path).toBe(body.path);
    expect(again.zxid).toBe(http.headers.get('zgate-zxid'));
    expect(again.idempotentReplayed).toBe(true);
  });

  test('the same key for another request, and a malformed key, are BadArguments and change nothing', async () => {
    await ws.request({ op: 'set', path: '/', data: '', idempotencyKey: 'k-ws-2' }).catch(() => undefined);
    const before = s.member.appliedZxid;
    const other = await ws.request({ op: 'delete', path: '/idem-ws-none', idempotencyKey: 'k-ws-2' });
    expect(other.type).toBe('error');
    expect((other.error as { code: string }).code).toBe('BadArguments');
    const bad = await ws.request({ op: 'create', path: '/idem-bad', idempotencyKey: 'has space' });
    expect(bad.type).toBe('error');
    expect((bad.error as { code: string; message: string }).message).toMatch(/Idempotency-Key must be 1\.\.128 visible ASCII/);
    expect(s.member.read('/idem-bad')).toBeUndefined();
    // The refused key still took one (noop) entry: the mismatch is decided when the entry applies.
    expect(s.member.appliedZxid).toBeLessThanOrEqual(before + 1);
  });

  test('an ephemeral create without a bound session is refused with the socket\'s hint', async () => {
    const r = await ws.request({ op: 'create', path: '/eph', mode: 'ephemeral' });
    expect(r.type).toBe('error');
    expect((r.error as { message: string }).message).toMatch(/bind one to this socket first/);
    const http = await fetch(`${s.base}/v1/znodes/eph?mode=ephemeral`, { method: 'POST' });
    expect(http.status).toBe(400);
    expect(((await http.json()) as { error: { message: string } }).error.message).toMatch(/send the Zgate-Session header/);
  });
});

describe('readiness is checked before any wait, on every face', () => {
  let member: Member;
  let app: Awaited<ReturnType<typeof assembleApp>>['app'];
  let base: string;
  beforeAll(async () => {
    member = new Member(new LateLog(1));
    member.markRecovering();
    ({ app } = await assembleApp(member, { config: { heartbeatMs: 0, minZxidWaitMs: 3000 } }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = typeof addr === 'object' && addr !== null ? `127.0.0.1:${addr.port}` : '';
  });
  afterAll(async () => {
    await app.close();
    await member.close();
  });

  test('a read asking for a zxid far ahead answers Unavailable at once, not after the wait', async () => {
    const ws = await Client.connect(`ws://${base}/v1/ws`);
    const t0 = performance.now();
    const r = await ws.request({ op: 'get', path: '/', minZxid: '1000' });
    const wsMs = performance.now() - t0;
    expect(r.type).toBe('error');
    expect((r.error as { code: string; message: string }).message).toMatch(/recovering/);
    const t1 = performance.now();
    const http = await fetch(`http://${base}/v1/znodes?minZxid=1000`);
    const httpMs = performance.now() - t1;
    expect(http.status).toBe(503);
    // Far below the 3 s wait either face would have spent had it waited first.
    expect(Math.max(wsMs, httpMs)).toBeLessThan(2000);
    await ws.close();
  });
});

describe('the HTTP face', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ config: { heartbeatMs: 0 } });
  });
  afterAll(async () => t.close());

  test('an unknown route is 404 Unimplemented, not BadArguments', async () => {
    const res = await request(t.app.server).get('/v1/nothing/here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('Unimplemented');
  });

  test('HEAD /healthz still answers (derived from its GET)', async () => {
    const res = await request(t.app.server).head('/healthz');
    expect(res.status).toBe(200);
  });

  test('the OpenAPI document describes HEAD only where it is declared on purpose, with its own summary', async () => {
    const doc = (await request(t.app.server).get('/openapi.json')).body as { paths: Record<string, Record<string, { summary?: string }>> };
    const znode = doc.paths['/v1/znodes/{path}']!;
    expect(znode.head!.summary).toMatch(/exist/);
    expect(znode.head!.summary).not.toBe(znode.get!.summary);
    expect(doc.paths['/v1/watch/{path}']!.head!.summary).toMatch(/headers/);
    expect(doc.paths['/healthz']!.head).toBeUndefined();
    expect(doc.paths['/v1/ws']!.head).toBeUndefined();
  });
});

describe('HEAD on the watch stream', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ config: { heartbeatMs: 0 } });
    await s.write({ op: 'create', path: '/h', data: utf8('1'), mode: 'persistent' });
  });
  afterAll(async () => s.close());

  const head = (path: string): Promise<{ status: number; type: string | undefined; ms: number }> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = httpRequest({ host: '127.0.0.1', port: s.port, path, method: 'HEAD', headers: { accept: 'text/event-stream' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], ms: performance.now() - t0 }));
      });
      req.setTimeout(5000, () => req.destroy(new Error(`HEAD ${path} held the connection open`)));
      req.on('error', reject);
      req.end();
    });

  test('answers the stream\'s headers and ends, registering nothing', async () => {
    const r = await head('/v1/watch/h');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/text\/event-stream/);
    expect(s.hub.stats().watches).toBe(0);
    expect(s.hub.stats().subscribers).toBe(0);
  });

  test('a bad path answers 400, as the GET would', async () => {
    expect((await head('/v1/watch/a%2Fb')).status).toBe(400);
    expect((await head('/v1/watch/a/..')).status).toBe(400);
  });
});

describe('the service without a face', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ config: { heartbeatMs: 0 } });
  });
  afterAll(async () => t.close());

  test('upsert creates then sets; sync answers a zxid that covers the writes; sessions are listed', async () => {
    const svc = t.parts.service;
    const a = await svc.upsert({ path: '/u', data: utf8('1') }, {});
    expect(a.ok && a.result.created).toBe(true);
    const b = await svc.upsert({ path: '/u', data: utf8('2') }, {});
    expect(b.ok && !b.result.created).toBe(true);
    expect(await svc.sync()).toBeGreaterThanOrEqual(b.zxid);
    const s = await svc.openSession(5000);
    expect((await svc.listSessions()).map((x) => x.sessionId)).toContain(s.sessionId);
    const read = await svc.read({ path: '/u', children: {} });
    expect(Buffer.from(read.znode!.data).toString()).toBe('2');
    expect(read.znode!.page).toEqual({ children: [], more: false });
    await svc.closeSession(s.sessionId);
    await expect(svc.getSession(s.sessionId)).rejects.toMatchObject({ code: 'SessionExpired' });
  });

  test('a txn puts the caller\'s session on its ephemeral creates, and refuses data over the bound before the log', async () => {
    const svc = t.parts.service;
    const s = await svc.openSession(5000);
    const w = await svc.txn([{ op: 'create', path: '/te', data: utf8(''), mode: 'ephemeral' }], { session: s.sessionId });
    expect(w.ok).toBe(true);
    expect(t.member.read('/te')!.stat.ephemeralOwner).toBe(s.sessionId);
    const before = t.member.appliedZxid;
    const big = new Uint8Array(svc.limits.maxDataBytes + 1);
    await expect(svc.txn([{ op: 'create', path: '/big', data: big, mode: 'persistent' }], {})).rejects.toMatchObject({ code: 'PayloadTooLarge' });
    expect(t.member.appliedZxid).toBe(before);
  });
});
