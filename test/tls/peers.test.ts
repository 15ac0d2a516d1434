/**
 * Peer TLS between real member processes: three members on 127.0.0.11-13 (all loopback), each
 * with a certificate of one CA for its own address. They elect a leader and replicate; a caller
 * without a certificate, and a member's genuine certificate claiming another member's id, are
 * refused and change nothing. Without peer TLS, /readyz and the logs say how exposed the peer
 * port is, and --auth-required refuses to start that way.
 */
import { lookup } from 'node:dns/promises';
import { connect as connectTcp } from 'node:net';
import { hostname } from 'node:os';
import { connect as connectTls } from 'node:tls';
import { deriveClusterId, parsePeers } from '../../src/cluster/peers.js';
import { encodeFrame, FrameDecoder, MAX_HELLO_BYTES, PROTOCOL_VERSION, type Frame, type HelloFrame } from '../../src/cluster/wire.js';
import { builtEntry, launchMember } from '../../tools/faults/process.js';
import { call, writeRetrying, sleep, type ClusterView } from '../cluster/helpers.js';
import { startMember, type RunningMember } from '../support/member.js';
import { getFreePorts } from '../support/ports.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pki, type KeyPair } from './pki.js';

const pki = new Pki('zgate-peer-pki-');
const ca = pki.ca('peer-ca');
const ids = [1, 2, 3];
const hostOf = (id: number): string => `127.0.0.${10 + id}`;
const certs = new Map<number, KeyPair>(ids.map((id) => [id, pki.leaf(`member-${id}`, ca, { san: `IP:${hostOf(id)}` })]));
const members = new Map<number, RunningMember>();
let peerPort = new Map<number, number>();
let peers = '';

afterAll(async () => {
  await Promise.all([...members.values()].map((m) => m.stop(3000)));
  pki.remove();
});

async function view(id: number): Promise<ClusterView | undefined> {
  const r = await call(members.get(id)!.baseUrl, 'GET', '/v1/cluster', undefined, 2000);
  return r.status === 200 ? (r.body as ClusterView) : undefined;
}

async function waitLeader(timeoutMs = 30_000): Promise<ClusterView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(ids.map(view));
    const leaders = new Set(views.map((v) => v?.leaderId ?? null));
    if (leaders.size === 1 && !leaders.has(null) && views.every((v) => v !== undefined)) return views[0]!;
    if (Date.now() > deadline) throw new Error(`no leader: ${JSON.stringify(views)}\n${[...members.values()].map((m) => m.diagnostics(2000)).join('\n')}`);
    await sleep(100);
  }
}

/** Sends `hello` to member 1's peer port over plain TCP, or TLS with `cert` (null: TLS without one); what came back. */
function callPeer(hello: Frame, cert: KeyPair | null | 'plain'): Promise<{ frames: Frame[]; error: string | undefined }> {
  return new Promise((resolve) => {
    const port = peerPort.get(1)!;
    const decoder = new FrameDecoder(MAX_HELLO_BYTES);
    const frames: Frame[] = [];
    let error: string | undefined;
    const s =
      cert === 'plain'
        ? connectTcp({ host: hostOf(1), port }, () => s.write(encodeFrame(hello)))
        : connectTls({ host: hostOf(1), port, ca: ca.certPem, ...(cert !== null ? { cert: cert.certPem, key: cert.keyPem } : {}) }, () => s.write(encodeFrame(hello)));
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('data', (c: Buffer) => {
      try {
        frames.push(...(decoder.push(c) as Frame[]));
      } catch (e) {
        error = (e as Error).message;
      }
    });
    s.on('error', (e) => (error ??= e.message));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ frames, error });
    });
  });
}

