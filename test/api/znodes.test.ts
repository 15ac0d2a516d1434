/**
 * Every row of api.md's operation and error tables, against the real app and a real member.
 * After each refused request the tree must be exactly as it was (same digest, same zxid).
 */
import request from 'supertest';
import { startApp, type TestApp } from './helpers.js';

let t: TestApp;
let http: ReturnType<typeof request>;

beforeEach(async () => {
  t = await startApp({ config: { maxDataBytes: 1024, maxDeleteNodes: 5, minZxidWaitMs: 200 } }, { tree: { maxDataBytes: 1024 } });
  http = request(t.app.server);
});
afterEach(async () => t.close());

/**
 * Runs `fn` and checks it changed nothing in the tree. Bad input (400, 410, 413) is refused
 * before the log: not even a failed entry. A write that fails on the tree's state (NoNode,
 * BadVersion, ...) is decided at apply, so its entry takes one zxid, as in ZooKeeper.
 */
async function unchanged(fn: () => Promise<request.Response | void>): Promise<void> {
  const before = t.member.tree.digest();
  const zxid = t.member.appliedZxid;
  const res = await fn();
  expect(t.member.tree.digest()).toBe(before);
  expect(t.member.tree.nodeCount).toBeGreaterThan(0);
  if (!res || [400, 410, 413].includes(res.status)) expect(t.member.appliedZxid).toBe(zxid);
  else expect(t.member.appliedZxid - zxid).toBeLessThanOrEqual(1);
}

async function unchangedRes(fn: () => Promise<request.Response>): Promise<request.Response> {
  let res: request.Response | undefined;
  await unchanged(async () => (res = await fn()));
  return res!;
}

function expectError(res: request.Response, status: number, code: string, path?: string): request.Response {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(0);
  if (path !== undefined) expect(res.body.error.path).toBe(path);
  expect(res.headers['zgate-zxid']).toMatch(/^[0-9]+$/);
  return res;
}

const STAT_KEYS = ['czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion', 'ephemeralOwner', 'dataLength', 'numChildren'];

