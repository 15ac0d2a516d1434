/**
 * Fault tests of the storage layer: truncation at every byte offset, seeded bit flips in every
 * file type, injected ENOSPC/EIO at every file-system call, a real full tmpfs, lock refusal.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  FileStorage, FaultInjectingFileSystem, StorageCorruptError, StorageLockedError, type FsOp,
} from '../../src/storage/index.js';
import { ZgateError } from '../../src/core/errors.js';
import { tmpDir, cleanupTmpDirs, makeEntries, plain, prng, dataFor, noSyncFs, wal, recordStarts, restore, build } from './storage-helpers.js';

afterAll(cleanupTmpDirs);

function flip(path: string, offset: number, bit: number): void {
  const b = readFileSync(path);
  b[offset] ^= 1 << bit;
  writeFileSync(path, b);
}

describe('bit flips: repaired (tail) or refused (middle), never wrong data', () => {
  test('segments: a flip in the last record is cut, anywhere else open() names file and offset', async () => {
    const pristine = tmpDir('pristine');
    const all = makeEntries(1, 80, 1);
    await build(pristine, all, { segmentBytes: 2048 }, 3);
    const names = wal(pristine);
    const files = names.map((n) => ({ name: n, buf: readFileSync(join(pristine, n)) }));
    const total = files.reduce((s, f) => s + f.buf.length, 0);
    const rand = prng(0xc0ffee);
    const dir = tmpDir('flip');
    let refused = 0;
    let repaired = 0;
    for (let round = 0; round < 300; round++) {
      let pos = Math.floor(rand() * total);
      let fi = 0;
      while (pos >= files[fi]!.buf.length) pos -= files[fi++]!.buf.length;
      const file = files[fi]!;
      const starts = recordStarts(file.buf);
      const recordStart = starts.filter((s) => s <= pos).pop()!;
      restore(pristine, dir);
      const path = join(dir, file.name);
      flip(path, pos, Math.floor(rand() * 8));
      const inLastRecord = fi === files.length - 1 && recordStart === starts[starts.length - 1] && starts.length > 1;
      const where = `flip at ${file.name}:${pos} (record at ${recordStart})`;
      if (inLastRecord) {
        const { storage, recovered } = await FileStorage.open(dir, { fs: noSyncFs });
        expect({ where, entries: plain(recovered.entries) }).toEqual({ where, entries: plain(all.slice(0, -1)) });
        expect(recovered.repaired).toContain(`${path} at byte offset ${recordStart}`);
        await storage.close();
        repaired++;
      } else {
        let err: unknown;
        await FileStorage.open(dir, { fs: noSyncFs }).then(async (r) => {
          await r.storage.close();
          err = new Error(`${where}: opened with ${r.recovered.entries.length} entries`);
        }, (e: unknown) => {
          err = e;
        });
        expect(err).toBeInstanceOf(StorageCorruptError);
        expect((err as Error).message).toContain(`${path} at byte offset ${recordStart}:`);
        expect((err as Error).message).toMatch(/refusing to start/);
        // the explicit repair flag cuts there instead, keeping the prefix before the record
        if (round % 10 === 0) {
          const { storage, recovered } = await FileStorage.open(dir, { repair: true, fs: noSyncFs });
          const kept = recovered.entries.length;
          expect(plain(recovered.entries)).toEqual(plain(all.slice(0, kept)));
          expect(recovered.repaired).toMatch(/REPAIR \(explicit flag\)/);
          await storage.close();
        }
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(200);
    expect(repaired).toBeGreaterThan(0);
  });

  test('hard state: any flip is refused with a clear message', async () => {
    const pristine = tmpDir('pristine');
    const { storage } = await FileStorage.open(pristine);
    await storage.append(makeEntries(1, 5, 7));
    await storage.saveHardState({ term: 7, vote: 3, commit: 4 });
    await storage.close();
    const dir = tmpDir('flip');
    const rand = prng(42);
    for (let round = 0; round < 100; round++) {
      restore(pristine, dir);
      flip(join(dir, 'hardstate'), Math.floor(rand() * 40), Math.floor(rand() * 8));
      await expect(FileStorage.open(dir, { fs: noSyncFs })).rejects.toThrow(new RegExp(`storage corruption in ${join(dir, 'hardstate')} at byte offset \\d+: hard state .*term and vote can't be trusted`));
    }
    // truncated too
    restore(pristine, dir);
    writeFileSync(join(dir, 'hardstate'), readFileSync(join(pristine, 'hardstate')).subarray(0, 20));
    await expect(FileStorage.open(dir)).rejects.toThrow(StorageCorruptError);
    // and the lock was released by the refused open
    restore(pristine, dir);
    const ok = await FileStorage.open(dir);
    expect(ok.recovered.hardState).toEqual({ term: 7, vote: 3, commit: 4 });
    await ok.storage.close();
  });

  test('snapshots: a flipped newest one falls back when the log covers the gap, else refuses', async () => {
    const all = makeEntries(1, 60, 2);
    const snap = (i: number) => new Uint8Array(Buffer.from(`state ${i} `.repeat(20)));
    // A: two snapshots, log kept back to the older one (keep 2)
    const covered = tmpDir('pristine');
    {
      const { storage } = await FileStorage.open(covered, { segmentBytes: 2048 });
      for (let i = 0; i < 60; i += 5) await storage.append(all.slice(i, i + 5));
      await storage.saveSnapshot({ index: 20, term: 2, config: new Uint8Array([1]) }, snap(20));
      await storage.saveSnapshot({ index: 40, term: 2, config: new Uint8Array([2]) }, snap(40));
      await storage.close();
    }
    // B: one snapshot, log compacted up to it (keep 1)
    const compacted = tmpDir('pristine');
    {
      const { storage } = await FileStorage.open(compacted, { segmentBytes: 2048, keepSnapshots: 1 });
      for (let i = 0; i < 60; i += 5) await storage.append(all.slice(i, i + 5));
      await storage.saveSnapshot({ index: 40, term: 2, config: new Uint8Array([2]) }, snap(40));
      await storage.close();
    }
    const rand = prng(7);
    const dir = tmpDir('flip');
    for (let round = 0; round < 100; round++) {
      const useCovered = round % 2 === 0;
      restore(useCovered ? covered : compacted, dir);
      const newest = readdirSync(dir).filter((n) => n.endsWith('.snap')).sort().pop()!;
      const size = statSync(join(dir, newest)).size;
      flip(join(dir, newest), Math.floor(rand() * size), Math.floor(rand() * 8));
      if (useCovered) {
        const { storage, recovered } = await FileStorage.open(dir, { segmentBytes: 2048, fs: noSyncFs });
        expect(recovered.snapshot!.meta.index).toBe(20);
        expect(Buffer.from(recovered.snapshot!.data).toString()).toBe(Buffer.from(snap(20)).toString());
        expect(plain(recovered.entries)).toEqual(plain(all.slice(20)));
        expect(recovered.repaired).toContain(`snapshot ${join(dir, newest)} is damaged`);
        await storage.close();
      } else {
        await expect(FileStorage.open(dir, { segmentBytes: 2048, keepSnapshots: 1, fs: noSyncFs })).rejects.toThrow(
          new RegExp(`storage corruption in ${join(dir, newest)} at byte offset \\d+: snapshot .*refusing to start`));
      }
    }
  });
});

describe('disk full and failing writes', () => {
  const isUnavailable = (e: unknown) => e instanceof ZgateError && e.code === 'Unavailable';

  async function setup(opts: { segmentBytes?: number } = {}) {
    const dir = tmpDir('fault');
    const fs = new FaultInjectingFileSystem();
    const { storage } = await FileStorage.open(dir, { fs, ...opts });
    await storage.append(makeEntries(1, 10, 1));
    return { dir, fs, storage };
  }

  test('ENOSPC mid-write: Unavailable, nothing kept, the retry succeeds when space returns', async () => {
    const { dir, fs, storage } = await setup();
    const seg = join(dir, wal(dir)[0]!);
    const size = statSync(seg).size;
    fs.hook = (op) => (op === 'write' ? { code: 'ENOSPC', partial: true } : undefined);
    const a = storage.append(makeEntries(11, 5, 1));
    const b = storage.append(makeEntries(16, 1, 1)); // queued behind: rejected with it
    await expect(a).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/ENOSPC/) });
    await expect(b).rejects.toMatchObject({ code: 'Unavailable' });
    expect(storage.lastIndex()).toBe(10);
    expect(statSync(seg).size).toBe(size); // the partial record was cut back
    fs.hook = undefined;
    await storage.append(makeEntries(11, 6, 1));
    await storage.close();
    const r = await FileStorage.open(dir);
    expect(plain(r.recovered.entries)).toEqual(plain(makeEntries(1, 16, 1)));
    expect(r.recovered.repaired).toBeUndefined();
    await r.storage.close();
  });

  test('EIO on fdatasync: Unavailable, rolled back, later appends succeed', async () => {
    const { dir, fs, storage } = await setup();
    let fail = true;
    fs.hook = (op) => (op === 'datasync' && fail ? ((fail = false), { code: 'EIO' }) : undefined);
    await expect(storage.append(makeEntries(11, 3, 1))).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/EIO/) });
    expect(storage.lastIndex()).toBe(10);
    await storage.append(makeEntries(11, 3, 1));
    await storage.close();
    const r = await FileStorage.open(dir);
    expect(plain(r.recovered.entries)).toEqual(plain(makeEntries(1, 13, 1)));
    await r.storage.close();
  });

  test('a failure that cannot be rolled back marks the storage failed until it is reopened', async () => {
    const { dir, fs, storage } = await setup();
    fs.hook = (op) => (op === 'datasync' || op === 'truncate' ? { code: 'EIO' } : undefined);
    await expect(storage.append(makeEntries(11, 3, 1))).rejects.toMatchObject({ code: 'Unavailable' });
    fs.hook = undefined;
    expect(storage.failure()?.message).toMatch(/close and reopen/);
    await expect(storage.append(makeEntries(11, 1, 1))).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/reopen/) });
    await storage.close();
    const r = await FileStorage.open(dir);
    // the unacknowledged batch may or may not be there, but only whole records, in order
    const got = plain(r.recovered.entries);
    expect(got).toEqual(plain(makeEntries(1, got.length, 1)));
    expect(got.length === 10 || got.length === 13).toBe(true);
    await r.storage.close();
  });

  test('ENOSPC creating the next segment; hard state and snapshot writes failing', async () => {
    const { dir, fs, storage } = await setup({ segmentBytes: 4096 });
    fs.hook = (op, path) => (op === 'open' && path.endsWith('.wal.tmp') ? { code: 'ENOSPC' } : undefined);
    let next = 11;
    let err: unknown;
    while (!err) {
      await storage.append(makeEntries(next, 5, 1)).then(() => (next += 5), (e: unknown) => (err = e));
    }
    expect(isUnavailable(err)).toBe(true);
    expect(storage.failure()).toBeUndefined();
    fs.hook = (op, path) => (path.includes('hardstate') || path.endsWith('.snap.tmp')) && op === 'write' ? { code: 'ENOSPC', partial: true } : undefined;
    await storage.saveHardState({ term: 1, vote: 1, commit: 3 }).catch(() => undefined);
    await expect(storage.saveHardState({ term: 2, vote: 1, commit: 5 })).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(storage.saveSnapshot({ index: 5, term: 1, config: new Uint8Array(0) }, new Uint8Array(100))).rejects.toMatchObject({ code: 'Unavailable' });
    expect(storage.firstIndex()).toBe(1);
    fs.hook = undefined;
    await storage.append(makeEntries(next, 5, 1));
    next += 5;
    await storage.saveHardState({ term: 2, vote: 1, commit: 5 });
    await storage.saveSnapshot({ index: 5, term: 1, config: new Uint8Array(0) }, new Uint8Array(100));
    await storage.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const r = await FileStorage.open(dir, { segmentBytes: 4096 });
    expect(r.recovered.hardState).toEqual({ term: 2, vote: 1, commit: 5 });
    expect(plain(r.recovered.entries)).toEqual(plain(makeEntries(6, next - 6, 1)));
    await r.storage.close();
  });

  test('a fault at every file-system call of a workload: acknowledged state always recovers', async () => {
    // Workload: appends across segments, hard state, snapshot, truncate, install. Each call may
    // fail with Unavailable; the "member" carries on from the durable state (reopening when the
    // storage says so). At the end, a clean reopen must show every acknowledged entry.
    async function workload(fs: FaultInjectingFileSystem, dir: string): Promise<{ acked: Map<number, string>; snapIndex: number }> {
      const opts = { fs, segmentBytes: 2048, keepSnapshots: 1 };
      let s = (await FileStorage.open(dir, opts)).storage;
      const acked = new Map<number, string>();
      let term = 1;
      const step = async (what: () => Promise<void>, onOk: () => void = () => undefined) => {
        try {
          await what();
          onOk();
        } catch (e) {
          if (!isUnavailable(e)) throw e;
          if (s.failure()) {
            await s.close();
            s = (await FileStorage.open(dir, { ...opts, fs: noSyncFs })).storage;
            // reopened without faults for the rest: the workload goes on
          }
        }
      };
      const appendSome = async (n: number) => {
        const es = makeEntries(s.lastIndex() + 1, n, term, term);
        await step(() => s.append(es), () => es.forEach((e) => acked.set(e.index, Buffer.from(e.data).toString('hex'))));
      };
      for (let i = 0; i < 12; i++) await appendSome(4);
      await step(() => s.saveHardState({ term, vote: 1, commit: Math.min(5, s.lastIndex()) }));
      if (s.lastIndex() >= 10) await step(() => s.saveSnapshot({ index: 10, term: s.term(10)!, config: new Uint8Array(0) }, new Uint8Array(64)));
      const from = Math.max(s.firstIndex(), s.lastIndex() - 6);
      term = 2;
      if (from <= s.lastIndex()) await step(() => s.truncateSuffix(from), () => [...acked.keys()].filter((k) => k >= from).forEach((k) => acked.delete(k)));
      for (let i = 0; i < 6; i++) await appendSome(3);
      const inst = s.lastIndex() + 5;
      await step(() => s.installSnapshot({ index: inst, term: 3, config: new Uint8Array(0) }, new Uint8Array(32)), () => acked.clear());
      term = 3;
      for (let i = 0; i < 3; i++) await appendSome(2);
      const snapIndex = s.snapshotMeta().index;
      const view = plain(s.entries(s.firstIndex(), s.lastIndex() + 1));
      const failed = s.failure() !== undefined;
      await s.close();
      const r = await FileStorage.open(dir, { segmentBytes: 2048, fs: noSyncFs });
      if (!failed) expect(plain(r.recovered.entries)).toEqual(view);
      await r.storage.close();
      return { acked, snapIndex };
    }
    const probe = new FaultInjectingFileSystem(noSyncFs);
    await workload(probe, tmpDir('probe'));
    const totalCalls = [...probe.calls.values()].reduce((a, b) => a + b, 0);
    expect(totalCalls).toBeGreaterThan(80);
    const ops: FsOp[] = ['write', 'datasync', 'sync', 'open', 'rename', 'truncate', 'unlink', 'readdir'];
    let failures = 0;
    // 'one': only the k-th call fails (disk full for a moment); 'crash': the k-th call and every
    // one after it fail until the storage is reopened (the process died there).
    const runs = [...Array(totalCalls).keys()].flatMap((i) => [{ k: i + 1, mode: 'one' }, { k: i + 1, mode: 'crash' }]);
    for (const { k, mode } of runs) {
      const dir = tmpDir('sweep');
      const fs = new FaultInjectingFileSystem(noSyncFs);
      let n = 0;
      fs.hook = (op) => {
        if (!ops.includes(op) && mode === 'one') return undefined;
        n++;
        if (mode === 'one' ? n !== k : n < k) return undefined;
        failures++;
        return { code: k % 2 === 0 ? 'ENOSPC' : 'EIO', partial: true };
      };
      let result: { acked: Map<number, string>; snapIndex: number };
      try {
        result = await workload(fs, dir);
      } catch (e) {
        // a fault during open() itself is allowed to fail the open (then nothing was acked)
        if (isUnavailable(e) || (e as NodeJS.ErrnoException).code !== undefined) continue;
        throw new Error(`fault (${mode}) at call ${k}: ${(e as Error).stack}`);
      }
      const r = await FileStorage.open(dir, { segmentBytes: 2048, fs: noSyncFs });
      const got = new Map(r.recovered.entries.map((e) => [e.index, Buffer.from(e.data).toString('hex')]));
      for (const [index, data] of result.acked) {
        if (index <= r.storage.snapshotMeta().index) continue;
        expect({ k, mode, index, data: got.get(index) }).toEqual({ k, mode, index, data });
      }
      expect(r.recovered.repaired ?? '').not.toMatch(/REPAIR/);
      await r.storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(failures).toBeGreaterThan(50);
  });

  test('a real full disk (2 MiB tmpfs): Unavailable, then appends succeed when space returns', async () => {
    const dir = tmpDir('tmpfs');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (e) {
      console.warn(`skipped the tmpfs test: mount failed (${(e as Error).message.split('\n')[0]}); the injected-fault tests cover the logic`);
      return;
    }
    try {
      writeFileSync(join(dir, 'filler'), Buffer.alloc(1024 * 1024, 1));
      const { storage } = await FileStorage.open(join(dir, 'data'), { segmentBytes: 256 * 1024 });
      let next = 1;
      let err: unknown;
      const big = new Uint8Array(8000).fill(5);
      while (!err && next < 10_000) {
        await storage.append([{ index: next, term: 1, data: big }]).then(() => next++, (e: unknown) => (err = e));
      }
      expect(err).toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/ENOSPC/) });
      expect(storage.lastIndex()).toBe(next - 1);
      // still full: still refused, nothing half-written
      await expect(storage.append([{ index: next, term: 1, data: big }])).rejects.toMatchObject({ code: 'Unavailable' });
      rmSync(join(dir, 'filler'));
      for (let i = 0; i < 20; i++) await storage.append([{ index: next++, term: 1, data: big }]);
      await storage.close();
      const r = await FileStorage.open(join(dir, 'data'), { segmentBytes: 256 * 1024 });
      expect(r.recovered.entries.length).toBe(next - 1);
      expect(r.recovered.entries.every((e, i) => e.index === i + 1 && e.data.length === 8000)).toBe(true);
      expect(r.recovered.repaired).toBeUndefined();
      await r.storage.close();
    } finally {
      execFileSync('umount', [dir]);
    }
  });
});

describe('lock file', () => {
  test('a second open of the same dir in this process is refused, naming dir and pid', async () => {
    const dir = tmpDir('lock');
    const { storage } = await FileStorage.open(dir);
    const err = await FileStorage.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageLockedError);
    expect((err as Error).message).toContain(`data dir ${dir} is locked by pid ${process.pid}`);
    await storage.close();
    const again = await FileStorage.open(dir);
    await again.storage.close();
    expect(readdirSync(dir)).not.toContain('LOCK');
  });

  test('a lock held by a live process is refused; one left by a dead process or a reused pid is stale', async () => {
    const dir = tmpDir('lock');
    mkdirSync(dir, { recursive: true });
    // live: our parent process, with its real start time
    const ppid = process.ppid;
    const stat = readFileSync(`/proc/${ppid}/stat`, 'latin1');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: ppid, start }));
    await expect(FileStorage.open(dir)).rejects.toThrow(`data dir ${dir} is locked by pid ${ppid} (lock file ${join(dir, 'LOCK')})`);
    // the same pid with another start time: the pid was reused, the lock is stale
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: ppid, start: '1' }));
    const a = await FileStorage.open(dir);
    await a.storage.close();
    // a dead pid
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: Number(dead), start: null }));
    const b = await FileStorage.open(dir);
    await b.storage.close();
  });
});

test('dataFor is deterministic', () => {
  expect(Buffer.from(dataFor(5))).toEqual(Buffer.from(dataFor(5)));
});
