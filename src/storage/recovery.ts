/**
 * open()'s recovery of a data directory (README.md, "Recovery"): leftover temp files, the hard
 * state, the choice of snapshot, the replay of the segments after it (replay.ts, which also
 * repairs a torn tail), damaged snapshots set aside, and the log reconciled with the snapshot.
 * What it finds is the durable state FileStorage starts from.
 */
import { join } from 'node:path';
import type { HardState, Recovered, RecoveryProgress, SnapshotMeta, StorageOptions } from './types.js';
import type { FileSystem } from './fs.js';
import { StorageCorruptError } from './errors.js';
import { loadHardState } from './hardstate.js';
import { listSnapshots, readSnapshot, type SnapshotFile } from './snapshot.js';
import { replayWal, type Replayed } from './replay.js';
import { createSegment, listSegments, Segments, type SegmentInfo } from './segments.js';
import { SEG_FLAG_RESET, SEG_HEADER_BYTES } from './record.js';

/** The durable state found on disk. */
export interface RecoveredState {
  snap: SnapshotMeta;
  hs: HardState;
  /** The log after the snapshot, and per entry: segment seq, byte offset of its record, chain value before it. */
  log: Pick<Replayed, 'entries' | 'locSeg' | 'locOff' | 'locCrc'>;
  /** The segment files, the last one open where appends continue. */
  segments: Segments;
}

const EMPTY_SNAPSHOT: SnapshotMeta = { index: 0, term: 0, config: new Uint8Array(0) };

type Snapshot = { meta: SnapshotMeta; data: Uint8Array };
type Damaged = { file: SnapshotFile; bad: string; offset: number };

/** The replayed log's extent: entries logStart..logLast (none if logStart is undefined). */
interface Span {
  logStart: number | undefined;
  logLast: number;
  termAt(i: number): number | undefined;
}

export async function recover(dir: string, fs: FileSystem, options: StorageOptions): Promise<{ state: RecoveredState; recovered: Recovered }> {
  const started = Date.now();
  const names = await readDir(fs, dir);
  const hs = (await loadHardState(fs, dir)) ?? { term: 0, vote: 0, commit: 0 };
  const allSegments = listSegments(names);
  const snaps = listSnapshots(names);
  const { chosen, damaged } = await chooseSnapshot(fs, dir, snaps, allSegments.length, options.onProgress, started);
  const base = chosen?.meta ?? EMPTY_SNAPSHOT;
  // Segments whose entries all lie at or below the chosen snapshot are not replayed (etcd's WAL,
  // too, starts reading at the snapshot): they can't change the state, and reading them was most
  // of a large recovery's open time. Each segment's header is checkable alone, so the chain
  // check starts at the first replayed one. The cost: damage in a skipped segment goes
  // unnoticed; such a segment is needed only if this snapshot is damaged later, and is pruned
  // once a newer snapshot is kept.
  let skip = 0;
  while (skip < allSegments.length - 1 && allSegments[skip + 1]!.firstIndex <= base.index + 1) skip++;
  const skipped = allSegments.slice(0, skip);
  const segments = allSegments.slice(skip);
  const replayed = await replayWal(fs, dir, segments, { repair: options.repair === true, onProgress: options.onProgress, started });
  const span = spanOf(replayed);
  if (damaged.length > 0) await setAsideDamaged(fs, dir, damaged, base, span, replayed.repairs);
  if (snaps.length === 0 && span.logStart !== undefined && span.logStart > 1) {
    throw new StorageCorruptError(join(dir, segments[0]?.name ?? ''), 0, `the log starts at index ${span.logStart} but there is no snapshot`,
      'refusing to start: entries 1..' + (span.logStart - 1) + ' are missing; restore the snapshot files');
  }
  const log = reconcile(dir, base, replayed, span, skipped);
  const open = await openSegments(fs, dir, base, replayed, log);
  const lastAfter = base.index + log.kept.entries.length;
  if (hs.commit > lastAfter) {
    replayed.repairs.push(`hard state commit ${hs.commit} is beyond the recovered log (last index ${lastAfter}): entries this member had committed were cut; it must catch up from the leader`);
  }
  const elapsedMs = Date.now() - started;
  const stats = { segments: segments.length, records: replayed.records, bytes: replayed.bytes, elapsedMs };
  options.onProgress?.({ phase: 'done', segmentsDone: segments.length, segmentsTotal: segments.length, records: replayed.records, bytes: replayed.bytes, bytesTotal: replayed.bytes, elapsedMs });
  const recovered: Recovered = {
    hardState: hs,
    snapshot: chosen,
    entries: log.kept.entries,
    repaired: replayed.repairs.length > 0 ? replayed.repairs.join('\n') : undefined,
    stats,
  };
  return { state: { snap: base, hs, log: log.kept, segments: open }, recovered };
}

/** The directory's file names, once leftover temp files of interrupted atomic writes are deleted. */
async function readDir(fs: FileSystem, dir: string): Promise<string[]> {
  const names = await fs.readdir(dir);
  // Not another process's lock attempt (LOCK*.tmp).
  for (const n of names) if (n.endsWith('.tmp') && !n.startsWith('LOCK')) await fs.unlink(join(dir, n)).catch(() => undefined);
  return names.filter((n) => !n.endsWith('.tmp'));
}

