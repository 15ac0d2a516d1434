/**
 * Recovery of a real member from its data dir: snapshot + log replay gives back exactly the
 * tree it had; a corrupt log in the middle is refused with the file and offset, unless the
 * member is started with --repair; a second member on the same dir is refused.
 */
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { defaultEntry, startMember } from '../support/member.js';
import { call, childrenOf, waitReady } from './helpers.js';

jest.setTimeout(120_000);

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'zgate-recovery-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** Every znode under `path` with its data and stat, depth first. */
async function dump(base: string, path: string, out: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await call(base, 'GET', `/v1/znodes${path === '/' ? '' : path}?children=true`);
  expect(r.status).toBe(200);
  const body = r.body as { data: string; stat: unknown; children: string[] };
  out[path] = { data: body.data, stat: body.stat };
  for (const c of body.children) await dump(base, path === '/' ? `/${c}` : `${path}/${c}`, out);
  return out;
}

test('snapshot + log replay restores the exact tree; old snapshots are pruned', async () => {
  const args = ['--log-level', 'warn', '--snapshot-entries', '100', '--keep-snapshots', '2', '--segment-bytes', '16384'];
  let m = await startMember({ dataDir, keepDataDir: true, args });
  await waitReady(m.baseUrl);
  expect((await call(m.baseUrl, 'PUT', '/v1/znodes/s')).status).toBe(201);
  for (let i = 0; i < 450; i++) {
    const r = await call(m.baseUrl, 'POST', '/v1/znodes/s/n-?mode=persistent_sequential', `value ${i}`);
    expect(r.status).toBe(201);
    if (i % 3 === 0) expect((await call(m.baseUrl, 'PUT', `/v1/znodes/s/n-${String(i).padStart(10, '0')}`, `changed ${i}`)).status).toBe(200);
    if (i % 7 === 0) expect((await call(m.baseUrl, 'DELETE', `/v1/znodes/s/n-${String(i).padStart(10, '0')}`)).status).toBe(204);
  }
  const before = await dump(m.baseUrl, '/');
  const zxidBefore = (await call(m.baseUrl, 'GET', '/v1/cluster')).body as { appliedZxid: string };
  await m.stop();
  const snaps = readdirSync(dataDir).filter((f) => f.endsWith('.snap'));
  expect(snaps.length).toBeGreaterThanOrEqual(1);
  expect(snaps.length).toBeLessThanOrEqual(2);

  m = await startMember({ dataDir, keepDataDir: true, args });
  await waitReady(m.baseUrl);
  expect(await dump(m.baseUrl, '/')).toEqual(before);
  expect(((await call(m.baseUrl, 'GET', '/v1/cluster')).body as { appliedZxid: string }).appliedZxid).toBe(zxidBefore.appliedZxid);
  // The sequence counter survived too: the next name continues, never reuses.
  const next = await call(m.baseUrl, 'POST', '/v1/znodes/s/n-?mode=persistent_sequential');
  expect((next.body as { path: string }).path).toBe('/s/n-0000000450');
  await m.stop();
});

test('a damaged record in the middle of the log is refused with its file and offset; --repair cuts there', async () => {
  let m = await startMember({ dataDir, keepDataDir: true, args: ['--log-level', 'warn'] });
  await waitReady(m.baseUrl);
  for (let i = 0; i < 40; i++) expect((await call(m.baseUrl, 'PUT', `/v1/znodes/k${i}`, 'x'.repeat(50))).status).toBe(201);
  await m.stop();
  const wal = readdirSync(dataDir).filter((f) => f.endsWith('.wal')).sort()[0]!;
  const bytes = readFileSync(join(dataDir, wal));
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0x10;
  writeFileSync(join(dataDir, wal), bytes);

  const refused = spawnSync(process.execPath, [defaultEntry(), 'serve', '--http', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn'], { encoding: 'utf8', timeout: 20_000 });
  expect(refused.status).not.toBe(0);
  const said = refused.stdout + refused.stderr;
  expect(said).toContain(wal);
  expect(said).toMatch(/offset/i);

  m = await startMember({ dataDir, keepDataDir: true, args: ['--log-level', 'warn', '--repair'] });
  await waitReady(m.baseUrl);
  expect(m.stdout() + m.stderr()).toMatch(/repaired/);
  const kept = (await childrenOf(m.baseUrl, '/')).filter((n) => n.startsWith('k'));
  // A prefix of the writes survives, in order: k0..k(n-1), nothing after the damage.
  expect(kept.length).toBeGreaterThan(0);
  expect(kept.length).toBeLessThan(40);
  const numbers = kept.map((n) => Number(n.slice(1))).sort((a, b) => a - b);
  expect(numbers).toEqual(numbers.map((_, i) => i));
  await m.stop();
});

test('a second member on the same data dir is refused, naming the dir and the holder', async () => {
  const m = await startMember({ dataDir, keepDataDir: true, args: ['--log-level', 'warn'] });
  await waitReady(m.baseUrl);
  const second = spawnSync(process.execPath, [defaultEntry(), 'serve', '--http', '127.0.0.1:0', '--data-dir', dataDir], { encoding: 'utf8', timeout: 20_000 });
  expect(second.status).not.toBe(0);
  expect(second.stderr).toContain(dataDir);
  expect(second.stderr).toContain(String(m.pid));
  expect((await call(m.baseUrl, 'PUT', '/v1/znodes/still-fine')).status).toBe(201);
  await m.stop();
});
