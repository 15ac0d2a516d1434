/**
 * An outsider attacks a real member process (api.md "Identity and ACLs", "Tokens", "WebSocket,
 * SSE and browsers under auth", "Errors (additions)"). Every attack asserts the documented answer
 * and that nothing changed: every znode's stat and ACL, the tokens, the known sessions, the term.
 */
import { readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMember, type RunningMember } from '../support/member.js';
import { ADMIN_DIGEST, SUPER, basic, req, snapshotState, zpath, type Reply } from './support.js';
import { digestOf } from '../../src/auth/digest.js';

jest.setTimeout(60_000);

const ALICE = basic('alice', 'pw-alice');
const BOB = basic('bob', 'pw-bob');
const WWW = 'Basic realm="zgate", Bearer realm="zgate"';

let m: RunningMember;
let base: string;
let auditFile: string;
const sessions: string[] = [];

function expectErr(r: Reply, status: number, code: string): void {
  expect({ status: r.status, code: r.json?.error?.code, text: r.text }).toEqual({ status, code, text: expect.anything() });
}

async function unchanged(attack: () => Promise<void>): Promise<void> {
  const before = await snapshotState(base, sessions);
  await attack();
  const after = await snapshotState(base, sessions);
  expect(after).toEqual(before);
}

async function mk(path: string, acl: unknown, data = 'x'): Promise<void> {
  const r = await req(base, 'PUT', zpath(path), { auth: SUPER, body: data, headers: { 'if-none-match': '*', 'zgate-acl': JSON.stringify(acl), 'content-type': 'application/octet-stream' } });
  if (r.status !== 201) throw new Error(`create ${path}: ${r.status} ${r.text}`);
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zgate-hostile-'));
  auditFile = join(dir, 'audit.jsonl');
  m = await startMember({ readyPath: '/readyz', args: ['--super-digest', ADMIN_DIGEST, '--log-level', 'info', '--audit-log', auditFile, '--snapshot-entries', '50'] });
  base = m.baseUrl;
});
afterAll(async () => {
  await m?.stop();
});

describe('tokens that are not valid', () => {
  let good: string;
  beforeAll(async () => {
    const r = await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { ttlMs: 60000 } });
    expect(r.status).toBe(201);
    good = r.json.token;
  });

  const refused = async (token: string): Promise<void> => {
    await unchanged(async () => {
      for (const [method, path, body] of [['GET', zpath('/'), undefined], ['PUT', zpath('/forged'), 'x'], ['GET', '/v1/auth/whoami', undefined]] as const) {
        const r = await req(base, method, path, { auth: `Bearer ${token}`, body });
        expectErr(r, 401, 'AuthFailed');
        expect(r.headers.get('www-authenticate')).toBe(WWW);
      }
    });
  };

  it('a forged token of the right shape is 401 AuthFailed', async () => {
    const rnd = (n: number): string => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256))).toString('base64url');
    await refused(`zgt_${rnd(16)}.${rnd(32)}`);
  });

  it('a tampered token (one secret character changed) is 401', async () => {
    const last = good.at(-1)!;
    await refused(good.slice(0, -1) + (last === 'A' ? 'B' : 'A'));
  });

  it('a revoked token is 401 (standing in for an expired one)', async () => {
    const r = await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { ttlMs: 60000 } });
    expect((await req(base, 'GET', '/v1/auth/whoami', { auth: `Bearer ${r.json.token}` })).status).toBe(200);
    expect((await req(base, 'DELETE', `/v1/auth/tokens/${r.json.id}`, { auth: ALICE })).status).toBe(204);
    await refused(r.json.token);
  });
});

