/**
 * Idempotent retries (Idempotency-Key): the replicated table on its own; on one member over
 * HTTP (each write kind applies once and a retry gets the original answer, marked
 * Idempotent-Replayed; another request under the same key is refused); across a restart from
 * a snapshot; and on a 3-member cluster, across a leader change and with the same write sent
 * to two members at once.
 */
import type { ApplyOutcome } from '../../src/core/types.js';
import { IDEMPOTENCY_MAX_AGE_MS } from '../../src/core/idempotency.js';
import { IdempotencyTable, opFingerprint } from '../../src/node/idempotency.js';
import { restoreSnapshot, snapshot, SessionTable } from '../../src/session/index.js';
import { DataTree } from '../../src/tree/datatree.js';
import { startApp, type TestApp } from '../api/helpers.js';
import { TestCluster, sleep } from '../cluster/helpers.js';
import { send } from '../support/http.js';
import { memberBuilt, startMember } from '../support/member.js';

const ok = (n: number): ApplyOutcome => ({ ok: true, result: { op: 'delete', path: `/p${n}` }, events: [] });

describe('IdempotencyTable', () => {
  test('a key replays its outcome; another op under it is a mismatch', () => {
    const t = new IdempotencyTable();
    const fp = opFingerprint({ op: 'delete', path: '/a', version: -1 });
    expect(t.lookup('k', fp).kind).toBe('new');
    t.store('k', fp, 7, 1000, ok(1));
    const r = t.lookup('k', fp);
    expect(r).toMatchObject({ kind: 'replay', stored: { zxid: 7, outcome: ok(1) } });
    expect(t.lookup('k', opFingerprint({ op: 'delete', path: '/b', version: -1 })).kind).toBe('mismatch');
  });

  test('bounded by count (oldest first) and by age in entry time', () => {
    const t = new IdempotencyTable(3, 1000);
    for (let i = 1; i <= 4; i++) t.store(`k${i}`, 'f', i, 100 * i, ok(i));
    expect(t.size).toBe(3);
    expect(t.lookup('k1', 'f').kind).toBe('new');
    t.expire(1250); // k2 (200) is older than 1250 - 1000
    expect(t.lookup('k2', 'f').kind).toBe('new');
    expect(t.lookup('k3', 'f').kind).toBe('replay');
    expect(new IdempotencyTable().maxAgeMs).toBe(IDEMPOTENCY_MAX_AGE_MS);
  });

  test('travels in the member snapshot', () => {
    const t = new IdempotencyTable();
    t.store('k', 'f', 3, 5, { ok: false, failure: { code: 'NodeExists', message: 'x', path: '/a' }, events: [] });
    const tree = new DataTree();
    tree.apply({ op: 'noop' }, 1, 0);
    const bytes = snapshot(tree, new SessionTable(), { idempotency: t.toSnapshot() });
    const back = IdempotencyTable.fromSnapshot(restoreSnapshot(bytes).extra.idempotency);
    expect(back.lookup('k', 'f')).toMatchObject({ kind: 'replay', stored: { zxid: 3, outcome: { ok: false, failure: { code: 'NodeExists' } } } });
    // A snapshot without the table restores an empty one.
    expect(IdempotencyTable.fromSnapshot(restoreSnapshot(snapshot(tree, new SessionTable())).extra.idempotency).size).toBe(0);
  });
});

interface Res {
  status: number;
  body: Record<string, unknown>;
  zxid: string | undefined;
  replayed: boolean;
}