describe('GET', () => {
  test('JSON envelope with stat; ids are decimal strings; ETag and Zgate-Zxid', async () => {
    const c = await http.put('/v1/znodes/a').send('hello');
    expect(c.status).toBe(201);
    const res = await http.get('/v1/znodes/a');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ path: '/a', data: 'hello', encoding: 'utf8' });
    expect(Object.keys(res.body.stat).sort()).toEqual([...STAT_KEYS].sort());
    expect(res.body.stat.czxid).toMatch(/^[0-9]+$/);
    expect(res.body.stat.ephemeralOwner).toBe('0');
    expect(res.body.stat.dataLength).toBe(5);
    expect(res.headers.etag).toBe('"0"');
    expect(res.headers['zgate-zxid']).toBe(String(t.member.appliedZxid));
    const head = await http.head('/v1/znodes/a');
    expect(JSON.parse(head.headers['zgate-stat'])).toEqual(res.body.stat);
    expect(head.headers.etag).toBe('"0"');
  });

  test('binary data is base64; ?encoding=base64 forces it', async () => {
    await http.put('/v1/znodes/bin').set('content-type', 'application/octet-stream').send(Buffer.from([0xff, 0x00, 0xfe]));
    const res = await http.get('/v1/znodes/bin');
    expect(res.body).toMatchObject({ data: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), encoding: 'base64' });
    await http.put('/v1/znodes/txt').send('hi');
    const forced = await http.get('/v1/znodes/txt?encoding=base64');
    expect(forced.body).toMatchObject({ data: 'aGk=', encoding: 'base64' });
  });

  test('?raw=true and Accept: application/octet-stream answer the bytes, nosniff, stat header', async () => {
    const bytes = Buffer.from('<html><script>alert(1)</script>');
    await http.put('/v1/znodes/raw').set('content-type', 'text/html').send(bytes);
    for (const res of [
      await http.get('/v1/znodes/raw?raw=true').buffer(true).parse(binaryParser),
      await http.get('/v1/znodes/raw').set('accept', 'application/octet-stream').buffer(true).parse(binaryParser),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
      expect(JSON.parse(res.headers['zgate-stat']).dataLength).toBe(bytes.length);
      expect(res.headers.etag).toBe('"0"');
    }
  });

  test('children are sorted and paged with limit and after', async () => {
    await http.put('/v1/znodes/p').send('');
    for (const n of ['c', 'a', 'e', 'b', 'd']) await http.put(`/v1/znodes/p/${n}`).send('');
    const all = await http.get('/v1/znodes/p?children=true');
    expect(all.body.children).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(all.body.more).toBe(false);
    const page1 = await http.get('/v1/znodes/p?children=true&limit=2');
    expect(page1.body.children).toEqual(['a', 'b']);
    expect(page1.body.more).toBe(true);
    const page2 = await http.get('/v1/znodes/p?children=true&limit=2&after=b');
    expect(page2.body.children).toEqual(['c', 'd']);
    const page3 = await http.get('/v1/znodes/p?children=true&limit=2&after=d');
    expect(page3.body).toMatchObject({ children: ['e'], more: false });
    const root = await http.get('/v1/znodes?children=true');
    expect(root.body.children).toEqual(['p', 'zookeeper']);
  });

  test('HEAD answers the headers of GET; 404 for a missing znode', async () => {
    await http.put('/v1/znodes/h').send('xyz');
    const res = await http.head('/v1/znodes/h');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"0"');
    expect(JSON.parse(res.headers['zgate-stat']).dataLength).toBe(3);
    const missing = await http.head('/v1/znodes/nope');
    expect(missing.status).toBe(404);
  });

  test('missing znode: 404 NoNode with the path', async () => {
    expectError(await http.get('/v1/znodes/missing/child'), 404, 'NoNode', '/missing/child');
  });

  test('?minZxid waits for the zxid, then 503 Unavailable with Retry-After', async () => {
    await http.put('/v1/znodes/m').send('1');
    const now = t.member.appliedZxid;
    const ok = await http.get(`/v1/znodes/m?minZxid=${now}`);
    expect(ok.status).toBe(200);
    const late = http.get(`/v1/znodes/m?minZxid=${now + 1}`).then((r) => r);
    await http.put('/v1/znodes/m').send('2');
    expect((await late).status).toBe(200);
    const never = await http.get(`/v1/znodes/m?minZxid=${now + 100}`);
    expectError(never, 503, 'Unavailable');
    expect(never.headers['retry-after']).toBe('1');
  });

  test('?consistency=linearizable reads the latest write', async () => {
    await http.put('/v1/znodes/l').send('v1');
    const res = await http.get('/v1/znodes/l?consistency=linearizable');
    expect(res.body.data).toBe('v1');
  });

  test('the reserved /zookeeper subtree can be read', async () => {
    const res = await http.get('/v1/znodes/zookeeper?children=true');
    expect(res.status).toBe(200);
    expect(res.body.children).toEqual(['config', 'quota']);
  });
});