/** The newest snapshot whose file checks, and the damaged ones newer than it (newest first). */
async function chooseSnapshot(
  fs: FileSystem,
  dir: string,
  snaps: SnapshotFile[],
  segmentsTotal: number,
  onProgress: ((p: RecoveryProgress) => void) | undefined,
  started: number,
): Promise<{ chosen: Snapshot | undefined; damaged: Damaged[] }> {
  const damaged: Damaged[] = [];
  for (const s of snaps) {
    onProgress?.({ phase: 'snapshot', file: s.name, segmentsDone: 0, segmentsTotal, records: 0, bytes: 0, bytesTotal: 0, elapsedMs: Date.now() - started });
    const got = await readSnapshot(fs, dir, s);
    if ('bad' in got) {
      damaged.push({ file: s, ...got });
      continue;
    }
    return { chosen: got, damaged };
  }
  return { chosen: undefined, damaged };
}

function spanOf(replayed: Replayed): Span {
  const logStart = replayed.logStart;
  const logLast = logStart === undefined ? 0 : logStart + replayed.entries.length - 1;
  const termAt = (i: number): number | undefined =>
    logStart !== undefined && i >= logStart && i <= logLast ? replayed.entries[i - logStart]!.term : undefined;
  return { logStart, logLast, termAt };
}

/**
 * Damaged snapshots newer than `base` are replaced by it (or by none) only if the log covers
 * everything from there to the newest damaged one's index: they are then renamed aside.
 */
async function setAsideDamaged(fs: FileSystem, dir: string, damaged: Damaged[], base: SnapshotMeta, span: Span, repairs: string[]): Promise<void> {
  const { logStart, logLast } = span;
  const newest = damaged[0]!;
  const covered = (logStart ?? Infinity) <= base.index + 1 && logLast >= newest.file.index &&
    (base.index < (logStart ?? Infinity) || span.termAt(base.index) === base.term);
  if (!covered) {
    throw new StorageCorruptError(join(dir, newest.file.name), newest.offset, `snapshot ${newest.bad}`,
      `refusing to start: ${base.index > 0 ? `the older snapshot at index ${base.index}` : 'no older snapshot'} can't replace it because ` +
      `the log (${logStart === undefined ? 'empty' : `${logStart}..${logLast}`}) does not cover ${base.index + 1}..${newest.file.index}; restore the data dir`);
  }
  for (const d of damaged) {
    await fs.rename(join(dir, d.file.name), join(dir, `${d.file.name}.broken-${Date.now()}`));
    repairs.push(`snapshot ${join(dir, d.file.name)} is damaged (${d.bad} at offset ${d.offset}): set aside as .broken, recovering from ${base.index > 0 ? `snapshot ${base.index}` : 'the start of the log'} plus the log`);
  }
}

/** The log reconciled with the snapshot: the entries kept, the segment files, and whether the log restarts. */
interface Reconciled {
  kept: RecoveredState['log'];
  segs: SegmentInfo[];
  needFresh: boolean;
}

/**
 * Keeps the entries after the snapshot if the log reaches it consistently; a log that ends
 * before it or disagrees on its term is obsolete (an installSnapshot interrupted by a crash):
 * the log then restarts after the snapshot. The skipped segments stay listed (in front) so that
 * pruning deletes them in its time.
 */
function reconcile(dir: string, base: SnapshotMeta, replayed: Replayed, span: Span, skipped: SegmentInfo[]): Reconciled {
  const { logStart, logLast } = span;
  const segs = [...skipped, ...replayed.segments];
  let entries = replayed.entries;
  let needFresh = logStart === undefined || replayed.tail === undefined;
  if (logStart !== undefined) {
    if (logStart > base.index + 1) {
      throw new StorageCorruptError(join(dir, segs[0]?.name ?? ''), 0, `the log starts at index ${logStart}, after the snapshot at ${base.index}`,
        `refusing to start: entries ${base.index + 1}..${logStart - 1} are missing`);
    }
    if (logLast < base.index || span.termAt(base.index) !== (base.index >= logStart ? base.term : undefined)) {
      if (logLast >= base.index || entries.length > 0) {
        replayed.repairs.push(`log ${logStart}..${logLast} does not continue snapshot ${base.index} (term ${base.term}): restarted the log at ${base.index + 1} (an interrupted installSnapshot)`);
      }
      needFresh = true;
      entries = [];
    }
  }
  const cut = entries.length === 0 ? 0 : Math.max(0, base.index + 1 - logStart!);
  const kept = {
    entries: entries.slice(cut),
    locSeg: entries.length === 0 ? [] : replayed.locSeg.slice(cut),
    locOff: entries.length === 0 ? [] : replayed.locOff.slice(cut),
    locCrc: entries.length === 0 ? [] : replayed.locCrc.slice(cut),
  };
  return { kept, segs, needFresh };
}

/**
 * The segment appends continue in: the last one at its end, or, when the log restarts, a fresh
 * reset segment starting after the snapshot that replaces every other segment file.
 */
async function openSegments(fs: FileSystem, dir: string, base: SnapshotMeta, replayed: Replayed, log: Reconciled): Promise<Segments> {
  if (log.needFresh) {
    const header = { seq: replayed.maxSeq + 1, firstIndex: base.index + 1, flags: SEG_FLAG_RESET, prevCrc: replayed.tail?.chain ?? 0 };
    const next = await createSegment(fs, dir, header, { placed: false }, log.segs);
    return new Segments(fs, dir, [next.seg], next.fh, SEG_HEADER_BYTES, next.crc);
  }
  const tail = replayed.tail!;
  const fh = await fs.open(join(dir, log.segs[log.segs.length - 1]!.name), 'r+');
  return new Segments(fs, dir, log.segs, fh, tail.offset, tail.chain);
}
