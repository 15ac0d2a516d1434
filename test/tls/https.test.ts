/**
 * HTTPS and WSS on --http: a real member (in this process for most cases, a spawned CLI for
 * SIGHUP), certificates from openssl, real sockets. What is checked is what a client sees: the
 * handshake succeeds or fails, a plain-HTTP client gets no answer, an idle connection is closed.
 */
import { mkdtempSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import WebSocket from 'ws';
import { verifiedClientDn } from '../../src/api/http/client-certificate.js';
import { resolveServeConfig } from '../../src/server/config.js';
import { startMember, type RunningMember } from '../../src/server/start.js';
import { builtEntry, launchMember, type MemberProcess } from '../../tools/faults/process.js';
import { getFreePort, LOOPBACK } from '../support/ports.js';
import { Pki, type KeyPair } from './pki.js';

interface Answer {
  status: number;
  body: string;
}

interface ClientCreds {
  ca?: string;
  cert?: KeyPair;
}

function https(port: number, method: string, path: string, creds: ClientCreds, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: LOOPBACK, port, method, path, agent: false, ca: creds.ca, cert: creds.cert?.certPem, key: creds.cert?.keyPem, timeout: 5000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

/** Everything a raw TCP client gets back for `bytes` until the server closes (or 3 s). */
function rawExchange(port: number, bytes: string): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connectTcp({ host: LOOPBACK, port });
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply: Buffer.concat(parts), closed: false });
    }, 3000);
    s.on('connect', () => s.write(bytes));
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(parts), closed: true });
    });
  });
}

/** The certificate the server presents to a new connection. */
function servedCertificate(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connectTls({ host: LOOPBACK, port, ca }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(Array.isArray(cn) ? cn.join(',') : String(cn));
    });
    s.on('error', reject);
  });
}

const pki = new Pki('zgate-https-');
const ca = pki.ca('https-ca');
const otherCa = pki.ca('other-ca');
const server = pki.leaf('server', ca, { san: 'IP:127.0.0.1', subject: '/CN=first' });
const alice = pki.leaf('alice', ca, { subject: '/O=acme/CN=alice' });
const mallory = pki.leaf('mallory', otherCa, { subject: '/O=acme/CN=alice' });
const root = pki.leaf('root', ca, { subject: '/O=acme/CN=root' });
const bob = pki.leaf('bob', ca, { subject: '/O=acme/CN=bob' });
const dirs: string[] = [];

async function member(flags: Record<string, string>): Promise<{ m: RunningMember; port: number }> {
  const port = await getFreePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'zgate-https-data-'));
  dirs.push(dataDir);
  const config = resolveServeConfig({ http: `${LOOPBACK}:${port}`, 'data-dir': dataDir, 'log-level': 'silent', 'tls-cert': server.cert, 'tls-key': server.key, ...flags }, {});
  const m = await startMember(config, { onFatal: () => undefined });
  await m.started;
  return { m, port };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  pki.remove();
});

describe('--tls-client-auth need', () => {
  let m: RunningMember;
  let port: number;
  beforeAll(async () => ({ m, port } = await member({ 'tls-client-ca': ca.cert })));
  afterAll(async () => m.stop());

  it('serves HTTPS to a client that trusts the CA and shows a certificate of it', async () => {
    const put = await https(port, 'PUT', '/v1/znodes/secret', { ca: ca.certPem, cert: alice }, 'top secret');
    expect(put.status).toBeLessThan(300);
    const get = await https(port, 'GET', '/v1/znodes/secret', { ca: ca.certPem, cert: alice });
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body)).toMatchObject({ path: '/secret', data: 'top secret' });
  });

  it('refuses the handshake without a client certificate, or with one of another CA', async () => {
    await expect(https(port, 'GET', '/v1/znodes/secret', { ca: ca.certPem })).rejects.toThrow();
    await expect(https(port, 'GET', '/v1/znodes/secret', { ca: ca.certPem, cert: mallory })).rejects.toThrow();
  });

  it('gives a plain-HTTP client no HTTP answer and none of the data', async () => {
    const { reply, closed } = await rawExchange(port, `GET /v1/znodes/secret HTTP/1.1\r\nHost: ${LOOPBACK}\r\n\r\n`);
    expect(closed).toBe(true);
    expect(reply.toString('latin1')).not.toMatch(/HTTP\/1\.[01] 2|top secret/);
  });

  it('serves WSS on the same port', async () => {
    const ws = new WebSocket(`wss://${LOOPBACK}:${port}/v1/ws`, { ca: ca.certPem, cert: alice.certPem, key: alice.keyPem });
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ id: 1, op: 'watch', path: '/secret', kind: 'data' })));
      ws.on('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')) as Record<string, unknown>));
      ws.on('error', reject);
    });
    ws.close();
    expect(reply).toMatchObject({ id: 1, type: 'watching', state: { data: 'top secret' } });
  });

  it('a verified client certificate is on the request\'s socket, with its DN', async () => {
    const dn = new Promise<string | undefined>((resolve) => m.app.server.once('request', (req) => resolve(verifiedClientDn(req.socket))));
    expect((await https(port, 'GET', '/healthz', { ca: ca.certPem, cert: alice })).status).toBe(200);
    expect(await dn).toBe('CN=alice,O=acme');
  });
});

