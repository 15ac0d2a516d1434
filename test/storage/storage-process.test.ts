/**
 * Process-level storage tests: real child processes on real files.
 *  - crash: a child appends with several concurrent appenders and prints each acknowledged
 *    index; it is killed with SIGKILL at random moments; after each kill the log must hold every
 *    acknowledged index, as a contiguous prefix with the right data. ZGATE_CRASH_ROUNDS sets
 *    the number of rounds (default 6; test/storage/crash-long.sh runs many), ZGATE_CRASH_SEED
 *    the seed (printed).
 *  - lock: a second open from another process is refused, naming the dir and the holder's pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FileStorage, StorageLockedError } from '../../src/storage/index.js';
import { tmpDir, cleanupTmpDirs, dataFor, prng } from './storage-helpers.js';
import { storageModule } from './build-storage.js';

let mod: string;
beforeAll(() => {
  mod = storageModule();
}, 120_000);
afterAll(cleanupTmpDirs);

/** Spawn a child script; collects stdout lines; resolves `first` on the first line. */
function child(script: string, args: string[]) {
  const proc: ChildProcess = spawn(process.execPath, [join(__dirname, script), mod, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let onLine: (() => void) | undefined;
  proc.stdout!.on('data', (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    onLine?.();
  });
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  const firstLine = new Promise<string>((res, rej) => {
    onLine = () => lines.length > 0 && res(lines[0]!);
    void exited.then(() => (lines.length > 0 ? res(lines[0]!) : rej(new Error(`child exited without output: ${stderr}`))));
  });
  return { proc, lines, exited, firstLine, stderr: () => stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('kill -9 at random moments: every acknowledged append survives, the log is a contiguous prefix', async () => {
  const rounds = Number(process.env.ZGATE_CRASH_ROUNDS ?? 6);
  const seed = Number(process.env.ZGATE_CRASH_SEED ?? Date.now() % 100_000);
  console.log(`crash test: ${rounds} rounds, seed ${seed} (ZGATE_CRASH_SEED=${seed} to repeat the timings)`);
  const rand = prng(seed);
  const dir = tmpDir('crash');
  const segmentBytes = 16 * 1024;
  let maxAcked = 0;
  let totalAcked = 0;
  let lastSeen = { last: 0, snapIndex: 0, segments: 0 };
  for (let round = 0; round < rounds; round++) {
    const appenders = [1, 4, 16, 64][round % 4]!;
    const c = child('crash-child.mjs', [dir, String(appenders), String(segmentBytes), '400']);
    const first = await c.firstLine;
    expect(first).toMatch(/^start \d+$/);
    await sleep(30 + rand() * 400);
    c.proc.kill('SIGKILL');
    await c.exited;
    expect(c.stderr()).toBe('');
    const acked = c.lines.slice(1).filter((l) => /^\d+$/.test(l)).map(Number);
    totalAcked += acked.length;
    maxAcked = Math.max(maxAcked, ...acked);
    const { storage, recovered } = await FileStorage.open(dir, { segmentBytes });
    const snapIndex = recovered.snapshot?.meta.index ?? 0;
    const last = storage.lastIndex();
    // every index acknowledged in any round is still there
    expect({ round, seed, last: Math.max(last, maxAcked) }).toEqual({ round, seed, last });
    // contiguous after the snapshot, with the data that was written for each index
    recovered.entries.forEach((e, i) => {
      if (e.index !== snapIndex + 1 + i || Buffer.compare(Buffer.from(e.data), Buffer.from(dataFor(e.index))) !== 0) {
        throw new Error(`round ${round} seed ${seed}: bad entry at position ${i}: index ${e.index} (snapshot ${snapIndex})`);
      }
    });
    if (recovered.snapshot) expect(Buffer.from(recovered.snapshot.data).toString()).toBe(`state as of ${snapIndex}`);
    expect(recovered.hardState.commit).toBeLessThanOrEqual(last);
    expect(recovered.repaired ?? '').not.toMatch(/REPAIR/);
    lastSeen = { last, snapIndex, segments: recovered.stats.segments };
    await storage.close();
  }
  console.log(`crash test: ${totalAcked} acknowledged appends over ${rounds} kills; log ends at ${lastSeen.last}, snapshot ${lastSeen.snapIndex}, ${lastSeen.segments} segment(s) replayed`);
  expect(totalAcked).toBeGreaterThan(rounds * 10);
}, 300_000);

test('a second open from another process is refused with dir and pid; the lock goes stale with its holder', async () => {
  const dir = tmpDir('lock');
  const holder = child('lock-child.mjs', [dir]);
  const pid = holder.proc.pid!;
  expect(await holder.firstLine).toBe(`locked ${pid}`);
  const err = await FileStorage.open(dir).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StorageLockedError);
  expect((err as Error).message).toContain(`data dir ${dir} is locked by pid ${pid} (lock file ${join(dir, 'LOCK')})`);
  holder.proc.kill('SIGKILL');
  await holder.exited;
  // the holder died: its lock is stale, this open takes it over
  const { storage } = await FileStorage.open(dir);
  // and now another process is refused, naming us
  const other = child('lock-child.mjs', [dir]);
  expect(await other.firstLine).toBe(`refused StorageLockedError: data dir ${dir} is locked by pid ${process.pid} (lock file ${join(dir, 'LOCK')}): another zgate member is using it; stop that one first (if pid ${process.pid} is not a zgate member, remove ${join(dir, 'LOCK')})`);
  await other.exited;
  await storage.close();
}, 60_000);