describe('PUT', () => {
  test('upsert: 201 with Location on create, 200 on set (version bumps even for identical bytes)', async () => {
    const c = await http.put('/v1/znodes/u').send('x');
    expect(c.status).toBe(201);
    expect(c.headers.location).toBe('/v1/znodes/u');
    expect(c.body.path).toBe('/u');
    expect(c.body.stat.version).toBe(0);
    expect(c.headers['zgate-zxid']).toBe(c.body.stat.czxid);
    const s = await http.put('/v1/znodes/u').send('x');
    expect(s.status).toBe(200);
    expect(s.body.stat.version).toBe(1);
    expect(s.headers.etag).toBe('"1"');
    expect(s.headers['zgate-zxid']).toBe(s.body.stat.mzxid);
  });

  test('If-Match: a versioned set; 412 BadVersion on a mismatch; 404 when absent', async () => {
    await http.put('/v1/znodes/cas').send('a');
    const ok = await http.put('/v1/znodes/cas').set('if-match', '"0"').send('b');
    expect(ok.status).toBe(200);
    expect(ok.body.stat.version).toBe(1);
    await unchanged(async () => expectError(await http.put('/v1/znodes/cas').set('if-match', '"0"').send('c'), 412, 'BadVersion', '/cas'));
    await unchanged(async () => expectError(await http.put('/v1/znodes/absent').set('if-match', '"0"').send('c'), 404, 'NoNode'));
    const star = await http.put('/v1/znodes/cas').set('if-match', '*').send('d');
    expect(star.status).toBe(200);
  });

  test('?version=: 409 BadVersion on a mismatch', async () => {
    await http.put('/v1/znodes/v').send('a');
    expect((await http.put('/v1/znodes/v?version=0').send('b')).status).toBe(200);
    await unchanged(async () => expectError(await http.put('/v1/znodes/v?version=0').send('c'), 409, 'BadVersion'));
    expect((await http.put('/v1/znodes/v?version=-1').send('d')).status).toBe(200);
  });

  test('If-None-Match: * creates only; 412 NodeExists otherwise', async () => {
    const c = await http.put('/v1/znodes/once').set('if-none-match', '*').send('1');
    expect(c.status).toBe(201);
    await unchanged(async () => expectError(await http.put('/v1/znodes/once').set('if-none-match', '*').send('2'), 412, 'NodeExists'));
  });

  test('bad versions and preconditions are 400 and change nothing', async () => {
    await http.put('/v1/znodes/b').send('1');
    for (const v of ['-2', 'abc', '1.5', '', '99999999999']) {
      await unchanged(async () => expectError(await http.put(`/v1/znodes/b?version=${v}`).send('2'), 400, 'BadArguments'));
    }
    for (const h of ['3', 'W/"3"', '"x"', '"-1"']) {
      await unchanged(async () => expectError(await http.put('/v1/znodes/b').set('if-match', h).send('2'), 400, 'BadArguments'));
    }
    await unchanged(async () => expectError(await http.put('/v1/znodes/b').set('if-none-match', '"1"').send('2'), 400, 'BadArguments'));
    await unchanged(async () => expectError(await http.put('/v1/znodes/b?version=1').set('if-match', '"0"').send('2'), 400, 'BadArguments'));
  });

  test('missing parent: 404 NoNode; ?parents=true creates them', async () => {
    await unchanged(async () => expectError(await http.put('/v1/znodes/x/y/z').send('1'), 404, 'NoNode'));
    const c = await http.put('/v1/znodes/x/y/z?parents=true').send('1');
    expect(c.status).toBe(201);
    expect((await http.get('/v1/znodes/x/y')).status).toBe(200);
  });

  test('a body over the limit: 413 PayloadTooLarge, nothing written', async () => {
    await unchanged(async () => expectError(await http.put('/v1/znodes/big').send(Buffer.alloc(1025, 1)), 413, 'PayloadTooLarge'));
    expect((await http.put('/v1/znodes/big').send(Buffer.alloc(1024, 1))).status).toBe(201);
  });

  test('an empty body makes an empty znode', async () => {
    await http.put('/v1/znodes/empty');
    const res = await http.get('/v1/znodes/empty');
    expect(res.body).toMatchObject({ data: '', stat: { dataLength: 0 } });
  });
});