describe('over HTTP on one member', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function req(method: string, url: string, headers: Record<string, string> = {}, payload?: string): Promise<Res> {
    const r = await t.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
    return { status: r.statusCode, body: r.body === '' ? {} : (JSON.parse(r.body) as Record<string, unknown>), zxid: r.headers['zgate-zxid'] as string | undefined, replayed: r.headers['idempotent-replayed'] === 'true' };
  }
  const version = async (path: string): Promise<number> => ((await req('GET', `/v1/znodes${path}`)).body.stat as { version: number }).version;

  test('create, set, upsert, sequential create, delete and txn apply once; a retry answers the original', async () => {
    const c1 = await req('PUT', '/v1/znodes/a', { 'if-none-match': '*', 'idempotency-key': 'k-create' }, 'one');
    const c2 = await req('PUT', '/v1/znodes/a', { 'if-none-match': '*', 'idempotency-key': 'k-create' }, 'one');
    expect(c1.status).toBe(201);
    expect(c2).toEqual({ ...c1, replayed: true });
    expect(c1.replayed).toBe(false);

    const s1 = await req('PUT', '/v1/znodes/a', { 'if-match': '*', 'idempotency-key': 'k-set' }, 'two');
    const s2 = await req('PUT', '/v1/znodes/a', { 'if-match': '*', 'idempotency-key': 'k-set' }, 'two');
    expect(s1.status).toBe(200);
    expect(s2).toEqual({ ...s1, replayed: true });
    expect(await version('/a')).toBe(1);

    // Upsert (no precondition): attempts keyed key#0.. replay the same way.
    const u1 = await req('PUT', '/v1/znodes/a', { 'idempotency-key': 'k-upsert' }, 'three');
    const u2 = await req('PUT', '/v1/znodes/a', { 'idempotency-key': 'k-upsert' }, 'three');
    expect(u1.status).toBe(200);
    expect(u2).toEqual({ ...u1, replayed: true });
    expect(await version('/a')).toBe(2);

    const q1 = await req('POST', '/v1/znodes/q/n-?mode=persistent_sequential&parents=true', { 'idempotency-key': 'k-seq' }, 'x');
    const q2 = await req('POST', '/v1/znodes/q/n-?mode=persistent_sequential&parents=true', { 'idempotency-key': 'k-seq' }, 'x');
    expect(q1.status).toBe(201);
    expect(q2.body.path).toBe(q1.body.path);
    expect((await req('GET', '/v1/znodes/q?children=true')).body.children).toEqual(['n-0000000000']);

    const txn = JSON.stringify({ ops: [{ op: 'set', path: '/a', data: 'four' }, { op: 'create', path: '/b', data: 'b' }] });
    const t1 = await req('POST', '/v1/txn', { 'content-type': 'application/json', 'idempotency-key': 'k-txn' }, txn);
    const t2 = await req('POST', '/v1/txn', { 'content-type': 'application/json', 'idempotency-key': 'k-txn' }, txn);
    expect(t1.status).toBe(200);
    expect(t2).toEqual({ ...t1, replayed: true });
    expect(await version('/a')).toBe(3);

    const d1 = await req('DELETE', '/v1/znodes/b', { 'idempotency-key': 'k-del' });
    const d2 = await req('DELETE', '/v1/znodes/b', { 'idempotency-key': 'k-del' });
    expect(d1.status).toBe(204);
    expect(d2.status).toBe(204);
    expect(d2.replayed).toBe(true);
    // Without a key the same delete is a new request: NoNode.
    expect((await req('DELETE', '/v1/znodes/b')).status).toBe(404);
  });

  test('a failed outcome is replayed too (the key is used up)', async () => {
    const f1 = await req('PUT', '/v1/znodes/a', { 'if-match': '"99"', 'idempotency-key': 'k-bad' }, 'x');
    const f2 = await req('PUT', '/v1/znodes/a', { 'if-match': '"99"', 'idempotency-key': 'k-bad' }, 'x');
    expect(f1.status).toBe(412);
    expect(f2).toEqual({ ...f1, replayed: true });
  });

  test('the same key with another request is refused; a malformed key is refused', async () => {
    const r = await req('PUT', '/v1/znodes/a', { 'if-none-match': '*', 'idempotency-key': 'k-create' }, 'other data');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'BadArguments' });
    expect(String((r.body.error as { message: string }).message)).toMatch(/different request/);
    expect((await req('PUT', '/v1/znodes/z', { 'idempotency-key': 'has space' }, 'x')).status).toBe(400);
    expect((await req('PUT', '/v1/znodes/z', { 'idempotency-key': 'x'.repeat(129) }, 'x')).status).toBe(400);
    expect((await req('GET', '/v1/znodes/z')).status).toBe(404);
  });
});