describe('credentials in URLs', () => {
  it.each(['token', 'access_token', 'auth', 'password'])('?%s= is 400 BadArguments and never logged', async (param) => {
    const secret = `urlsecret${param}${Math.random().toString(36).slice(2)}`;
    await unchanged(async () => {
      for (const [method, path] of [['GET', zpath('/')], ['PUT', zpath('/viaurl')], ['GET', '/v1/auth/whoami']] as const) {
        const r = await req(base, method, `${path}?${param}=${secret}`, { body: method === 'PUT' ? 'x' : undefined });
        expectErr(r, 400, 'BadArguments');
        expect(r.text).not.toContain(secret);
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(m.stdout() + m.stderr()).not.toContain(secret);
    if (existsSync(auditFile)) expect(readFileSync(auditFile, 'utf8')).not.toContain(secret);
  });
});

describe('digest identities', () => {
  beforeAll(async () => {
    await mk('/dg', [{ perms: 'cdrwa', scheme: 'digest', id: digestOf('alice', 'pw-alice') }]);
  });
  it('alice with her password reads it', async () => {
    expect((await req(base, 'GET', zpath('/dg'), { auth: ALICE })).status).toBe(200);
  });
  it('a wrong password is still an identity: 403 NoAuth', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'GET', zpath('/dg'), { auth: basic('alice', 'wrong') }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/dg'), { auth: basic('alice', 'wrong'), body: 'y' }), 403, 'NoAuth');
      const w = await req(base, 'GET', '/v1/auth/whoami', { auth: basic('alice', 'wrong') });
      expect(w.status).toBe(200);
      expect(w.text).not.toContain(digestOf('alice', 'wrong').split(':')[1]);
    });
  });
});

describe('every permission bit denied on every route', () => {
  const ATT = basic('mallory', 'pw');
  const bits = ['r', 'w', 'c', 'd', 'a'] as const;
  const allBut = (b: string): string => 'cdrwa'.replace(b, '');
  beforeAll(async () => {
    for (const b of bits) {
      await mk(`/deny-${b}`, [{ perms: allBut(b), scheme: 'world', id: 'anyone' }]);
      await mk(`/deny-${b}/kid`, [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
    }
  });

  it('READ: GET, HEAD, ?children, ?raw, txn check are 403 (?acl=true allowed by ADMIN)', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'GET', zpath('/deny-r'), { auth: ATT }), 403, 'NoAuth');
      expect((await req(base, 'HEAD', zpath('/deny-r'), { auth: ATT })).status).toBe(403);
      expectErr(await req(base, 'GET', zpath('/deny-r') + '?children=true', { auth: ATT }), 403, 'NoAuth');
      expectErr(await req(base, 'GET', zpath('/deny-r') + '?raw=true', { auth: ATT }), 403, 'NoAuth');
      const t = await req(base, 'POST', '/v1/txn', { auth: ATT, body: { ops: [{ op: 'check', path: '/deny-r', version: -1 }] } });
      expectErr(t, 403, 'NoAuth');
      expect((await req(base, 'GET', zpath('/deny-r') + '?acl=true', { auth: ATT })).status).toBe(200);
    });
  });

  it('WRITE: PUT set is 403, also with If-Match', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'PUT', zpath('/deny-w'), { auth: ATT, body: 'evil' }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/deny-w'), { auth: ATT, body: 'evil', headers: { 'if-match': '"0"' } }), 403, 'NoAuth');
    });
  });

  it('CREATE: POST child, PUT create, parents=true are 403', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'POST', zpath('/deny-c/new'), { auth: ATT, body: 'x' }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/deny-c/seq-') + '?mode=persistent_sequential', { auth: ATT, body: 'x' }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/deny-c/new'), { auth: ATT, body: 'x', headers: { 'if-none-match': '*' } }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/deny-c/new'), { auth: ATT, body: 'x' }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/deny-c/a/b') + '?parents=true', { auth: ATT, body: 'x' }), 403, 'NoAuth');
    });
  });

  it('DELETE on the parent: 403 for an existing child and for a missing one (no existence leak)', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'DELETE', zpath('/deny-d/kid'), { auth: ATT }), 403, 'NoAuth');
      expectErr(await req(base, 'DELETE', zpath('/deny-d/missing'), { auth: ATT }), 403, 'NoAuth');
      expectErr(await req(base, 'DELETE', zpath('/deny-d/kid') + '?recursive=true', { auth: ATT }), 403, 'NoAuth');
    });
  });

  it('ADMIN: PUT ?acl=true is 403', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'PUT', zpath('/deny-a') + '?acl=true', { auth: ATT, body: { acl: [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }] } }), 403, 'NoAuth');
    });
  });

  it('GET ?acl=true with neither READ nor ADMIN is 403; with READ only a digest id reads user:x', async () => {
    await mk('/acl-none', [{ perms: 'cdw', scheme: 'world', id: 'anyone' }]);
    await mk('/acl-read', [{ perms: 'r', scheme: 'world', id: 'anyone' }, { perms: 'cdrwa', scheme: 'digest', id: digestOf('alice', 'pw-alice') }]);
    await unchanged(async () => {
      expectErr(await req(base, 'GET', zpath('/acl-none') + '?acl=true', { auth: ATT }), 403, 'NoAuth');
      const r = await req(base, 'GET', zpath('/acl-read') + '?acl=true', { auth: ATT });
      expect(r.status).toBe(200);
      expect(r.json.acl).toEqual([{ perms: 'r', scheme: 'world', id: 'anyone' }, { perms: 'cdrwa', scheme: 'digest', id: 'alice:x' }]);
      expect(r.text).not.toContain(digestOf('alice', 'pw-alice').split(':')[1]);
    });
  });

  it('a txn with a denied op is 403 with per-op results and applies nothing', async () => {
    await unchanged(async () => {
      const r = await req(base, 'POST', '/v1/txn', {
        auth: ATT,
        body: { ops: [{ op: 'create', path: '/deny-r/t1', data: 'x' }, { op: 'set', path: '/deny-w', data: 'evil' }, { op: 'create', path: '/deny-r/t2', data: 'x' }] },
      });
      expectErr(r, 403, 'NoAuth');
      expect(r.json.error.opIndex).toBe(1);
      expect(r.json.results.map((x: { code: string }) => x.code)).toEqual(['Ok', 'NoAuth', 'RuntimeInconsistency']);
    });
  });
});