describe('POST (ZooKeeper create)', () => {
  test('default mode persistent; Location names the path', async () => {
    const res = await http.post('/v1/znodes/node').send('d');
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/v1/znodes/node');
    await unchanged(async () => expectError(await http.post('/v1/znodes/node').send('d'), 409, 'NodeExists', '/node'));
  });

  test('sequential names: parent create count as %010d, never reused', async () => {
    await http.put('/v1/znodes/queue').send('');
    await http.put('/v1/znodes/queue/plain').send('');
    const a = await http.post('/v1/znodes/queue/?mode=persistent_sequential').send('');
    expect(a.status).toBe(201);
    expect(a.body.path).toBe('/queue/0000000001');
    expect(a.headers.location).toBe('/v1/znodes/queue/0000000001');
    const b = await http.post('/v1/znodes/queue/job-?mode=persistent_sequential').send('');
    expect(b.body.path).toBe('/queue/job-0000000002');
    await http.delete('/v1/znodes/queue/job-0000000002');
    const c = await http.post('/v1/znodes/queue/job-?mode=persistent_sequential').send('');
    expect(c.body.path).toBe('/queue/job-0000000003');
  });

  test('container and TTL nodes report ephemeralOwner 0', async () => {
    const c = await http.post('/v1/znodes/ctr?mode=container').send('');
    expect(c.status).toBe(201);
    expect(c.body.stat.ephemeralOwner).toBe('0');
    const t1 = await http.post('/v1/znodes/ttl?mode=persistent_with_ttl&ttl=60000').send('');
    expect(t1.status).toBe(201);
    expect(t1.body.stat.ephemeralOwner).toBe('0');
    const t2 = await http.post('/v1/znodes/ttlseq-?mode=persistent_sequential_with_ttl&ttl=1').send('');
    expect(t2.body.path).toMatch(/^\/ttlseq-[0-9]{10}$/);
  });

  test('bad modes and TTLs: 400 BadArguments, nothing created', async () => {
    for (const q of ['mode=nope', 'ttl=1000', 'mode=persistent&ttl=5', 'mode=container&ttl=5', 'mode=persistent_with_ttl', 'mode=persistent_with_ttl&ttl=0',
      `mode=persistent_with_ttl&ttl=${2 ** 40}`, 'mode=persistent_with_ttl&ttl=-5', 'mode=persistent_with_ttl&ttl=1.5', 'bogus=1']) {
      await unchanged(async () => expectError(await http.post(`/v1/znodes/bad?${q}`).send(''), 400, 'BadArguments'));
    }
    expect((await http.post(`/v1/znodes/maxttl?mode=persistent_with_ttl&ttl=${2 ** 40 - 1}`).send('')).status).toBe(201);
  });

  test('ephemeral modes need a session: 400 without or malformed, 410 unknown', async () => {
    await unchanged(async () => expectError(await http.post('/v1/znodes/e?mode=ephemeral').send(''), 400, 'BadArguments'));
    await unchanged(async () => expectError(await http.post('/v1/znodes/e?mode=ephemeral').set('zgate-session', 'abc').send(''), 400, 'BadArguments'));
    await unchanged(async () => expectError(await http.post('/v1/znodes/e?mode=ephemeral_sequential').set('zgate-session', '12345').send(''), 410, 'SessionExpired'));
  });

  test('missing parent 404; under /zookeeper 400', async () => {
    await unchanged(async () => expectError(await http.post('/v1/znodes/no/parent').send(''), 404, 'NoNode'));
    await unchanged(async () => expectError(await http.post('/v1/znodes/zookeeper/mine').send(''), 400, 'BadArguments'));
    await unchanged(async () => expectError(await http.put('/v1/znodes/zookeeper/quota').send('x'), 400, 'BadArguments'));
    await unchanged(async () => expectError(await http.delete('/v1/znodes/zookeeper/config'), 400, 'BadArguments'));
  });
});

describe('DELETE', () => {
  test('204; 404 when missing; CAS by ?version= (409) and If-Match (412)', async () => {
    await http.put('/v1/znodes/d').send('');
    await unchanged(async () => expectError(await http.delete('/v1/znodes/d?version=3'), 409, 'BadVersion'));
    await unchanged(async () => expectError(await http.delete('/v1/znodes/d').set('if-match', '"3"'), 412, 'BadVersion'));
    const ok = await http.delete('/v1/znodes/d').set('if-match', '"0"');
    expect(ok.status).toBe(204);
    expect(ok.headers['zgate-zxid']).toBe(String(t.member.appliedZxid));
    await unchanged(async () => expectError(await http.delete('/v1/znodes/d'), 404, 'NoNode'));
  });

  test('NotEmpty 409; BadVersion wins over NotEmpty', async () => {
    await http.put('/v1/znodes/n/c?parents=true').send('');
    await unchanged(async () => expectError(await http.delete('/v1/znodes/n'), 409, 'NotEmpty'));
    await unchanged(async () => expectError(await http.delete('/v1/znodes/n?version=7'), 409, 'BadVersion'));
  });

  test('?recursive=true deletes the subtree in one transaction; over the bound deletes nothing', async () => {
    for (const p of ['r/a/x', 'r/a/y', 'r/b']) await http.put(`/v1/znodes/${p}?parents=true`).send('');
    const before = t.member.appliedZxid;
    const ok = await http.delete('/v1/znodes/r/a?recursive=true');
    expect(ok.status).toBe(204);
    expect(t.member.appliedZxid).toBe(before + 1);
    expect((await http.get('/v1/znodes/r/a')).status).toBe(404);
    for (let i = 0; i < 6; i++) await http.put(`/v1/znodes/big/n${i}?parents=true`).send('');
    const refused = await http.delete('/v1/znodes/big?recursive=true');
    expectError(refused, 400, 'BadArguments');
    expect(refused.body.error.message).toMatch(/7/);
    expect(refused.body.error.message).toMatch(/5/);
    expect((await http.get('/v1/znodes/big?children=true')).body.children).toHaveLength(6);
    await unchanged(async () => expectError(await http.delete('/v1/znodes/r?recursive=true&version=4'), 409, 'BadVersion'));
  });

  test('deleting / is 400', async () => {
    await unchanged(async () => expectError(await http.delete('/v1/znodes'), 400, 'BadArguments'));
    await unchanged(async () => expectError(await http.delete('/v1/znodes/'), 400, 'BadArguments'));
  });
});