const maybe = memberBuilt() ? describe : describe.skip;

async function put(base: string, path: string, headers: Record<string, string>, body: string): Promise<Res> {
  const r = await send<Record<string, unknown>>(base, 'PUT', `/v1/znodes${path}`, { headers, body, timeoutMs: 10_000 });
  return { status: r.status, body: r.text === '' ? {} : r.body!, zxid: r.headers.get('zgate-zxid') ?? undefined, replayed: r.headers.get('idempotent-replayed') === 'true' };
}

maybe('real processes', () => {
  test('a key survives a restart from a snapshot', async () => {
    const m = await startMember({ args: ['--snapshot-entries', '5'], keepDataDir: true, readyPath: '/readyz' });
    try {
      const first = await put(m.baseUrl, '/s', { 'if-none-match': '*', 'idempotency-key': 'snap-key' }, 'v');
      expect(first.status).toBe(201);
      for (let i = 0; i < 12; i++) expect((await put(m.baseUrl, `/f${i}`, {}, 'x')).status).toBe(201);
      await m.kill('SIGKILL');
      const again = await startMember({ dataDir: m.dataDir, port: m.port, readyPath: '/readyz' });
      try {
        const retry = await put(again.baseUrl, '/s', { 'if-none-match': '*', 'idempotency-key': 'snap-key' }, 'v');
        expect(retry).toEqual({ ...first, replayed: true });
      } finally {
        await again.stop();
      }
    } finally {
      await m.stop();
    }
  }, 60_000);

  describe('on a 3-member cluster', () => {
    let c: TestCluster;
    beforeAll(async () => {
      c = await TestCluster.start(3);
      await c.waitLeader();
    }, 60_000);
    afterAll(async () => {
      await c?.stop();
    });

    async function retrying(id: number, path: string, headers: Record<string, string>, body: string): Promise<Res> {
      for (let i = 0; ; i++) {
        const r = await put(c.base(id), path, headers, body).catch(() => undefined);
        if (r !== undefined && r.status !== 503) return r;
        if (i > 200) throw new Error(`no answer for ${path}`);
        await sleep(50);
      }
    }

    test('the same keyed write sent to two members at once applies once; both get the same answer', async () => {
      const h = { 'if-match': '*', 'idempotency-key': 'twice' };
      expect((await retrying(1, '/dup', { 'if-none-match': '*' }, 'v0')).status).toBe(201);
      const [a, b] = await Promise.all([retrying(2, '/dup', h, 'v1'), retrying(3, '/dup', h, 'v1')]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.zxid).toBe(b.zxid);
      expect(a.body).toEqual(b.body);
      expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
      const g = await send<{ stat: { version: number } }>(c.base(1), 'GET', '/v1/znodes/dup?consistency=linearizable');
      expect(g.body!.stat.version).toBe(1);
    });

    test('a retry after a leader change gets the original answer and applies nothing', async () => {
      const leader = await c.waitLeader();
      const h = { 'if-match': '*', 'idempotency-key': 'across-leaders' };
      expect((await retrying(leader, '/lc', { 'if-none-match': '*' }, 'v0')).status).toBe(201);
      const first = await retrying(leader, '/lc', h, 'v1');
      expect(first.status).toBe(200);
      await c.kill(leader);
      const others = c.ids.filter((i) => i !== leader);
      const next = await c.waitLeader(20_000, others);
      expect(next).not.toBe(leader);
      const retry = await retrying(others.find((i) => i !== next)!, '/lc', h, 'v1');
      expect(retry).toEqual({ ...first, replayed: true });
      const g = await send<{ data: string; stat: { version: number } }>(c.base(next), 'GET', '/v1/znodes/lc?consistency=linearizable');
      expect(g.body).toMatchObject({ data: 'v1', stat: { version: 1 } });
      await c.startMember(leader);
    }, 60_000);
  });
});
