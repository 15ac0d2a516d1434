/**
 * FileStorage: the Storage interface over one data directory, its write queue and the one
 * writer loop. open()'s recovery is recovery.ts's, the segment files are segments.ts's. See
 * README.md for the design.
 *
 * Memory: the log since the latest snapshot is held in memory (as etcd's MemoryStorage next to
 * its WAL): reads are synchronous and the WAL is only ever read on open(). Snapshotting every
 * N entries bounds it.
 */
import { join } from 'node:path';
import { assert, AssertionFailure } from '../util/assert.js';
import { ZgateError } from '../core/errors.js';
import type { HardState, LogEntry, Recovered, SnapshotMeta, Storage, StorageOptions } from './types.js';
import { type FileSystem, realFileSystem, fsyncDir, errnoCode } from './fs.js';
import { StorageCorruptError, unavailable } from './errors.js';
import { DirLock } from './lock.js';
import { storeHardState } from './hardstate.js';
import { readSnapshot, snapshotName, writeSnapshot, type SnapshotFile } from './snapshot.js';
import { createSegment, segmentName, type NewSegment, type Segments } from './segments.js';
import { recover, type RecoveredState } from './recovery.js';
import { MAX_ENTRY_DATA, SEG_FLAG_RESET, SEG_HEADER_BYTES, encodeEntry, entryRecordSize } from './record.js';

export const DEFAULTS = {
  segmentBytes: 64 * 1024 * 1024,
  keepSnapshots: 2,
  maxQueuedEntries: 65536,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxBatchBytes: 4 * 1024 * 1024,
} as const;

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}
type OpBody =
  | { kind: 'append'; entries: readonly LogEntry[]; bytes: number; dataBytes: number }
  | { kind: 'truncate'; from: number }
  | { kind: 'hardstate'; hs: HardState }
  | { kind: 'install'; meta: SnapshotMeta; data: Uint8Array }
  | { kind: 'compact'; meta: SnapshotMeta };
type Op = Waiter & OpBody;
type AppendOp = Waiter & Extract<OpBody, { kind: 'append' }>;

type Limits = Required<Omit<StorageOptions, 'fs' | 'onProgress' | 'repair'>>;

const NOT_FATAL = Symbol('notFatal');
function isNotFatal(e: unknown): e is Error {
  return e instanceof Error && NOT_FATAL in e;
}

export class FileStorage implements Storage {
  // Durable state (what the read methods show).
  private snap: SnapshotMeta;
  private hs: HardState;
  private log: LogEntry[];
  private locSeg: number[];
  private locOff: number[];
  private locCrc: number[];
  /** The segment files; appends go to the last one's durable end. */
  private readonly segments: Segments;
  // Queued state (what new calls are validated against).
  private qLastIndex: number;
  private qLastTerm: number;
  private qSnapIndex: number;
  private ops: Op[] = [];
  /** Ops taken off the queue and being written now (not durable yet). */
  private inflight: Op[] = [];
  private closing: Promise<void> | undefined;
  private queuedEntries = 0;
  private queuedBytes = 0;
  private running = false;
  private scheduled = false;
  private failed: ZgateError | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private snapshotChain: Promise<void> = Promise.resolve();

  readonly dir: string;
  private readonly fs: FileSystem;
  private readonly lock: DirLock;
  private readonly opts: Limits;

  private constructor(dir: string, fs: FileSystem, lock: DirLock, opts: Limits, state: RecoveredState) {
    this.dir = dir;
    this.fs = fs;
    this.lock = lock;
    this.opts = opts;
    this.snap = state.snap;
    this.hs = state.hs;
    this.log = state.log.entries;
    this.locSeg = state.log.locSeg;
    this.locOff = state.log.locOff;
    this.locCrc = state.log.locCrc;
    this.segments = state.segments;
    this.qLastIndex = this.lastIndex();
    this.qLastTerm = this.term(this.qLastIndex)!;
    this.qSnapIndex = this.snap.index;
    this.checkInvariants();
  }