describe('a cluster over peer TLS', () => {
  beforeAll(async () => {
    const ports = await getFreePorts(3);
    peerPort = new Map(ids.map((id, i) => [id, ports[i]!]));
    peers = ids.map((id) => `${id}=${hostOf(id)}:${peerPort.get(id)}`).join(',');
    await Promise.all(
      ids.map(async (id) => {
        const c = certs.get(id)!;
        const m = await startMember({ args: ['--id', String(id), '--peers', peers, '--tick-ms', '50', '--peer-tls-cert', c.cert, '--peer-tls-key', c.key, '--peer-tls-ca', ca.cert], readyTimeoutMs: 60_000 });
        members.set(id, m);
      }),
    );
  });

  it('elects a leader and replicates a write', async () => {
    const v = await waitLeader();
    const w = await writeRetrying(members.get(v.leaderId!)!.baseUrl, 'PUT', '/v1/znodes/replicated', 'over tls');
    expect(w.status).toBeLessThan(300);
    for (const id of ids) {
      const deadline = Date.now() + 15_000;
      let r = await call(members.get(id)!.baseUrl, 'GET', '/v1/znodes/replicated');
      while (r.status !== 200 && Date.now() < deadline) {
        await sleep(100);
        r = await call(members.get(id)!.baseUrl, 'GET', '/v1/znodes/replicated');
      }
      expect(r.body).toMatchObject({ data: 'over tls' });
    }
  });

  it('says peerTransport tls in /readyz', async () => {
    const r = await call(members.get(1)!.baseUrl, 'GET', '/readyz');
    expect(r.body).toEqual({ status: 'ready', peerTransport: 'tls' });
  });

  const hello = (from: number, to: number): HelloFrame => ({
    t: 'hello', v: PROTOCOL_VERSION, cluster: deriveClusterId(parsePeers(peers)), from, to, peer: `${hostOf(from)}:${peerPort.get(from)}`, http: 'http://127.0.0.1:1', inc: 'impostor',
  });

  it('refuses a caller without a certificate, over plain TCP or TLS, and nothing changes', async () => {
    const before = await waitLeader();
    const plain = await callPeer(hello(2, 1), 'plain');
    expect(plain.frames.filter((f) => f.t !== 'refuse')).toEqual([]);
    const noCert = await callPeer(hello(2, 1), null);
    expect(noCert.error).toMatch(/certificate required|alert|socket hang up|ECONNRESET/i);
    expect(noCert.frames).toEqual([]);
    await sleep(500);
    const after = await waitLeader();
    expect({ leader: after.leaderId, term: after.term }).toEqual({ leader: before.leaderId, term: before.term });
    expect(members.get(1)!.stdout()).toMatch(/refused a peer connection: TLS handshake failed/);
  });

  it('refuses a genuine certificate of member 3 claiming to be member 2, saying why', async () => {
    const before = await waitLeader();
    const r = await callPeer(hello(2, 1), certs.get(3)!);
    expect(r.frames).toHaveLength(1);
    expect(r.frames[0]).toMatchObject({ t: 'refuse' });
    expect((r.frames[0] as { reason: string }).reason).toMatch(/member 2's certificate does not match 127\.0\.0\.12/);
    await sleep(500);
    const after = await waitLeader();
    expect({ leader: after.leaderId, term: after.term }).toEqual({ leader: before.leaderId, term: before.term });
    expect(members.get(1)!.stdout()).toMatch(/refused a peer connection: member 2's certificate does not match/);
  });

  it('lets member 2\'s own certificate past the certificate check (to the next one: member 2 is already connected)', async () => {
    const r = await callPeer(hello(2, 1), certs.get(2)!);
    expect(r.frames).toHaveLength(1);
    expect((r.frames[0] as { reason: string }).reason).toMatch(/member 2 is already connected from another live process/);
  });
});

describe('peer links without TLS', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('all on loopback: /readyz says loopback', async () => {
    const [port] = await getFreePorts(1);
    const m = await startMember({ args: ['--id', '1', '--peers', `1=127.0.0.1:${port}`, '--tick-ms', '50'], readyPath: '/readyz' });
    members.set(10, m);
    const r = await call(m.baseUrl, 'GET', '/readyz');
    expect(r.body).toEqual({ status: 'ready', peerTransport: 'loopback' });
    expect(m.stdout()).not.toMatch(/peer links are plain TCP/);
  });

  it('a host name (which may resolve anywhere): warns at start and /readyz says insecure', async () => {
    // This machine's own name, resolved to loopback (checked), so that nothing leaves the machine.
    const name = hostname();
    const { address } = await lookup(name, 4);
    expect(address).toMatch(/^127\./);
    const [port] = await getFreePorts(1);
    const m = await startMember({ args: ['--id', '1', '--peers', `1=${name}:${port}`, '--tick-ms', '50', '--auth-required', '--insecure-peers'], readyPath: '/readyz' });
    members.set(11, m);
    expect((await call(m.baseUrl, 'GET', '/readyz')).body).toEqual({ status: 'ready', peerTransport: 'insecure' });
    expect(m.stdout()).toMatch(/peer links are plain TCP: the peer port is open to anyone who reaches it/);
  });

  it('--auth-required refuses to start that way without --insecure-peers', async () => {
    const [port, http] = await getFreePorts(2);
    const dataDir = mkdtempSync(join(tmpdir(), 'zgate-peer-data-'));
    dirs.push(dataDir);
    const p = launchMember({ entry: builtEntry(undefined), port: http!, dataDir, args: ['--id', '1', '--peers', `1=${hostname()}:${port}`, '--auth-required'] });
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(p.stderr()).toMatch(/--auth-required with non-loopback --peers .* no peer TLS.*--insecure-peers/);
  });

  it('peer TLS flags come all or none', async () => {
    const [port, http] = await getFreePorts(2);
    const dataDir = mkdtempSync(join(tmpdir(), 'zgate-peer-data-'));
    dirs.push(dataDir);
    const p = launchMember({ entry: builtEntry(undefined), port: http!, dataDir, args: ['--id', '1', '--peers', `1=127.0.0.1:${port}`, '--peer-tls-cert', certs.get(1)!.cert] });
    expect((await p.exited).code).toBe(1);
    expect(p.stderr()).toMatch(/--peer-tls-key and --peer-tls-ca missing/);
  });
});