describe('token scope', () => {
  let ro: string;
  let pre: string;
  beforeAll(async () => {
    await mk('/app', [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
    await mk('/app/x', [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
    await mk('/apple', [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
    ro = (await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { readOnly: true } })).json.token;
    pre = (await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { prefix: '/app' } })).json.token;
  });
  it('a read-only token reads but is refused a write (403)', async () => {
    expect((await req(base, 'GET', zpath('/app/x'), { auth: `Bearer ${ro}` })).status).toBe(200);
    await unchanged(async () => {
      expectErr(await req(base, 'PUT', zpath('/app/x'), { auth: `Bearer ${ro}`, body: 'y' }), 403, 'NoAuth');
      expectErr(await req(base, 'DELETE', zpath('/app/x'), { auth: `Bearer ${ro}` }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/app/new'), { auth: `Bearer ${ro}`, body: 'y' }), 403, 'NoAuth');
    });
  });
  it('a /app token is refused /apple and / but allowed /app/x', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'GET', zpath('/apple'), { auth: `Bearer ${pre}` }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/apple'), { auth: `Bearer ${pre}`, body: 'y' }), 403, 'NoAuth');
      expectErr(await req(base, 'GET', zpath('/'), { auth: `Bearer ${pre}` }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/new'), { auth: `Bearer ${pre}`, body: 'y' }), 403, 'NoAuth');
    });
    expect((await req(base, 'GET', zpath('/app/x'), { auth: `Bearer ${pre}` })).status).toBe(200);
    expect((await req(base, 'PUT', zpath('/app/x'), { auth: `Bearer ${pre}`, body: 'ok' })).status).toBe(200);
  });
  it('a token cannot mint a token; ids may only narrow', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'POST', '/v1/auth/tokens', { auth: `Bearer ${pre}`, body: {} }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', '/v1/auth/tokens', { auth: BOB, body: { ids: [{ scheme: 'digest', id: 'alice' }] } }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', '/v1/auth/tokens', { auth: BOB, body: { ids: [{ scheme: 'super', id: '' }] } }), 403, 'NoAuth');
    });
  });
  it("bob cannot see or revoke alice's token (404)", async () => {
    const id = ro.slice(4).split('.')[0]!;
    await unchanged(async () => {
      expectErr(await req(base, 'GET', `/v1/auth/tokens/${id}`, { auth: BOB }), 404, expect.any(String) as unknown as string);
      expect((await req(base, 'DELETE', `/v1/auth/tokens/${id}`, { auth: BOB })).status).toBe(404);
      const l = await req(base, 'GET', '/v1/auth/tokens', { auth: BOB });
      expect(l.text).not.toContain(id);
    });
  });
});