describe('the x509 identity', () => {
  let m: RunningMember;
  let port: number;
  beforeAll(async () => ({ m, port } = await member({ 'tls-client-ca': ca.cert, 'tls-client-auth': 'want', 'x509-super-user': 'CN=root,O=acme' })));
  afterAll(async () => m.stop());

  it('whoami shows the verified certificate\'s DN as an x509 id; another CA\'s certificate gives none', async () => {
    const me = JSON.parse((await https(port, 'GET', '/v1/auth/whoami', { ca: ca.certPem, cert: alice })).body) as { ids: unknown[]; super: boolean };
    expect(me.ids).toContainEqual({ scheme: 'x509', id: 'CN=alice,O=acme' });
    expect(me.super).toBe(false);
    const forged = JSON.parse((await https(port, 'GET', '/v1/auth/whoami', { ca: ca.certPem, cert: mallory })).body) as { ids: { scheme: string }[] };
    expect(forged.ids.map((i) => i.scheme)).toEqual(['ip']);
  });

  it('an x509 ACL admits that certificate only; --x509-super-user passes every ACL', async () => {
    const acl = JSON.stringify([{ perms: 'cdrwa', scheme: 'x509', id: 'CN=alice,O=acme' }]);
    const created = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: LOOPBACK, port, method: 'POST', path: '/v1/znodes/x509-only', agent: false, ca: ca.certPem, cert: alice.certPem, key: alice.keyPem, headers: { 'zgate-acl': acl } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('mine');
    });
    expect(created).toBe(201);
    expect((await https(port, 'GET', '/v1/znodes/x509-only', { ca: ca.certPem, cert: alice })).status).toBe(200);
    expect((await https(port, 'GET', '/v1/znodes/x509-only', { ca: ca.certPem, cert: bob })).status).toBe(403);
    expect((await https(port, 'GET', '/v1/znodes/x509-only', { ca: ca.certPem, cert: mallory })).status).toBe(403);
    expect((await https(port, 'GET', '/v1/znodes/x509-only', { ca: ca.certPem })).status).toBe(403);
    const su = await https(port, 'GET', '/v1/znodes/x509-only', { ca: ca.certPem, cert: root });
    expect(su.status).toBe(200);
    expect(JSON.parse((await https(port, 'GET', '/v1/auth/whoami', { ca: ca.certPem, cert: root })).body)).toMatchObject({ super: true });
  });
});

describe('--tls-client-auth want', () => {
  let m: RunningMember;
  let port: number;
  beforeAll(async () => ({ m, port } = await member({ 'tls-client-ca': ca.cert, 'tls-client-auth': 'want' })));
  afterAll(async () => m.stop());

  /** The DN each connection's socket verified (undefined: no x509 identity), in arrival order. */
  function dnsOfNextConnection(): Promise<string | undefined> {
    return new Promise((resolve) => {
      m.app.server.once('request', (req) => resolve(verifiedClientDn(req.socket)));
    });
  }

  it('admits a client without a certificate, which has no verified certificate', async () => {
    const dn = dnsOfNextConnection();
    expect((await https(port, 'GET', '/healthz', { ca: ca.certPem })).status).toBe(200);
    expect(await dn).toBeUndefined();
  });

  it('admits a certificate of another CA without counting it', async () => {
    const dn = dnsOfNextConnection();
    expect((await https(port, 'GET', '/healthz', { ca: ca.certPem, cert: mallory })).status).toBe(200);
    expect(await dn).toBeUndefined();
  });

  it('counts a certificate of the CA: its DN as Java writes it', async () => {
    const dn = dnsOfNextConnection();
    expect((await https(port, 'GET', '/healthz', { ca: ca.certPem, cert: alice })).status).toBe(200);
    expect(await dn).toBe('CN=alice,O=acme');
  });
});

