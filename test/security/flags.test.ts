/**
 * The security flags on a real member (in this process, real sockets and files): --root-acl,
 * --default-acl, --trust-proxy, --max-tokens, the leader's reaping of expired tokens, the
 * log redaction of session ids and URL credentials.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '../../src/api/http/log-redaction.js';
import { resolveServeConfig } from '../../src/server/config.js';
import { startMember, type RunningMember } from '../../src/server/start.js';
import { getFreePort, LOOPBACK } from '../support/ports.js';
import { basic, req, SUPER, ADMIN_DIGEST, until, zpath } from './support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function member(flags: Record<string, string>): Promise<{ m: RunningMember; base: string }> {
  const port = await getFreePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'zgate-flags-'));
  dirs.push(dataDir);
  const config = resolveServeConfig({ http: `${LOOPBACK}:${port}`, 'data-dir': dataDir, 'log-level': 'silent', 'super-digest': ADMIN_DIGEST, ...flags }, {});
  const m = await startMember(config, { onFatal: () => undefined });
  await m.started;
  return { m, base: `http://${LOOPBACK}:${port}` };
}

const ALICE = basic('alice', 'secret');
const BOB = basic('bob', 'pass');

describe('--root-acl and --default-acl', () => {
  let m: RunningMember;
  let base: string;
  beforeAll(async () => ({ m, base } = await member({ 'root-acl': 'world:anyone:r,digest:alice:' + 'aYXlLOpEooaV1cRAvUL1fp9Qt7E=:cdrwa', 'default-acl': 'world:anyone:r,auth::cdrwa' })));
  afterAll(async () => m.stop());

  it('the first leader gives / the --root-acl once, at ACL version 1', async () => {
    const r = await until(() => req(base, 'GET', zpath('/') + '?acl=true', { auth: SUPER }), (x) => x.json?.stat?.aversion === 1);
    expect(r.json.acl).toEqual([
      { perms: 'r', scheme: 'world', id: 'anyone' },
      { perms: 'cdrwa', scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' },
    ]);
    // Anonymous callers may read / but not create under it; alice may. (With no ACL of its
    // own, an anonymous create is InvalidACL first: the default's auth entry has no one to name.)
    expect((await req(base, 'POST', zpath('/anon'), { body: 'x' })).status).toBe(400);
    const open = JSON.stringify([{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }]);
    expect((await req(base, 'POST', zpath('/anon'), { body: 'x', headers: { 'zgate-acl': open } })).status).toBe(403);
    expect((await req(base, 'POST', zpath('/mine'), { auth: ALICE, body: 'x' })).status).toBe(201);
  });

  it('a create naming no ACL gets --default-acl, auth expanded to the creator', async () => {
    const r = await req(base, 'GET', zpath('/mine') + '?acl=true', { auth: SUPER });
    expect(r.json.acl).toEqual([
      { perms: 'r', scheme: 'world', id: 'anyone' },
      { perms: 'cdrwa', scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' },
    ]);
    expect((await req(base, 'PUT', zpath('/mine'), { auth: BOB, body: 'y' })).status).toBe(403);
  });

  it('a bad --root-acl or --default-acl stops the start with a clear error', () => {
    expect(() => resolveServeConfig({ 'root-acl': 'auth::cdrwa' }, {})).toThrow(/--root-acl.*auth/);
    expect(() => resolveServeConfig({ 'root-acl': 'nonsense' }, {})).toThrow(/scheme:id:perms/);
  });
});

describe('--trust-proxy', () => {
  let m: RunningMember;
  let base: string;
  beforeAll(async () => ({ m, base } = await member({ 'trust-proxy': '127.0.0.0/8' })));
  afterAll(async () => m.stop());

  it('takes the client address from X-Forwarded-For only through a trusted proxy, the nearest untrusted hop', async () => {
    const me = await req(base, 'GET', '/v1/auth/whoami', { headers: { 'x-forwarded-for': '10.9.8.7, 127.0.0.5' } });
    expect(me.json.ids).toEqual([{ scheme: 'ip', id: '10.9.8.7' }]);
    const ipAcl = JSON.stringify([{ perms: 'cdrwa', scheme: 'ip', id: '10.0.0.0/8' }]);
    expect((await req(base, 'POST', zpath('/office'), { body: 'x', headers: { 'zgate-acl': ipAcl, 'x-forwarded-for': '10.1.1.1' } })).status).toBe(201);
    expect((await req(base, 'GET', zpath('/office'), { headers: { 'x-forwarded-for': '10.2.3.4' } })).status).toBe(200);
    expect((await req(base, 'GET', zpath('/office'), { headers: { 'x-forwarded-for': '192.168.1.1' } })).status).toBe(403);
    expect((await req(base, 'GET', zpath('/office'))).status).toBe(403);
  });

  it('a bad range stops the start', () => {
    expect(() => resolveServeConfig({ 'trust-proxy': '10.0.0.0/99' }, {})).toThrow(/--trust-proxy/);
  });
});

describe('without --trust-proxy', () => {
  let m: RunningMember;
  let base: string;
  beforeAll(async () => ({ m, base } = await member({})));
  afterAll(async () => m.stop());

  it('X-Forwarded-For is ignored', async () => {
    const me = await req(base, 'GET', '/v1/auth/whoami', { headers: { 'x-forwarded-for': '10.9.8.7' } });
    expect(me.json.ids).toEqual([{ scheme: 'ip', id: '127.0.0.1' }]);
  });
});

// The leader's reaping of expired tokens runs on a fake clock: test/session/service.test.ts.
describe('token bounds', () => {
  let m: RunningMember;
  let base: string;
  beforeAll(async () => ({ m, base } = await member({ 'max-tokens': '3' })));
  afterAll(async () => m.stop());

  it('past --max-tokens live tokens: 409 QuotaExceeded, and the table is unchanged', async () => {
    for (let i = 0; i < 3; i++) expect((await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { ttlMs: 60_000 } })).status).toBe(201);
    const over = await req(base, 'POST', '/v1/auth/tokens', { auth: BOB, body: {} });
    expect(over.status).toBe(409);
    expect(over.json.error.code).toBe('QuotaExceeded');
    expect((await req(base, 'GET', '/v1/auth/tokens', { auth: SUPER })).json.tokens).toHaveLength(3);
  });

  it('ttlMs outside 60000 .. --max-token-ttl-ms is 400', async () => {
    expect((await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { ttlMs: 59_999 } })).status).toBe(400);
    expect((await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: { ttlMs: 8 * 86_400_000 } })).status).toBe(400);
  });

});

describe('log redaction', () => {
  it('session ids in paths and credential parameters never reach a log line', () => {
    expect(redactUrl('/v1/sessions/123456789/keepalive')).toBe('/v1/sessions/<redacted>/keepalive');
    expect(redactUrl('/v1/sessions/42')).toBe('/v1/sessions/<redacted>');
    expect(redactUrl('/v1/znodes/a?token=zgt_x.y&raw=true')).toBe('/v1/znodes/a?token=%3Credacted%3E&raw=true');
    expect(redactUrl('/v1/znodes/a?password=p')).not.toContain('=p');
    expect(redactUrl('/v1/sessions')).toBe('/v1/sessions');
  });
});

describe('the verified-token cache', () => {
  let m: RunningMember;
  let base: string;
  beforeAll(async () => ({ m, base } = await member({})));
  afterAll(async () => m.stop());

  it('a token used many times is refused at once after its revoke, and a changed secret never rides on the cache', async () => {
    const t = await req(base, 'POST', '/v1/auth/tokens', { auth: ALICE, body: {} });
    const token = t.json.token as string;
    for (let i = 0; i < 5; i++) expect((await req(base, 'GET', '/v1/auth/whoami', { auth: `Bearer ${token}` })).status).toBe(200);
    const last = token.at(-1) === 'A' ? 'Q' : 'A';
    expect((await req(base, 'GET', '/v1/auth/whoami', { auth: `Bearer ${token.slice(0, -1)}${last}` })).status).toBe(401);
    expect((await req(base, 'DELETE', `/v1/auth/tokens/${t.json.id}`, { auth: ALICE })).status).toBe(204);
    expect((await req(base, 'GET', '/v1/auth/whoami', { auth: `Bearer ${token}` })).status).toBe(401);
  });
});

describe('identity on a keep-alive connection', () => {
  let m: RunningMember;
  let base: string;
  beforeAll(async () => ({ m, base } = await member({})));
  afterAll(async () => m.stop());

  it('each request is the identity its own credentials prove, on one connection', async () => {
    const { Agent, request } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const whoami = (auth?: string): Promise<{ ids: { scheme: string; id: string }[] }> =>
      new Promise((resolve, reject) => {
        const r = request(`${base}/v1/auth/whoami`, { agent, headers: auth === undefined ? {} : { authorization: auth } }, (res) => {
          sockets.add(res.socket);
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(JSON.parse(body) as { ids: { scheme: string; id: string }[] }));
        });
        r.on('error', reject);
        r.end();
      });
    const users = async (auth?: string): Promise<string[]> => (await whoami(auth)).ids.filter((i) => i.scheme === 'digest').map((i) => i.id);
    expect(await users(ALICE)).toEqual(['alice']);
    expect(await users(BOB)).toEqual(['bob']);
    expect(await users()).toEqual([]);
    expect(await users(ALICE)).toEqual(['alice']);
    expect(sockets.size).toBe(1);
    agent.destroy();
  });
});