describe("sessions belong to their creator's ids", () => {
  let sid: string;
  beforeAll(async () => {
    const r = await req(base, 'POST', '/v1/sessions', { auth: ALICE, body: { timeoutMs: 60000 } });
    expect(r.status).toBe(201);
    sid = r.json.sessionId;
    sessions.push(sid);
  });
  it('bob is refused keepalive, GET, DELETE and Zgate-Session (403)', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'POST', `/v1/sessions/${sid}/keepalive`, { auth: BOB }), 403, 'NoAuth');
      expectErr(await req(base, 'GET', `/v1/sessions/${sid}`, { auth: BOB }), 403, 'NoAuth');
      expectErr(await req(base, 'DELETE', `/v1/sessions/${sid}`, { auth: BOB }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/bob-eph') + '?mode=ephemeral', { auth: BOB, body: 'x', headers: { 'zgate-session': sid } }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/bob-eph') + '?mode=ephemeral', { body: 'x', headers: { 'zgate-session': sid } }), 403, 'NoAuth');
    });
    expect((await req(base, 'POST', `/v1/sessions/${sid}/keepalive`, { auth: ALICE })).status).toBe(200);
  });
  it("an Idempotency-Key used by alice does not replay alice's answer to bob", async () => {
    const key = `k-${Math.random()}`;
    const a = await req(base, 'PUT', zpath('/idem-a'), { auth: ALICE, body: 'alice', headers: { 'idempotency-key': key } });
    expect(a.status).toBe(201);
    const b = await req(base, 'PUT', zpath('/idem-b'), { auth: BOB, body: 'bob', headers: { 'idempotency-key': key } });
    expect(b.status).toBe(201);
    expect(b.json.path).toBe('/idem-b');
    expect((await req(base, 'GET', zpath('/idem-b'), { auth: SUPER })).json.data).toBe('bob');
    expect((await req(base, 'GET', zpath('/idem-a'), { auth: SUPER })).json.data).toBe('alice');
  });
});