describe('handshake timeout and minimum version', () => {
  let m: RunningMember;
  let port: number;
  beforeAll(async () => ({ m, port } = await member({ 'tls-handshake-timeout-ms': '300', 'tls-min-version': 'TLSv1.3' })));
  afterAll(async () => m.stop());

  it('closes a connection that does not finish its handshake', async () => {
    const t0 = Date.now();
    const { closed } = await rawExchange(port, '');
    expect(closed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('refuses a client capped below --tls-min-version', async () => {
    const tls12 = new Promise<void>((resolve, reject) => {
      const s = connectTls({ host: LOOPBACK, port, ca: ca.certPem, maxVersion: 'TLSv1.2' }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
    await expect(tls12).rejects.toThrow();
    expect((await https(port, 'GET', '/healthz', { ca: ca.certPem })).status).toBe(200);
  });
});

describe('flags that cannot work are refused at start', () => {
  const base = { 'data-dir': '/nonexistent' };
  it.each([
    [{ 'tls-cert': 'c.pem' }, '--tls-cert needs --tls-key'],
    [{ 'tls-key': 'k.pem' }, '--tls-key needs --tls-cert'],
    [{ 'tls-client-ca': 'ca.pem' }, '--tls-client-ca needs --tls-cert and --tls-key'],
    [{ 'tls-cert': 'c.pem', 'tls-key': 'k.pem', 'tls-client-auth': 'need' }, '--tls-client-auth need needs --tls-client-ca'],
    [{ 'tls-cert': 'c.pem', 'tls-key': 'k.pem', 'tls-client-auth': 'maybe' }, '--tls-client-auth must be none, want or need'],
    [{ 'tls-cert': 'c.pem', 'tls-key': 'k.pem', 'tls-min-version': 'TLSv1.1' }, '--tls-min-version must be TLSv1.2 or TLSv1.3'],
    [{ 'peer-tls-cert': 'c.pem', 'peer-tls-ca': 'ca.pem' }, '--peer-tls-key missing'],
  ])('%j', (flags, message) => {
    expect(() => resolveServeConfig({ ...base, ...flags }, {})).toThrow(message);
  });

  it('defaults: need with a CA, none without', () => {
    expect(resolveServeConfig({ 'tls-cert': 'c', 'tls-key': 'k', 'tls-client-ca': 'ca' }, {}).tls?.clientAuth).toBe('need');
    expect(resolveServeConfig({ 'tls-cert': 'c', 'tls-key': 'k' }, {}).tls).toMatchObject({ clientAuth: 'none', minVersion: 'TLSv1.2', handshakeTimeoutMs: 10_000 });
    expect(resolveServeConfig({}, { ZGATE_TLS_CERT: 'c', ZGATE_TLS_KEY: 'k', ZGATE_TLS_CLIENT_AUTH: 'want', ZGATE_TLS_CLIENT_CA: 'ca' }).tls?.clientAuth).toBe('want');
  });

  it('a missing file or a key that does not fit its certificate names the flag', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zgate-https-data-'));
    dirs.push(dataDir);
    const start = (flags: Record<string, string>) => startMember(resolveServeConfig({ 'data-dir': dataDir, http: `${LOOPBACK}:0`, 'log-level': 'silent', ...flags }, {}), { onFatal: () => undefined });
    await expect(start({ 'tls-cert': join(pki.dir, 'missing.crt'), 'tls-key': server.key })).rejects.toThrow(/--tls-cert .*missing\.crt/);
    await expect(start({ 'tls-cert': server.cert, 'tls-key': alice.key })).rejects.toThrow(/--tls-cert\/--tls-key/);
  });
});

describe('SIGHUP reloads the certificate files (a spawned member)', () => {
  let proc: MemberProcess;
  let port: number;
  const live = { cert: join(pki.dir, 'live.crt'), key: join(pki.dir, 'live.key') };
  const second = pki.leaf('second', ca, { san: 'IP:127.0.0.1', subject: '/CN=second' });
  let dataDir: string;

  beforeAll(async () => {
    copyFileSync(server.cert, live.cert);
    copyFileSync(server.key, live.key);
    port = await getFreePort();
    dataDir = mkdtempSync(join(tmpdir(), 'zgate-https-data-'));
    dirs.push(dataDir);
    proc = launchMember({ entry: builtEntry(undefined), port, dataDir, args: ['--tls-cert', live.cert, '--tls-key', live.key] });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await https(port, 'GET', '/readyz', { ca: ca.certPem }).then((a) => a.status === 200, () => false);
      if (ok) break;
      if (!proc.isRunning() || Date.now() > deadline) throw new Error(`member did not start:\n${proc.output(4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => proc.stop(5000));

  async function servedAfterHup(): Promise<string> {
    proc.signal('SIGHUP');
    // The reload is synchronous in the handler; give the signal a moment to arrive.
    await new Promise((r) => setTimeout(r, 300));
    return servedCertificate(port, ca.certPem);
  }

  it('serves the new certificate after SIGHUP, and keeps it when the files turn bad', async () => {
    expect(await servedCertificate(port, ca.certPem)).toBe('first');
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    expect(await servedAfterHup()).toBe('second');
    writeFileSync(live.cert, 'not a certificate');
    expect(await servedAfterHup()).toBe('second');
    expect(proc.isRunning()).toBe(true);
    expect(proc.output(20_000)).toMatch(/TLS reload failed: the certificate in use is kept/);
    expect((await https(port, 'GET', '/readyz', { ca: ca.certPem })).status).toBe(200);
  });
});
