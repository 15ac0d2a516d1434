import { readdirSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FileStorage, MemoryStorage, FaultInjectingFileSystem, StorageCorruptError, type LogEntry, type RecoveryProgress,
} from '../../src/storage/index.js';
import { encodeEntry, readRecord, validRecordFollows, entryRecordSize, encodeSegmentHeader, SEG_HEADER_BYTES, decodeSegmentHeader, REC_HEADER } from '../../src/storage/record.js';
import { writeSnapshot } from '../../src/storage/snapshot.js';
import { AssertionFailure } from '../../src/util/assert.js';
import { ZgateError } from '../../src/core/errors.js';
import { tmpDir, cleanupTmpDirs, makeEntries, plain, dataFor, wal } from './storage-helpers.js';

afterAll(cleanupTmpDirs);

const snaps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.snap')).sort();
const meta = (index: number, term: number, config = 'cfg') => ({ index, term, config: new Uint8Array(Buffer.from(config)) });

async function reopen(dir: string, opts = {}) {
  return FileStorage.open(dir, opts);
}

describe('record framing', () => {
  test('round trip, chained CRC, alignment', () => {
    const datas = [new Uint8Array(0), dataFor(1), new Uint8Array(1000).fill(7)];
    const size = datas.reduce((s, d) => s + entryRecordSize(d.length), 0);
    const buf = Buffer.alloc(size);
    let at = 0;
    let chain = 12345;
    const chains = [chain];
    datas.forEach((d, i) => {
      chain = encodeEntry(buf, at, i + 1, 3, d, chain);
      chains.push(chain);
      at += entryRecordSize(d.length);
    });
    at = 0;
    datas.forEach((d, i) => {
      expect(at % 8).toBe(0);
      const r = readRecord(buf, at, chains[i]!);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.crc).toBe(chains[i + 1]);
      expect(buf.readUInt32LE(at + REC_HEADER)).toBe(i + 1);
      expect(Buffer.from(buf.subarray(at + REC_HEADER + 16, at + REC_HEADER + r.len))).toEqual(Buffer.from(d));
      // The same bytes under another chain value (a record from elsewhere) do not pass.
      expect(readRecord(buf, at, chains[i]! ^ 1).ok).toBe(false);
      at += r.size;
    });
  });

  test('bad records are classified, and valid records after a bad one are found', () => {
    const buf = Buffer.alloc(entryRecordSize(20) * 4);
    let chain = 0;
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) {
      starts.push(i * entryRecordSize(20));
      chain = encodeEntry(buf, starts[i]!, i + 1, 1, dataFor(i + 1).subarray(0, 20), chain);
    }
    const chainAt1 = readRecord(buf, 0, 0);
    expect(chainAt1.ok).toBe(true);
    const c1 = chainAt1.ok ? chainAt1.crc : 0;
    // short header / short record / zeroed tail
    expect(readRecord(buf.subarray(0, starts[1]! + 4), starts[1]!, c1)).toMatchObject({ ok: false, reason: expect.stringMatching(/short record header/) });
    expect(readRecord(buf.subarray(0, starts[1]! + 20), starts[1]!, c1)).toMatchObject({ ok: false, reason: expect.stringMatching(/short record \(/) });
    const zeroed = Buffer.concat([buf.subarray(0, starts[1]!), Buffer.alloc(100)]);
    expect(readRecord(zeroed, starts[1]!, c1)).toMatchObject({ ok: false, reason: expect.stringMatching(/zeroed tail/) });
    // A flip in record 2's payload: CRC mismatch, and record 3 is found after it.
    const flipped = Buffer.from(buf);
    flipped[starts[1]! + 12] ^= 0x10;
    expect(readRecord(flipped, starts[1]!, c1)).toMatchObject({ ok: false, reason: expect.stringMatching(/CRC mismatch/) });
    expect(validRecordFollows(flipped, starts[1]!, c1)).toBe(true);
    // A flip in record 2's length field: framing lost, record 3 still found.
    const lenFlip = Buffer.from(buf);
    lenFlip[starts[1]! + 5] ^= 0x01;
    expect(validRecordFollows(lenFlip, starts[1]!, c1)).toBe(true);
    // A flip in record 2's stored CRC: record 3 found via the recomputed chain value.
    const crcFlip = Buffer.from(buf);
    crcFlip[starts[1]!] ^= 0x80;
    expect(validRecordFollows(crcFlip, starts[1]!, c1)).toBe(true);
    // A flip in the last record: nothing follows.
    const last = Buffer.from(buf);
    last[starts[3]! + 10] ^= 1;
    expect(validRecordFollows(last, starts[3]!, 0)).toBe(false);
  });

  test('segment header round trip', () => {
    const { buf, crc } = encodeSegmentHeader({ seq: 7, firstIndex: 2 ** 40 + 3, flags: 1, prevCrc: 0xdeadbeef });
    expect(buf.length).toBe(SEG_HEADER_BYTES);
    const r = readRecord(buf, 0, 0xdeadbeef);
    expect(r).toMatchObject({ ok: true, crc });
    expect(decodeSegmentHeader(buf, REC_HEADER, 32)).toEqual({ seq: 7, firstIndex: 2 ** 40 + 3, flags: 1, prevCrc: 0xdeadbeef });
  });
});