describe('cookies and browsers', () => {
  let cookie: string;
  beforeAll(async () => {
    const r = await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { cookie: true } });
    expect(r.status).toBe(201);
    const set = r.headers.get('set-cookie')!;
    expect(set).toMatch(/^zgate_token=/);
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    cookie = set.split(';')[0]!;
    await mk('/ck', [{ perms: 'cdrwa', scheme: 'digest', id: digestOf('alice', 'pw-alice') }]);
  });
  it('an evil Origin, Sec-Fetch-Site: cross-site, or an unsafe method with no Origin is 403', async () => {
    await unchanged(async () => {
      expectErr(await req(base, 'GET', zpath('/ck'), { headers: { cookie, origin: 'https://evil.example' } }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/ck'), { body: 'evil', headers: { cookie, origin: 'https://evil.example' } }), 403, 'NoAuth');
      expectErr(await req(base, 'GET', zpath('/ck'), { headers: { cookie, 'sec-fetch-site': 'cross-site' } }), 403, 'NoAuth');
      expectErr(await req(base, 'PUT', zpath('/ck'), { body: 'evil', headers: { cookie, 'sec-fetch-site': 'cross-site', origin: base } }), 403, 'NoAuth');
      expectErr(await req(base, 'POST', zpath('/ck/new'), { body: 'evil', headers: { cookie } }), 403, 'NoAuth');
    });
  });
  it("the member's own Origin works", async () => {
    expect((await req(base, 'GET', zpath('/ck'), { headers: { cookie, origin: base } })).status).toBe(200);
    expect((await req(base, 'PUT', zpath('/ck'), { body: 'mine', headers: { cookie, origin: base } })).status).toBe(200);
  });
  it('raw reads carry CSP sandbox and nosniff', async () => {
    await mk('/html', [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }], '<script>alert(1)</script>');
    for (const r of [await req(base, 'GET', zpath('/html') + '?raw=true'), await req(base, 'GET', zpath('/html'), { headers: { accept: 'application/octet-stream' } }), await req(base, 'HEAD', zpath('/html') + '?raw=true')]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('content-security-policy')).toBe('sandbox');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const e = await req(base, 'GET', zpath('/nope') + '?raw=true');
    expect(e.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('secrets at rest and in logs', () => {
  it('a token secret is nowhere on disk, in no log, nor the audit log, after writes and a snapshot', async () => {
    const r = await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { ttlMs: 600000 } });
    const token: string = r.json.token;
    const secret = token.split('.')[1]!;
    for (let i = 0; i < 100; i++) {
      const w = await req(base, 'PUT', zpath(`/w${i % 10}`), { auth: `Bearer ${token}`, body: `v${i}` });
      expect(w.status).toBeLessThan(300);
    }
    await new Promise((res) => setTimeout(res, 500));
    const files = allFiles(m.dataDir);
    expect(files.some((f) => /snap/i.test(f))).toBe(true);
    const needles = [Buffer.from(secret), Buffer.from(secret, 'base64url'), Buffer.from(token), Buffer.from('pw-alice')];
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const n of needles) expect({ f, found: bytes.includes(n) }).toEqual({ f, found: false });
    }
    const logs = m.stdout() + m.stderr() + readFileSync(auditFile, 'utf8');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain('pw-alice');
  });

  it('the audit log: one JSON line per write and per 401/403, no data, password or digest hash', async () => {
    // 401/403 records are bounded per client per second, and every test here is 127.0.0.1: start a fresh window.
    await new Promise((res) => setTimeout(res, 1100));
    const before = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).length;
    await req(base, 'PUT', zpath('/audited'), { auth: ALICE, body: 'DATA-SHOULD-NOT-APPEAR' });
    await req(base, 'GET', zpath('/dg'), { auth: basic('carol', 'pw-carol') }); // 403
    await req(base, 'GET', zpath('/'), { auth: 'Bearer zgt_AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }); // 401
    await new Promise((res) => setTimeout(res, 500));
    const lines = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean);
    const fresh = lines.slice(before).map((l) => JSON.parse(l));
    expect(fresh.filter((l) => l.path === '/audited').length).toBe(1);
    expect(fresh.filter((l) => l.path === '/dg' && (l.code === 'NoAuth' || l.result === 403 || String(l.result).includes('403'))).length).toBe(1);
    expect(fresh.filter((l) => l.code === 'AuthFailed').length).toBe(1);
    const all = lines.join('\n');
    for (const bad of ['DATA-SHOULD-NOT-APPEAR', 'pw-alice', 'pw-carol', 'pw-bob', digestOf('alice', 'pw-alice').split(':')[1]!, digestOf('carol', 'pw-carol').split(':')[1]!, 'x1nq8J5GOJVPY6zgzhtTtA9izLc=']) {
      expect(all).not.toContain(bad);
    }
  });
});

describe('--auth-required and --digest-users', () => {
  let m2: RunningMember;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zgate-hostile-users-'));
    const users = join(dir, 'users.txt');
    writeFileSync(users, `${ADMIN_DIGEST}\n${digestOf('alice', 'pw-alice')}\n`);
    m2 = await startMember({ readyPath: '/readyz', args: ['--super-digest', ADMIN_DIGEST, '--auth-required', '--digest-users', users] });
  });
  afterAll(async () => {
    await m2?.stop();
  });
  it('anonymous is 401; an unlisted user is 401; whoami with Basic works', async () => {
    const b = m2.baseUrl;
    const before = await snapshotState(b);
    const anon = await req(b, 'GET', zpath('/'));
    expectErr(anon, 401, 'AuthFailed');
    expect(anon.headers.get('www-authenticate')).toBe(WWW);
    expectErr(await req(b, 'PUT', zpath('/anon'), { body: 'x' }), 401, 'AuthFailed');
    expectErr(await req(b, 'GET', zpath('/'), { auth: basic('mallory', 'pw') }), 401, 'AuthFailed');
    expectErr(await req(b, 'GET', zpath('/'), { auth: basic('alice', 'wrong') }), 401, 'AuthFailed');
    expectErr(await req(b, 'POST', '/v1/sessions', { body: { timeoutMs: 5000 } }), 401, 'AuthFailed');
    expect(await snapshotState(b)).toEqual(before);
    const w = await req(b, 'GET', '/v1/auth/whoami', { auth: ALICE });
    expect(w.status).toBe(200);
    expect(w.json.ids).toContainEqual({ scheme: 'digest', id: 'alice' });
    expect(w.json.super).toBe(false);
  });
});