  /**
   * Lock the directory (created if missing), recover its state and return it. Throws
   * StorageLockedError if another Storage holds it, StorageCorruptError if it is damaged in a
   * way that must not be repaired silently (see README.md).
   */
  static async open(dir: string, options: StorageOptions = {}): Promise<{ storage: FileStorage; recovered: Recovered }> {
    const fs = options.fs ?? realFileSystem;
    const opts = {
      segmentBytes: options.segmentBytes ?? DEFAULTS.segmentBytes,
      keepSnapshots: options.keepSnapshots ?? DEFAULTS.keepSnapshots,
      maxQueuedEntries: options.maxQueuedEntries ?? DEFAULTS.maxQueuedEntries,
      maxQueuedBytes: options.maxQueuedBytes ?? DEFAULTS.maxQueuedBytes,
      maxBatchBytes: options.maxBatchBytes ?? DEFAULTS.maxBatchBytes,
    };
    assert(opts.segmentBytes >= 1024, 'segmentBytes >= 1024');
    assert(opts.keepSnapshots >= 1, 'keepSnapshots >= 1');
    await fs.mkdir(dir);
    const lock = await DirLock.acquire(fs, dir);
    try {
      const { state, recovered } = await recover(dir, fs, options);
      return { storage: new FileStorage(dir, fs, lock, opts, state), recovered };
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
  }

  // ---------------------------------------------------------------- reads (durable state)

  firstIndex(): number {
    return this.snap.index + 1;
  }
  lastIndex(): number {
    return this.snap.index + this.log.length;
  }
  term(i: number): number | undefined {
    if (i === this.snap.index) return this.snap.term;
    if (i < this.snap.index || i > this.lastIndex()) return undefined;
    return this.log[i - this.snap.index - 1]!.term;
  }
  entries(lo: number, hi: number, maxBytes?: number): LogEntry[] {
    if (lo < this.firstIndex()) throw new ZgateError('Compacted', `entries from ${lo} are compacted: the log starts at ${this.firstIndex()}`);
    assert(lo <= hi && hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) outside ${this.firstIndex()}..${this.lastIndex()}`);
    const base = this.snap.index + 1;
    if (maxBytes === undefined) return this.log.slice(lo - base, hi - base);
    const out: LogEntry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - base]!;
      if (out.length > 0 && bytes + e.data.length > maxBytes) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }
  hardState(): HardState {
    return { ...this.hs };
  }
  snapshotMeta(): SnapshotMeta {
    return this.snap;
  }
  async loadSnapshot(): Promise<{ meta: SnapshotMeta; data: Uint8Array } | undefined> {
    const meta = this.snap;
    if (meta.index === 0) return undefined;
    const file: SnapshotFile = { name: snapshotName(meta.index, meta.term), index: meta.index, term: meta.term };
    let got;
    try {
      got = await readSnapshot(this.fs, this.dir, file);
    } catch (e) {
      throw unavailable(`could not read snapshot ${file.name}`, e);
    }
    if ('bad' in got) throw new StorageCorruptError(join(this.dir, file.name), got.offset, got.bad, 'the current snapshot is damaged; restart the member');
    return got;
  }

  // ---------------------------------------------------------------- writes (queued)

  append(entries: readonly LogEntry[]): Promise<void> {
    try {
      this.checkUsable();
      if (entries.length === 0) return Promise.resolve();
      let bytes = 0;
      let dataBytes = 0;
      let prevIndex = this.qLastIndex;
      let prevTerm = this.qLastTerm;
      for (const e of entries) {
        assert(Number.isSafeInteger(e.index) && e.index === prevIndex + 1, () => `append: entry index ${e.index} does not follow ${prevIndex}`);
        assert(Number.isSafeInteger(e.term) && e.term >= prevTerm && e.term >= 1, () => `append: entry ${e.index} term ${e.term} after term ${prevTerm}`);
        if (e.data.length > MAX_ENTRY_DATA) throw new ZgateError('PayloadTooLarge', `log entry of ${e.data.length} bytes (max ${MAX_ENTRY_DATA})`);
        prevIndex = e.index;
        prevTerm = e.term;
        bytes += entryRecordSize(e.data.length);
        dataBytes += e.data.length;
      }
      if (this.ops.length > 0 && (this.queuedEntries + entries.length > this.opts.maxQueuedEntries || this.queuedBytes + dataBytes > this.opts.maxQueuedBytes)) {
        throw unavailable(`write queue full (${this.queuedEntries} entries, ${this.queuedBytes} bytes queued)`);
      }
      this.queuedEntries += entries.length;
      this.queuedBytes += dataBytes;
      this.qLastIndex = prevIndex;
      this.qLastTerm = prevTerm;
      return this.enqueue({ kind: 'append', entries, bytes, dataBytes });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  truncateSuffix(fromIndex: number): Promise<void> {
    try {
      this.checkUsable();
      assert(fromIndex > this.qSnapIndex, () => `truncateSuffix(${fromIndex}) would cut into the snapshot at ${this.qSnapIndex}`);
      if (fromIndex > this.qLastIndex) return Promise.resolve();
      this.qLastIndex = fromIndex - 1;
      this.qLastTerm = this.queuedTerm(fromIndex - 1);
      return this.enqueue({ kind: 'truncate', from: fromIndex });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  saveHardState(hs: HardState): Promise<void> {
    try {
      this.checkUsable();
      assert([hs.term, hs.vote, hs.commit].every((n) => Number.isSafeInteger(n) && n >= 0), 'hard state fields are non-negative integers');
      return this.enqueue({ kind: 'hardstate', hs: { term: hs.term, vote: hs.vote, commit: hs.commit } });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  saveSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    try {
      this.checkUsable();
      assert(meta.index >= 1 && meta.term >= 1, 'snapshot index and term >= 1');
    } catch (e) {
      return Promise.reject(e as Error);
    }
    // Serialised with other saveSnapshot calls; the file is written beside the writer loop
    // (appends go on meanwhile), only the compaction is queued.
    const run = this.snapshotChain.then(async () => {
      if (meta.index <= this.snap.index) return; // not newer than what we have
      // Checked before the file is written: a snapshot beyond the durable log must never
      // reach the disk (open() would take it as the newest state).
      assert(meta.index <= this.lastIndex() && this.term(meta.index) === meta.term,
        () => `saveSnapshot(${meta.index}, term ${meta.term}): the durable log has ${this.lastIndex()} entries, term there ${this.term(meta.index)}`);
      try {
        await writeSnapshot(this.fs, this.dir, meta, data);
      } catch (e) {
        throw unavailable(`could not write snapshot ${snapshotName(meta.index, meta.term)}`, e);
      }
      await this.enqueue({ kind: 'compact', meta });
    });
    this.snapshotChain = run.catch(() => undefined);
    return run;
  }

  installSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    try {
      this.checkUsable();
      assert(meta.index > this.qSnapIndex && meta.term >= 1, () => `installSnapshot(${meta.index}) not newer than snapshot ${this.qSnapIndex}`);
      this.qSnapIndex = meta.index;
      this.qLastIndex = meta.index;
      this.qLastTerm = meta.term;
      return this.enqueue({ kind: 'install', meta, data });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    await this.snapshotChain;
    if (this.running || this.scheduled || this.ops.length > 0) await new Promise<void>((res) => this.idleWaiters.push(res));
    await this.segments.close().catch(() => undefined);
    await this.lock.release();
  }

  /** Why the storage refuses writes, if it does (a write failed and could not be undone). */
  failure(): ZgateError | undefined {
    return this.failed;
  }

  // ---------------------------------------------------------------- the writer

  private checkUsable(): void {
    if (this.closed) throw unavailable('is closed');
    if (this.failed) throw this.failed;
  }

  /** Term of index i in the queued log: queued ops, then the ones being written, then durable. */
  private queuedTerm(i: number): number {
    const pending = [...this.inflight, ...this.ops];
    for (let k = pending.length - 1; k >= 0; k--) {
      const op = pending[k]!;
      if (op.kind === 'append') {
        const first = op.entries[0]!.index;
        if (i >= first && i < first + op.entries.length) return op.entries[i - first]!.term;
      } else if (op.kind === 'install' && op.meta.index === i) {
        return op.meta.term;
      }
    }
    const t = this.term(i);
    assert(t !== undefined, () => `no term known for index ${i}`);
    return t;
  }

  private enqueue(body: OpBody): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.ops.push({ ...body, resolve, reject } as Op);
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: callers woken by the last batch get to queue their next
    // writes first, so they share the next fsync.
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.ops.length > 0) {
      if (this.failed) {
        this.rejectQueued(this.failed);
        break;
      }
      const head = this.ops[0]!;
      try {
        if (head.kind === 'append') await this.writeBatch();
        else {
          this.ops.shift();
          this.inflight = [head];
          await this.runOne(head);
          this.inflight = [];
          head.resolve();
        }
      } catch (e) {
        this.inflight = [];
        if (isNotFatal(e)) {
          head.reject(e);
          continue;
        }
        // runOne failed: that op and everything queued behind it are rejected.
        if (e instanceof AssertionFailure) this.failed = unavailable('stopped on a broken invariant', e);
        const err = e instanceof Error ? e : new Error(String(e));
        if (head.kind !== 'append') head.reject(err);
        this.rejectQueued(err);
      }
    }
    this.running = false;
    if (!this.scheduled) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private rejectQueued(err: Error): void {
    for (const op of this.ops.splice(0)) op.reject(err);
    this.queuedEntries = 0;
    this.queuedBytes = 0;
    this.qLastIndex = this.lastIndex();
    this.qLastTerm = this.term(this.qLastIndex)!;
    this.qSnapIndex = this.snap.index;
  }

  private async writeBatch(): Promise<void> {
    const batch: AppendOp[] = [];
    this.inflight = batch;
    try {
      await this.writeBatchInner(batch);
    } catch (e) {
      // Unexpected (a broken invariant): nothing more may be written.
      this.failed = unavailable('stopped on an unexpected error', e);
      this.batchFailed(batch, e);
    } finally {
      this.inflight = [];
    }
  }

  private async writeBatchInner(batch: AppendOp[]): Promise<void> {
    let bytes = 0;
    const limit = Math.max(1, Math.min(this.opts.maxBatchBytes, this.opts.segmentBytes - SEG_HEADER_BYTES));
    while (this.ops.length > 0) {
      const op = this.ops[0]!;
      if (op.kind !== 'append' || (batch.length > 0 && bytes + op.bytes > limit)) break;
      this.ops.shift();
      batch.push(op);
      bytes += op.bytes;
      this.queuedEntries -= op.entries.length;
      this.queuedBytes -= op.dataBytes;
    }
    const segments = this.segments;
    if (segments.offset > SEG_HEADER_BYTES && segments.offset + bytes > this.opts.segmentBytes) {
      try {
        await segments.switchTo(await this.newSegment(this.lastIndex() + 1, 0));
      } catch (e) {
        this.batchFailed(batch, e);
        return;
      }
    }
    const buf = Buffer.allocUnsafe(bytes);
    const offs: number[] = [];
    const crcs: number[] = [];
    let at = 0;
    let chain = segments.chain;
    for (const op of batch) {
      for (const e of op.entries) {
        offs.push(segments.offset + at);
        crcs.push(chain);
        chain = encodeEntry(buf, at, e.index, e.term, e.data, chain);
        at += entryRecordSize(e.data.length);
      }
    }
    assert(at === bytes, 'batch size');
    try {
      await segments.write(buf);
    } catch (e) {
      await this.undoTail(e);
      this.batchFailed(batch, e);
      return;
    }
    // Durable: make it visible.
    const seq = segments.last.seq;
    let k = 0;
    for (const op of batch) {
      assert(op.entries[0]!.index === this.lastIndex() + 1, 'batch continues the durable log');
      for (const e of op.entries) {
        this.log.push(e);
        this.locSeg.push(seq);
        this.locOff.push(offs[k]!);
        this.locCrc.push(crcs[k]!);
        k++;
      }
    }
    segments.advance(bytes, chain);
    for (const op of batch) op.resolve();
  }

  private batchFailed(batch: AppendOp[], cause: unknown): void {
    const err = this.failed ?? unavailable(`write failed, nothing of it was kept (${batch.length} append(s) rejected)`, cause);
    for (const op of batch) op.reject(err);
    this.rejectQueued(err);
  }

  /** After a failed write/fsync: cut the file back to the last durable offset, or give up. */
  private async undoTail(cause: unknown): Promise<void> {
    try {
      await this.segments.rollBack();
    } catch (e) {
      this.failed = unavailable(
        `write failed (${errnoCode(cause) ?? String(cause)}) and could not be rolled back (${errnoCode(e) ?? String(e)}): close and reopen the storage`, e);
    }
  }

  /**
   * The next segment file, its log starting at `firstIndex` (createSegment: temp file, fsync,
   * rename, fsync dir). Placed but not synced into the directory, it leaves the storage failed.
   */
  private async newSegment(firstIndex: number, flags: number): Promise<NewSegment> {
    const segments = this.segments;
    const header = { seq: segments.last.seq + 1, firstIndex, flags, prevCrc: segments.chain };
    const progress = { placed: false };
    try {
      return await createSegment(this.fs, this.dir, header, progress);
    } catch (e) {
      if (progress.placed) {
        this.failed = unavailable(`new segment ${segmentName(header.seq, firstIndex)} placed but its directory entry could not be synced: close and reopen the storage`, e);
      }
      throw e;
    }
  }

  private async runOne(op: Op): Promise<void> {
    switch (op.kind) {
      case 'truncate':
        return this.runTruncate(op.from);
      case 'hardstate':
        return this.runHardState(op.hs);
      case 'install':
        return this.runInstall(op.meta, op.data);
      case 'compact':
        return this.runCompact(op.meta);
      case 'append':
        throw new AssertionFailure('append in runOne');
    }
  }

  private async runTruncate(from: number): Promise<void> {
    if (from > this.lastIndex()) return;
    assert(from > this.snap.index && from > this.hs.commit, () => `truncateSuffix(${from}) below commit ${this.hs.commit} / snapshot ${this.snap.index}`);
    const k = from - this.snap.index - 1;
    const seq = this.locSeg[k]!;
    const off = this.locOff[k]!;
    const crc = this.locCrc[k]!;
    try {
      await this.segments.cutTo(seq, off, crc);
    } catch (e) {
      this.failed = unavailable(`truncateSuffix(${from}) failed half-way: close and reopen the storage`, e);
      throw this.failed;
    }
    this.log.length = k;
    this.locSeg.length = k;
    this.locOff.length = k;
    this.locCrc.length = k;
  }

  private async runHardState(hs: HardState): Promise<void> {
    const cur = this.hs;
    assert(hs.term >= cur.term, () => `hard state term ${hs.term} < ${cur.term}`);
    assert(hs.term > cur.term || cur.vote === 0 || hs.vote === cur.vote, () => `vote changed within term ${hs.term}: ${cur.vote} -> ${hs.vote}`);
    assert(hs.commit <= Math.max(this.lastIndex(), cur.commit), () => `hard state commit ${hs.commit} > durable last index ${this.lastIndex()}`);
    const progress = { placed: false };
    try {
      await storeHardState(this.fs, this.dir, hs, progress);
    } catch (e) {
      if (progress.placed) this.failed = unavailable('hard state placed but its directory could not be synced: close and reopen the storage', e);
      throw this.failed ?? unavailable('could not write the hard state', e);
    }
    this.hs = hs;
  }

  private async runInstall(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    assert(meta.index > this.snap.index, 'installed snapshot is newer');
    const name = snapshotName(meta.index, meta.term);
    const progress = { placed: false };
    const unplace = async (): Promise<void> => {
      if (!progress.placed) return;
      try {
        await this.fs.unlink(join(this.dir, name));
        await fsyncDir(this.fs, this.dir);
      } catch (e) {
        this.failed = unavailable('installSnapshot failed and its file could not be removed: close and reopen the storage', e);
      }
    };
    let next;
    try {
      await writeSnapshot(this.fs, this.dir, meta, data, progress);
      next = await this.newSegment(meta.index + 1, SEG_FLAG_RESET);
    } catch (e) {
      if (!this.failed) await unplace();
      throw this.failed ?? unavailable(`could not install snapshot ${name}`, e);
    }
    // The reset segment is durable: the log now restarts at meta.index + 1.
    await this.segments.switchTo(next);
    this.snap = meta;
    this.log = [];
    this.locSeg = [];
    this.locOff = [];
    this.locCrc = [];
    // Older segments and snapshots are obsolete; failing to delete them is harmless.
    await this.segments.prune(this.snap, this.opts.keepSnapshots, true).catch(() => undefined);
  }

  private async runCompact(meta: SnapshotMeta): Promise<void> {
    if (meta.index <= this.snap.index) return;
    assert(meta.index <= this.lastIndex(), () => `snapshot ${meta.index} beyond the durable log (${this.lastIndex()})`);
    assert(this.term(meta.index) === meta.term, () => `snapshot ${meta.index} has term ${meta.term}, the log says ${this.term(meta.index)}`);
    const k = meta.index - this.snap.index;
    this.log.splice(0, k);
    this.locSeg.splice(0, k);
    this.locOff.splice(0, k);
    this.locCrc.splice(0, k);
    this.snap = meta;
    try {
      await this.segments.prune(this.snap, this.opts.keepSnapshots, false);
    } catch (e) {
      // The snapshot is saved and the log compacted in memory; files left over are removed
      // by the next prune. Reported to the caller, not fatal, queued writes go on.
      const err = unavailable('snapshot saved, but pruning old files failed', e);
      throw Object.assign(err, { [NOT_FATAL]: true });
    }
  }

  private checkInvariants(): void {
    assert(this.segments.count > 0, 'at least one segment');
    for (let i = 0; i < this.log.length; i++) {
      const e = this.log[i]!;
      assert(e.index === this.snap.index + 1 + i, 'log indices contiguous after the snapshot');
      assert(e.term >= (i === 0 ? this.snap.term : this.log[i - 1]!.term), 'terms non-decreasing');
    }
  }
}