describe('paths', () => {
  test.each([
    ['/v1/znodes/a%2Fb', 'a%2Fb'],
    ['/v1/znodes/a/./b', '"."'],
    ['/v1/znodes/a/../b', '".."'],
    ['/v1/znodes/a//b', ''],
    ['/v1/znodes/a/', ''],
    ['/v1/znodes/%F0%9F%98%80', ''],
    ['/v1/znodes/a%00b', ''],
    ['/v1/znodes/%zz', '%zz'],
  ])('%s is 400 BadArguments naming the segment', async (url, quoted) => {
    await unchanged(async () => {
      const res = await http.put(url).send('x');
      expectError(res, 400, 'BadArguments');
      expect(res.body.error.message).toContain(quoted);
      return res;
    });
    expectError(await http.get(url), 400, 'BadArguments');
  });

  test('percent-encoded names round-trip', async () => {
    const c = await http.put('/v1/znodes/hello%20world').send('x');
    expect(c.status).toBe(201);
    expect(c.body.path).toBe('/hello world');
    expect(c.headers.location).toBe('/v1/znodes/hello%20world');
    expect((await http.get('/v1/znodes/hello%20world')).body.path).toBe('/hello world');
  });
});

describe('POST /v1/txn', () => {
  test('success: results per op, one zxid for all', async () => {
    await http.put('/v1/znodes/b').send('old');
    await http.put('/v1/znodes/c').send('');
    await http.put('/v1/znodes/d').send('');
    const res = await http.post('/v1/txn').send({
      ops: [
        { op: 'create', path: '/a', data: 'x', encoding: 'utf8', mode: 'persistent' },
        { op: 'create', path: '/a/s-', mode: 'persistent_sequential' },
        { op: 'set', path: '/b', data: 'eQ==', encoding: 'base64', version: 0 },
        { op: 'delete', path: '/c', version: -1 },
        { op: 'check', path: '/d', version: 0 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.zxid).toBe(String(t.member.appliedZxid));
    expect(res.headers['zgate-zxid']).toBe(res.body.zxid);
    expect(res.body.results.map((r: { op: string; path: string }) => [r.op, r.path])).toEqual([
      ['create', '/a'],
      ['create', '/a/s-0000000000'],
      ['set', '/b'],
      ['delete', '/c'],
      ['check', '/d'],
    ]);
    expect(res.body.results[0].stat.czxid).toBe(res.body.zxid);
    expect(res.body.results[2].stat.mzxid).toBe(res.body.zxid);
    expect((await http.get('/v1/znodes/b')).body.data).toBe('y');
  });

  test('failure: the failing status, opIndex and ZooKeeper per-op results; nothing applied', async () => {
    await http.put('/v1/znodes/b').send('');
    const before = t.member.tree.digest();
    const res = await http.post('/v1/txn').send({
      ops: [
        { op: 'create', path: '/a', data: 'x' },
        { op: 'set', path: '/b', data: 'y', version: 3 },
        { op: 'delete', path: '/c' },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'BadVersion', path: '/b', opIndex: 1 });
    expect(res.body.results).toEqual([
      { op: 'create', code: 'Ok' },
      { op: 'set', code: 'BadVersion' },
      { op: 'delete', code: 'RuntimeInconsistency' },
    ]);
    expect(t.member.tree.digest()).toBe(before);
    expect((await http.get('/v1/znodes/a')).status).toBe(404);
  });

  test('an empty list succeeds', async () => {
    const res = await http.post('/v1/txn').send({ ops: [] });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([]);
  });

  test('bad input is 400 (or 413), never 500, and changes nothing', async () => {
    const bad: [string | object, number, string][] = [
      ['{not json', 400, 'BadArguments'],
      ['', 400, 'BadArguments'],
      [{}, 400, 'BadArguments'],
      [{ ops: 'x' }, 400, 'BadArguments'],
      [{ ops: [{ op: 'rename', path: '/a' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create', path: 'rel' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create', path: '/a', data: '!!', encoding: 'base64' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create', path: '/a', mode: 'weird' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'set', path: '/a', version: -2 }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'set', path: '/a', version: true }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'delete', path: '/a', data: 'x' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create', path: '/a', extra: 1 }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create', path: '/e', mode: 'ephemeral' }] }, 400, 'BadArguments'],
      [{ ops: [{ op: 'create', path: '/a', data: 'x'.repeat(600) }, { op: 'create', path: '/b', data: 'x'.repeat(600) }] }, 413, 'PayloadTooLarge'],
    ];
    for (const [body, status, code] of bad) {
      await unchanged(async () => {
        const req = http.post('/v1/txn').set('content-type', 'application/json');
        return expectError(await req.send(typeof body === 'string' ? body : JSON.stringify(body)), status, code);
      });
    }
  });

  test('a txn refused before the log still reports opIndex and per-op results', async () => {
    const res = await unchangedRes(() => http.post('/v1/txn').send({ ops: [{ op: 'create', path: '/ok' }, { op: 'create', path: '/bad/./x' }, { op: 'delete', path: '/c' }] }));
    expectError(res, 400, 'BadArguments');
    expect(res.body.error.opIndex).toBe(1);
    expect(res.body.results).toEqual([
      { op: 'create', code: 'Ok' },
      { op: 'create', code: 'BadArguments' },
      { op: 'delete', code: 'RuntimeInconsistency' },
    ]);
  });

  test('curl-style bodies (any Content-Type) are read as JSON', async () => {
    const res = await http.post('/v1/txn').set('content-type', 'application/x-www-form-urlencoded').send(JSON.stringify({ ops: [{ op: 'create', path: '/f' }] }));
    expect(res.status).toBe(200);
  });
});

describe('operations', () => {
  test('/healthz, /readyz, /v1/cluster', async () => {
    expect((await http.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await http.get('/readyz')).status).toBe(200);
    const c = await http.get('/v1/cluster');
    expect(c.body).toMatchObject({ id: 1, leaderId: 1, members: [{ id: 1, role: 'leader', reachable: true }] });
    expect(c.body.appliedZxid).toBe(String(t.member.appliedZxid));
  });

  test('/metrics counts requests, znodes, bytes and the last zxid', async () => {
    await http.put('/v1/znodes/m').send('12345');
    const res = await http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/zgate_http_requests_total\{method="PUT",route="\/v1\/znodes\/\*",status="201"\} 1/);
    expect(res.text).toMatch(new RegExp(`zgate_znodes ${t.member.tree.nodeCount}`));
    expect(res.text).toMatch(/zgate_data_bytes 5/);
    expect(res.text).toMatch(new RegExp(`zgate_last_zxid ${t.member.appliedZxid}`));
    expect(res.text).toMatch(/zgate_http_request_duration_seconds_bucket/);
  });

  test('unknown routes answer 404 in the error envelope', async () => {
    const res = await http.get('/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('/v2/nothing');
  });
});

describe('CORS', () => {
  test('no CORS headers by default', async () => {
    const res = await http.get('/v1/znodes').set('origin', 'http://example.test');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('an allow-listed origin gets CORS headers; another does not', async () => {
    const c = await startApp({ config: { corsOrigins: ['http://ok.test'] } });
    try {
      const h = request(c.app.server);
      const ok = await h.get('/v1/znodes').set('origin', 'http://ok.test');
      expect(ok.headers['access-control-allow-origin']).toBe('http://ok.test');
      expect(ok.headers['access-control-expose-headers']).toContain('zgate-zxid');
      const pre = await h.options('/v1/znodes/a').set('origin', 'http://ok.test').set('access-control-request-method', 'PUT');
      expect(pre.status).toBe(204);
      const no = await h.get('/v1/znodes').set('origin', 'http://evil.test');
      expect(no.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await c.close();
    }
  });
});

function binaryParser(res: request.Response, cb: (err: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => cb(null, Buffer.concat(chunks)));
}
