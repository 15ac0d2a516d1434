/**
 * Disk full on a real member: the data dir on a small tmpfs (we run as root in CI), filled up.
 * A write is answered 503 Unavailable with Retry-After, nothing half-written becomes visible,
 * and once space returns the member takes writes again, with no restart; after a kill -9 the
 * acknowledged writes are there and the refused one is not. Skipped, with the reason, where
 * tmpfs can't be mounted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from '../support/http.js';
import { startMember, type RunningMember } from '../support/member.js';
import { call, waitReady } from './helpers.js';

jest.setTimeout(120_000);

const mountPoint = mkdtempSync(join(tmpdir(), 'zgate-tmpfs-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint]).status === 0;
if (!mounted) console.warn(`[disk-full] skipped: cannot mount a tmpfs at ${mountPoint} (needs root); the injected-fault tests of src/storage still cover ENOSPC`);
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Fills the file system with a filler file until ENOSPC. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 7);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  const small = Buffer.alloc(512, 7);
  try {
    for (;;) writeSync(fd, small);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

(mounted ? test : test.skip)('a full disk answers 503, shows nothing half-written, and recovers when space returns', async () => {
  const dataDir = join(mountPoint, 'data');
  mkdirSync(dataDir);
  const filler = join(mountPoint, 'filler');
  let m: RunningMember | undefined = await startMember({ dataDir, keepDataDir: true, args: ['--log-level', 'warn', '--segment-bytes', '1048576'] });
  try {
    await waitReady(m.baseUrl);
    expect((await call(m.baseUrl, 'PUT', '/v1/znodes/before', 'ok')).status).toBe(201);
    fill(filler);
    expect(statfsSync(mountPoint).bavail).toBe(0);

    const refused = await send<{ error: { code: string } }>(m.baseUrl, 'PUT', '/v1/znodes/during', { body: 'x'.repeat(20_000) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body!.error.code).toBe('Unavailable');
    expect((await call(m.baseUrl, 'GET', '/v1/znodes/during')).status).toBe(404);
    expect((await call(m.baseUrl, 'GET', '/v1/znodes/before')).status).toBe(200);

    rmSync(filler);
    let after = 0;
    for (let i = 0; i < 50 && after !== 201; i++) {
      after = (await call(m.baseUrl, 'PUT', '/v1/znodes/after', 'back')).status;
      if (after !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toBe(201);

    await m.kill('SIGKILL');
    m = await startMember({ dataDir, keepDataDir: true, args: ['--log-level', 'warn'] });
    await waitReady(m.baseUrl);
    expect((await call(m.baseUrl, 'GET', '/v1/znodes/before')).status).toBe(200);
    expect((await call(m.baseUrl, 'GET', '/v1/znodes/after')).status).toBe(200);
    expect((await call(m.baseUrl, 'GET', '/v1/znodes/during')).status).toBe(404);
  } finally {
    if (m?.isRunning()) await m.kill('SIGKILL');
    writeFileSync(join(mountPoint, '.done'), '');
  }
});