describe('FileStorage', () => {
  test('fresh dir: empty state; reopen returns exactly what was appended', async () => {
    const dir = tmpDir();
    const { storage, recovered } = await reopen(dir);
    expect(recovered).toMatchObject({ hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: undefined, repaired: undefined });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(0)]).toEqual([1, 0, 0]);
    const all: LogEntry[] = [...makeEntries(1, 10, 1), ...makeEntries(11, 5, 2), ...makeEntries(16, 1, 5)];
    all.push({ index: 17, term: 5, data: new Uint8Array(0) }, { index: 18, term: 5, data: new Uint8Array(100_000).fill(9) });
    await storage.append(all.slice(0, 3));
    await storage.append(all.slice(3, 10));
    await Promise.all(all.slice(10).map((e) => storage.append([e])));
    expect(plain(storage.entries(1, 19))).toEqual(plain(all));
    expect(storage.term(12)).toBe(2);
    expect(storage.term(19)).toBeUndefined();
    expect(storage.entries(5, 19, 30).length).toBe(1);
    await storage.close();
    const r = await reopen(dir);
    expect(plain(r.recovered.entries)).toEqual(plain(all));
    expect(r.recovered.repaired).toBeUndefined();
    expect(r.storage.lastIndex()).toBe(18);
    // appends continue after a reopen
    await r.storage.append(makeEntries(19, 3, 6));
    await r.storage.close();
    const r2 = await reopen(dir);
    expect(plain(r2.recovered.entries)).toEqual(plain([...all, ...makeEntries(19, 3, 6)]));
    await r2.storage.close();
  });

  test('reads show only durable state; the queued tail is what new calls must continue', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir);
    const p = storage.append(makeEntries(1, 3, 1));
    expect(storage.lastIndex()).toBe(0);
    const q = storage.append(makeEntries(4, 1, 1)); // continues the queued tail
    await p;
    expect(storage.lastIndex()).toBeGreaterThanOrEqual(3);
    await q;
    expect(storage.lastIndex()).toBe(4);
    await storage.close();
  });

  test('invariants: contiguous indices, non-decreasing terms, append after truncate', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir);
    await storage.append(makeEntries(1, 5, 2));
    await expect(storage.append(makeEntries(7, 1, 2))).rejects.toBeInstanceOf(AssertionFailure);
    await expect(storage.append(makeEntries(6, 1, 1))).rejects.toBeInstanceOf(AssertionFailure);
    await expect(storage.append([{ index: 6, term: 2, data: new Uint8Array(0) }, { index: 8, term: 2, data: new Uint8Array(0) }])).rejects.toBeInstanceOf(AssertionFailure);
    await storage.truncateSuffix(4);
    await expect(storage.append(makeEntries(5, 1, 3))).rejects.toBeInstanceOf(AssertionFailure);
    await storage.append(makeEntries(4, 2, 3));
    expect(plain(storage.entries(1, 6))).toEqual(plain([...makeEntries(1, 3, 2), ...makeEntries(4, 2, 3)]));
    // queued: truncate then append in one go, without awaiting in between
    const a = storage.truncateSuffix(5);
    const b = storage.append(makeEntries(5, 1, 4));
    await Promise.all([a, b]);
    expect(storage.term(5)).toBe(4);
    // truncating entries that are being written right now (taken off the queue, not durable yet)
    const c = storage.append(makeEntries(6, 5, 4));
    await new Promise((r) => setImmediate(r)); // the writer has taken the batch
    const d = storage.truncateSuffix(8);
    const e = storage.append(makeEntries(8, 1, 5));
    await Promise.all([c, d, e]);
    expect(storage.lastIndex()).toBe(8);
    expect([storage.term(7), storage.term(8)]).toEqual([4, 5]);
    await expect(storage.saveHardState({ term: 1, vote: 0, commit: 0 })).resolves.toBeUndefined();
    await expect(storage.saveHardState({ term: 0, vote: 0, commit: 0 })).rejects.toThrow(/term 0 < 1|invariant/);
    await storage.close().catch(() => undefined);
  });

  test('segment rollover: bounded files, chained across them, all read back', async () => {
    const dir = tmpDir();
    const segmentBytes = 4096;
    const { storage } = await reopen(dir, { segmentBytes });
    const all = makeEntries(1, 400, 1);
    for (let i = 0; i < all.length; i += 7) await storage.append(all.slice(i, i + 7));
    await storage.close();
    const files = wal(dir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(segmentBytes);
    // names carry seq and the first index of the segment
    expect(files[0]).toBe('0000000000000000-0000000000000001.wal');
    const r = await reopen(dir, { segmentBytes });
    expect(plain(r.recovered.entries)).toEqual(plain(all));
    expect(r.recovered.stats.segments).toBe(files.length);
    await r.storage.close();
  });

  test('an entry larger than a segment gets a segment of its own', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir, { segmentBytes: 4096 });
    const big = { index: 2, term: 1, data: new Uint8Array(10_000).fill(3) };
    await storage.append(makeEntries(1, 1, 1));
    await storage.append([big]);
    await storage.append(makeEntries(3, 1, 1));
    await storage.close();
    const r = await reopen(dir, { segmentBytes: 4096 });
    expect(plain(r.recovered.entries)).toEqual(plain([...makeEntries(1, 1, 1), big, ...makeEntries(3, 1, 1)]));
    await r.storage.close();
  });

  test('truncateSuffix across segments, then appends of a new term', async () => {
    const dir = tmpDir();
    const opts = { segmentBytes: 4096 };
    const { storage } = await reopen(dir, opts);
    const old = makeEntries(1, 300, 1);
    for (let i = 0; i < old.length; i += 10) await storage.append(old.slice(i, i + 10));
    const before = wal(dir).length;
    await storage.truncateSuffix(301); // past the end: no-op
    await storage.truncateSuffix(50);
    expect(storage.lastIndex()).toBe(49);
    expect(wal(dir).length).toBeLessThan(before);
    const fresh = makeEntries(50, 100, 2, 1);
    await storage.append(fresh);
    await storage.truncateSuffix(120);
    await storage.append(makeEntries(120, 10, 3, 2));
    const expected = [...old.slice(0, 49), ...fresh.slice(0, 70), ...makeEntries(120, 10, 3, 2)];
    expect(plain(storage.entries(1, 130))).toEqual(plain(expected));
    await storage.close();
    const r = await reopen(dir, opts);
    expect(plain(r.recovered.entries)).toEqual(plain(expected));
    expect(r.recovered.repaired).toBeUndefined();
    // truncating everything
    await r.storage.truncateSuffix(1);
    await r.storage.append(makeEntries(1, 2, 9));
    await r.storage.close();
    const r2 = await reopen(dir, opts);
    expect(plain(r2.recovered.entries)).toEqual(plain(makeEntries(1, 2, 9)));
    await r2.storage.close();
  });

  test('hard state round trip, atomically replaced', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir);
    await storage.append(makeEntries(1, 10, 3));
    await storage.saveHardState({ term: 3, vote: 2, commit: 7 });
    await storage.saveHardState({ term: 4, vote: 0, commit: 9 });
    await storage.saveHardState({ term: 4, vote: 5, commit: 10 });
    expect(storage.hardState()).toEqual({ term: 4, vote: 5, commit: 10 });
    await expect(storage.saveHardState({ term: 4, vote: 6, commit: 10 })).rejects.toThrow(/vote changed within term 4/);
    await storage.close().catch(() => undefined);
    expect(readdirSync(dir).filter((n) => n.includes('tmp'))).toEqual([]);
    expect(statSync(join(dir, 'hardstate')).size).toBe(40);
    const r = await reopen(dir);
    expect(r.recovered.hardState).toEqual({ term: 4, vote: 5, commit: 10 });
    await r.storage.close();
  });

  test('snapshot round trip; compaction prunes snapshots (keep N) and covered segments', async () => {
    const dir = tmpDir();
    const opts = { segmentBytes: 4096, keepSnapshots: 2 };
    const { storage } = await reopen(dir, opts);
    const all = makeEntries(1, 600, 1);
    for (let i = 0; i < 600; i += 20) await storage.append(all.slice(i, i + 20));
    const segsBefore = wal(dir);
    const data = (i: number) => new Uint8Array(Buffer.from(`tree as of ${i} `.repeat(50)));
    await storage.saveSnapshot(meta(100, 1), data(100));
    expect(storage.firstIndex()).toBe(101);
    expect(() => storage.entries(50, 60)).toThrow(ZgateError);
    expect(wal(dir)).toEqual(segsBefore); // one snapshot, keep 2: the log back to index 1 stays
    await storage.saveSnapshot(meta(300, 1), data(300));
    expect(snaps(dir).length).toBe(2);
    const afterTwo = wal(dir);
    expect(afterTwo.length).toBeLessThan(segsBefore.length); // entries <= 100 are covered by both
    await storage.saveSnapshot(meta(500, 1), data(500));
    expect(snaps(dir)).toEqual(['000000000000012c-0000000000000001.snap', '00000000000001f4-0000000000000001.snap']);
    // every remaining segment is needed: the first one holds entry 301 (the oldest kept snapshot + 1)
    const firsts = wal(dir).map((n) => parseInt(n.slice(17, 33), 16));
    expect(firsts[0]!).toBeLessThanOrEqual(301);
    expect(firsts[1]!).toBeGreaterThan(301);
    await storage.saveSnapshot(meta(400, 1), data(400)); // older than the current one: ignored
    // beyond the durable log, or a term the log does not have: refused before any file is written
    await expect(storage.saveSnapshot(meta(700, 1), data(700))).rejects.toBeInstanceOf(AssertionFailure);
    await expect(storage.saveSnapshot(meta(550, 2), data(550))).rejects.toBeInstanceOf(AssertionFailure);
    expect(snaps(dir).length).toBe(2);
    expect(storage.snapshotMeta().index).toBe(500);
    const loaded = await storage.loadSnapshot();
    expect(Buffer.from(loaded!.data).toString()).toBe(Buffer.from(data(500)).toString());
    expect(Buffer.from(loaded!.meta.config).toString()).toBe('cfg');
    await storage.close();
    const r = await reopen(dir, opts);
    expect(r.recovered.snapshot!.meta).toMatchObject({ index: 500, term: 1 });
    expect(Buffer.from(r.recovered.snapshot!.data)).toEqual(Buffer.from(data(500)));
    expect(plain(r.recovered.entries)).toEqual(plain(all.slice(500)));
    expect(r.storage.firstIndex()).toBe(501);
    expect(r.storage.term(500)).toBe(1);
    expect(r.storage.term(499)).toBeUndefined();
    await r.storage.close();
  });

  test('open replays only the segments after the chosen snapshot; the skipped ones are still pruned later', async () => {
    const dir = tmpDir();
    const opts = { segmentBytes: 4096, keepSnapshots: 2 };
    const { storage } = await reopen(dir, opts);
    const all = makeEntries(1, 600, 1);
    for (let i = 0; i < 600; i += 20) await storage.append(all.slice(i, i + 20));
    const data = (i: number) => new Uint8Array(Buffer.from(`tree as of ${i} `.repeat(50)));
    await storage.saveSnapshot(meta(400, 1), data(400));
    await storage.close();
    const segs = wal(dir);
    const firsts = segs.map((n) => parseInt(n.slice(17, 33), 16));
    const before = firsts.filter((f, i) => i + 1 < firsts.length && firsts[i + 1]! <= 401).length;
    expect(before).toBeGreaterThan(1); // a real skip: several whole segments lie at or below 400
    // Damage every skipped segment past its header: it is not read, so open still succeeds.
    for (const name of segs.slice(0, before)) {
      const p = join(dir, name);
      const buf = readFileSync(p);
      buf[buf.length - 3] ^= 0xff;
      writeFileSync(p, buf);
    }
    const seen: RecoveryProgress[] = [];
    const r = await reopen(dir, { ...opts, onProgress: (p: RecoveryProgress) => seen.push(p) });
    expect(r.recovered.repaired).toBeUndefined();
    expect(r.recovered.snapshot!.meta.index).toBe(400);
    expect(plain(r.recovered.entries)).toEqual(plain(all.slice(400)));
    expect(r.recovered.stats.segments).toBe(segs.length - before);
    expect(seen.filter((p) => p.phase === 'wal').length).toBe(segs.length - before);
    // Appends continue the chain of the replayed tail; a second snapshot prunes the skipped files.
    await r.storage.append(makeEntries(601, 50, 1));
    await r.storage.saveSnapshot(meta(620, 1), data(620));
    await r.storage.close();
    for (const name of segs.slice(0, before)) expect(wal(dir)).not.toContain(name);
    const again = await reopen(dir, opts);
    expect(again.recovered.snapshot!.meta.index).toBe(620);
    expect(plain(again.recovered.entries)).toEqual(plain(makeEntries(621, 30, 1)));
    await again.storage.close();
    // Without the snapshot (deleted by hand), the damaged old segments are read again and refused.
    const damagedDir = tmpDir();
    const s2 = await reopen(damagedDir, opts);
    for (let i = 0; i < 600; i += 20) await s2.storage.append(all.slice(i, i + 20));
    await s2.storage.close();
    const first = join(damagedDir, wal(damagedDir)[0]!);
    const buf = readFileSync(first);
    buf[buf.length - 3] ^= 0xff;
    writeFileSync(first, buf);
    await expect(reopen(damagedDir, opts)).rejects.toBeInstanceOf(StorageCorruptError);
  });

  test('saveSnapshot does not stop appends', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir);
    await storage.append(makeEntries(1, 10, 1));
    const big = new Uint8Array(8 * 1024 * 1024).fill(1);
    const snap = storage.saveSnapshot(meta(10, 1), big);
    const appends = Promise.all(makeEntries(11, 20, 1).map((e) => storage.append([e])));
    await Promise.all([snap, appends]);
    expect(storage.lastIndex()).toBe(30);
    expect(storage.firstIndex()).toBe(11);
    await storage.close();
  });

  test('installSnapshot replaces the log', async () => {
    const dir = tmpDir();
    const opts = { segmentBytes: 4096 };
    const { storage } = await reopen(dir, opts);
    await storage.append(makeEntries(1, 200, 1));
    await storage.saveSnapshot(meta(50, 1), new Uint8Array([1]));
    await storage.installSnapshot(meta(1000, 4), new Uint8Array([2, 2]));
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(1000)]).toEqual([1001, 1000, 4]);
    expect(snaps(dir)).toEqual(['00000000000003e8-0000000000000004.snap']);
    expect(wal(dir).length).toBe(1);
    await storage.append(makeEntries(1001, 5, 4));
    await storage.close();
    const r = await reopen(dir, opts);
    expect(r.recovered.snapshot!.meta).toMatchObject({ index: 1000, term: 4 });
    expect(plain(r.recovered.entries)).toEqual(plain(makeEntries(1001, 5, 4)));
    await r.storage.close();
  });

  test('an interrupted installSnapshot (snapshot placed, log not replaced) is completed on open', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir);
    await storage.append(makeEntries(1, 20, 1));
    await storage.close();
    // the leader's snapshot at 15 has term 2: our entries 15.. (term 1) conflict with it
    await writeSnapshot((await import('../../src/storage/fs.js')).realFileSystem, dir, meta(15, 2), new Uint8Array([5]));
    const r = await reopen(dir);
    expect(r.recovered.snapshot!.meta.index).toBe(15);
    expect(r.recovered.entries).toEqual([]);
    expect(r.recovered.repaired).toMatch(/restarted the log at 16/);
    await r.storage.append(makeEntries(16, 2, 2));
    await r.storage.close();
    const r2 = await reopen(dir);
    expect(plain(r2.recovered.entries)).toEqual(plain(makeEntries(16, 2, 2)));
    await r2.storage.close();
  });

  test('a damaged newest snapshot falls back to an older one when the log covers the gap, else refuses', async () => {
    const dir = tmpDir();
    const opts = { segmentBytes: 4096, keepSnapshots: 2 };
    const { storage } = await reopen(dir, opts);
    const all = makeEntries(1, 300, 1);
    for (let i = 0; i < 300; i += 10) await storage.append(all.slice(i, i + 10));
    await storage.saveSnapshot(meta(100, 1), new Uint8Array([1]));
    await storage.saveSnapshot(meta(200, 1), new Uint8Array([2]));
    await storage.close();
    const newest = join(dir, snaps(dir)[1]!);
    const bytes = readFileSync(newest);
    bytes[bytes.length - 6] ^= 4;
    writeFileSync(newest, bytes);
    const r = await reopen(dir, opts);
    expect(r.recovered.snapshot!.meta.index).toBe(100);
    expect(plain(r.recovered.entries)).toEqual(plain(all.slice(100)));
    expect(r.recovered.repaired).toMatch(/snapshot .*0000000000c8-.*damaged.*CRC mismatch/);
    expect(readdirSync(dir).some((n) => n.includes('.snap.broken-'))).toBe(true);
    // now compact so far that only one snapshot's worth of log is left, and damage it
    await r.storage.saveSnapshot(meta(250, 1), new Uint8Array([3]));
    await r.storage.saveSnapshot(meta(290, 1), new Uint8Array([4]));
    await r.storage.close();
    for (const s of snaps(dir)) {
      const p = join(dir, s);
      const b = readFileSync(p);
      b[45] ^= 1;
      writeFileSync(p, b);
    }
    await expect(reopen(dir, opts)).rejects.toThrow(StorageCorruptError);
    await expect(reopen(dir, opts)).rejects.toThrow(/00000000000122-0000000000000001\.snap at byte offset 0: snapshot CRC mismatch.*refusing to start/);
  });

  test('group commit: concurrent appends share fsyncs', async () => {
    const dir = tmpDir();
    const fs = new FaultInjectingFileSystem();
    const { storage } = await reopen(dir, { fs });
    const before = fs.calls.get('datasync') ?? 0;
    await Promise.all(makeEntries(1, 500, 1).map((e) => storage.append([e])));
    const syncs = (fs.calls.get('datasync') ?? 0) - before;
    expect(syncs).toBeLessThan(20);
    expect(storage.lastIndex()).toBe(500);
    await storage.close();
  });

  test('the write queue is bounded', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir, { maxQueuedEntries: 10 });
    const first = storage.append(makeEntries(1, 10, 1));
    await expect(storage.append(makeEntries(11, 1, 1))).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/queue full/) });
    await first;
    await storage.append(makeEntries(11, 1, 1)); // the rejected one left no trace: retry works
    expect(storage.lastIndex()).toBe(11);
    await storage.close();
  });

  test('onProgress reports the replay', async () => {
    const dir = tmpDir();
    const { storage } = await reopen(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 300; i += 30) await storage.append(makeEntries(i, 30, 1));
    await storage.close();
    const seen: RecoveryProgress[] = [];
    const r = await reopen(dir, { segmentBytes: 4096, onProgress: (p: RecoveryProgress) => seen.push(p) });
    const walSteps = seen.filter((p) => p.phase === 'wal');
    expect(walSteps.length).toBe(wal(dir).length);
    const total = wal(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(walSteps[walSteps.length - 1]).toMatchObject({ segmentsDone: wal(dir).length, records: 300 + wal(dir).length, bytes: total, bytesTotal: total });
    expect(seen[seen.length - 1]!.phase).toBe('done');
    await r.storage.close();
  });
});

describe('MemoryStorage', () => {
  test('same contract in memory', async () => {
    const m = new MemoryStorage();
    await m.append(makeEntries(1, 10, 1));
    await m.truncateSuffix(8);
    await m.append(makeEntries(8, 2, 2));
    await m.saveHardState({ term: 2, vote: 1, commit: 5 });
    await m.saveSnapshot(meta(5, 1), new Uint8Array([1]));
    expect([m.firstIndex(), m.lastIndex(), m.term(5), m.term(9)]).toEqual([6, 9, 1, 2]);
    await expect(m.append(makeEntries(11, 1, 2))).rejects.toBeInstanceOf(AssertionFailure);
    const copy = new MemoryStorage(m.durableState());
    expect(plain(copy.entries(6, 10))).toEqual(plain(m.entries(6, 10)));
    await m.installSnapshot(meta(100, 3), new Uint8Array(0));
    expect([m.firstIndex(), m.lastIndex()]).toEqual([101, 100]);
  });
});
