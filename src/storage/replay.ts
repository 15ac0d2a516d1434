/**
 * Reading the log's segments back on open: replay with CRC-chain checks, and the torn-tail /
 * corruption decision and repair (etcd's wal/decoder.go + repair.go, reshaped).
 *
 * Rules:
 *  - Segment files are dir/<seq:016x>-<firstIndex:016x>.wal, seq contiguous. Each starts with
 *    a header record (self-checking: its CRC is seeded with the prevCrc it carries), whose
 *    prevCrc must equal the chain value at the end of the previous segment.
 *  - A bad record (short, CRC mismatch, zeroed, unknown type) in the LAST segment with no valid
 *    record after it is a torn tail: the file is copied aside (<name>.broken-<ms>), cut at the
 *    record's offset, and the cut is reported. Anything else is corruption: open() refuses with
 *    StorageCorruptError naming the file and offset, unless repair is set (then the file is cut
 *    there too, later segments are renamed aside, and the cut is reported).
 *  - A CRC-valid record that breaks the log's invariants (index not contiguous, term going
 *    down, a header record mid-segment) is corruption as well.
 */
import { join } from 'node:path';
import type { LogEntry, RecoveryProgress } from './types.js';
import { type FileSystem, asBuffer, fsyncDir } from './fs.js';
import { StorageCorruptError } from './errors.js';
import {
  REC_HEADER, SEG_FLAG_RESET, SEG_HEADER_BYTES, TYPE_ENTRY, TYPE_SEGMENT,
  decodeSegmentHeader, readRecord, readU64, validRecordFollows, hex,
} from './record.js';
import type { SegmentInfo } from './segments.js';

export interface Replayed {
  entries: LogEntry[];
  /** Per entry: segment seq, byte offset of its record, chain value before it. */
  locSeg: number[];
  locOff: number[];
  locCrc: number[];
  /** Index of entries[0] (or of the next entry when empty); undefined if no segment. */
  logStart: number | undefined;
  /** Segment files remaining after any repair, ascending. */
  segments: SegmentInfo[];
  /** End of the last remaining segment: where appends continue. */
  tail: { offset: number; chain: number } | undefined;
  /** Highest seq seen (also of files set aside), so new segments never reuse a number. */
  maxSeq: number;
  repairs: string[];
  records: number;
  bytes: number;
}

interface Cut {
  index: number; // position in the segment list
  offset: number;
  reason: string;
  /** Certainly mid-log (valid data follows, or a CRC-valid record broke an invariant). */
  middle: boolean;
}

export interface ReplayOptions {
  repair: boolean;
  onProgress?: (p: RecoveryProgress) => void;
  started: number;
}

export async function replayWal(fs: FileSystem, dir: string, segments: SegmentInfo[], opts: ReplayOptions): Promise<Replayed> {
  let bytesTotal = 0;
  if (opts.onProgress) for (const seg of segments) bytesTotal += (await fs.stat(join(dir, seg.name))).size;
  const replay = new Replay(segments, opts, bytesTotal);
  const r = replay.r;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const buf = asBuffer(await fs.readFile(join(dir, seg.name)));
    const start = replay.header(i, buf);
    const cut = typeof start === 'number' ? replay.records(i, buf, start) : start;
    if (cut) {
      await handleCut(fs, dir, segments, cut, buf, replay.chain, opts, r);
      break;
    }
    r.segments.push(seg);
    r.tail = { offset: buf.length, chain: replay.chain };
    r.bytes += buf.length;
    progress(opts, seg.name, i + 1, segments.length, r.records, r.bytes, bytesTotal);
  }
  return r;
}

/** A replay in progress: what it has read, the chain value where it is and the last entry's term. */
class Replay {
  readonly r: Replayed;
  chain = 0;
  private lastTerm = 0;

  constructor(
    private readonly segments: SegmentInfo[],
    private readonly opts: ReplayOptions,
    private readonly bytesTotal: number,
  ) {
    this.r = {
      entries: [], locSeg: [], locOff: [], locCrc: [], logStart: undefined, segments: [], tail: undefined,
      maxSeq: segments.length > 0 ? segments[segments.length - 1]!.seq : -1, repairs: [], records: 0, bytes: 0,
    };
  }

  /**
   * Checks segment i's header record against its name, the previous segment and the log so far;
   * returns where its entry records start, or the cut. A reset header restarts the log.
   */
  header(i: number, buf: Buffer): number | Cut {
    const { segments, r } = this;
    const seg = segments[i]!;
    if (i > 0 && seg.seq !== segments[i - 1]!.seq + 1) {
      return { index: i, offset: 0, reason: `segment seq ${segments[i - 1]!.seq + 1} is missing before ${seg.name}`, middle: true };
    }
    // Header record: checkable on its own (CRC seeded with the prevCrc it carries).
    const seed = buf.length >= SEG_HEADER_BYTES ? buf.readUInt32LE(REC_HEADER + 24) : 0;
    const h = readRecord(buf, 0, seed);
    if (!h.ok || h.type !== TYPE_SEGMENT) {
      this.chain = seed;
      return { index: i, offset: 0, reason: h.ok ? 'first record is not a segment header' : `segment header: ${h.reason}`, middle: h.ok };
    }
    const hdr = decodeSegmentHeader(buf, REC_HEADER, h.len);
    const next = r.logStart === undefined ? undefined : r.logStart + r.entries.length;
    const chain = this.chain;
    let bad: string | undefined;
    if (!hdr) bad = 'segment header has a bad magic or length';
    else if (hdr.seq !== seg.seq || hdr.firstIndex !== seg.firstIndex) bad = `segment header says seq ${hdr.seq} first index ${hdr.firstIndex}, the file name says otherwise`;
    else if (i > 0 && hdr.prevCrc !== chain) bad = `CRC chain broken: header carries ${hex(hdr.prevCrc)}, previous segment ended with ${hex(chain)}`;
    else if (i > 0 && !(hdr.flags & SEG_FLAG_RESET) && hdr.firstIndex !== next) bad = `segment starts at index ${hdr.firstIndex}, the log before it ends at ${(next ?? 1) - 1}`;
    if (bad || !hdr) return { index: i, offset: 0, reason: bad ?? 'bad header', middle: true };
    seg.reset = (hdr.flags & SEG_FLAG_RESET) !== 0;
    if (i === 0 || seg.reset) {
      r.entries = [];
      r.locSeg = [];
      r.locOff = [];
      r.locCrc = [];
      r.logStart = hdr.firstIndex;
      this.lastTerm = 0;
    }
    this.chain = h.crc;
    r.records++;
    return h.size;
  }

  /** Replays segment i's entry records from `at` to its end; returns the cut at the first bad or log-breaking one. */
  records(i: number, buf: Buffer, at: number): Cut | undefined {
    const r = this.r;
    const seg = this.segments[i]!;
    let chain = this.chain;
    let lastTerm = this.lastTerm;
    let cut: Cut | undefined;
    while (at < buf.length) {
      const rec = readRecord(buf, at, chain);
      if (!rec.ok) {
        cut = { index: i, offset: at, reason: rec.reason, middle: false };
        break;
      }
      const p = at + REC_HEADER;
      const index = rec.type === TYPE_ENTRY ? readU64(buf, p) : 0;
      const term = rec.type === TYPE_ENTRY ? readU64(buf, p + 8) : 0;
      const want = r.logStart! + r.entries.length;
      let broken: string | undefined;
      if (rec.type !== TYPE_ENTRY) broken = 'a segment header record in the middle of a segment';
      else if (index !== want) broken = `entry index ${index} where ${want} was expected`;
      else if (term < lastTerm || term < 1) broken = `entry ${index} has term ${term} after term ${lastTerm}`;
      if (broken) {
        cut = { index: i, offset: at, reason: `CRC-valid record breaks the log: ${broken}`, middle: true };
        break;
      }
      // A view into the segment buffer, not a copy: per-entry ArrayBuffers cost ~5x the replay time.
      r.entries.push({ index, term, data: buf.subarray(p + 16, p + rec.len) });
      r.locSeg.push(seg.seq);
      r.locOff.push(at);
      r.locCrc.push(chain);
      lastTerm = term;
      chain = rec.crc;
      at += rec.size;
      r.records++;
      if ((r.records & 0xffff) === 0) progress(this.opts, seg.name, i, this.segments.length, r.records, r.bytes + at, this.bytesTotal);
    }
    this.chain = chain;
    this.lastTerm = lastTerm;
    return cut;
  }
}

function progress(opts: ReplayOptions, file: string, done: number, total: number, records: number, bytes: number, bytesTotal: number): void {
  opts.onProgress?.({ phase: 'wal', file, segmentsDone: done, segmentsTotal: total, records, bytes, bytesTotal, elapsedMs: Date.now() - opts.started });
}

async function handleCut(fs: FileSystem, dir: string, segments: SegmentInfo[], cut: Cut, buf: Buffer, chain: number, opts: ReplayOptions, r: Replayed): Promise<void> {
  const seg = segments[cut.index]!;
  const path = join(dir, seg.name);
  const later = segments.slice(cut.index + 1);
  const follows = !cut.middle && validRecordFollows(buf, cut.offset, chain);
  const middle = cut.middle || follows || later.length > 0;
  const what = middle
    ? `${cut.reason}${follows ? ', followed by valid records' : ''}${later.length > 0 ? `, followed by ${later.length} more segment file(s)` : ''}`
    : cut.reason;
  if (middle && !opts.repair) {
    throw new StorageCorruptError(path, cut.offset, what,
      'refusing to start: a damaged record in the middle of the log is not a torn write. ' +
      `Start with the repair flag to cut the log at this offset (everything after it is lost on this member: ${buf.length - cut.offset} bytes of this file` +
      `${later.length > 0 ? ` and ${later.length} later segment(s)` : ''}), or restore the data dir`);
  }
  const stamp = Date.now();
  const aside = `${path}.broken-${stamp}`;
  await fs.copyFile(path, aside);
  if (cut.offset < SEG_HEADER_BYTES) {
    await fs.unlink(path);
  } else {
    const fh = await fs.open(path, 'r+');
    try {
      await fh.truncate(cut.offset);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    r.segments.push(seg);
    r.tail = { offset: cut.offset, chain };
  }
  for (const s of later) await fs.rename(join(dir, s.name), join(dir, `${s.name}.broken-${stamp}`));
  await fsyncDir(fs, dir);
  const cutBytes = buf.length - cut.offset;
  r.bytes += cut.offset;
  r.repairs.push(
    `${middle ? 'REPAIR (explicit flag): corruption' : 'torn tail'} in ${path} at byte offset ${cut.offset}: ${what}; ` +
    (cut.offset < SEG_HEADER_BYTES ? 'removed the segment file' : `cut ${cutBytes} bytes`) +
    `${later.length > 0 ? ` and set aside ${later.length} later segment(s) as *.broken-${stamp}` : ''}; ` +
    `the log now ends at index ${(r.logStart ?? 1) + r.entries.length - 1}; a copy of the damaged file is at ${aside}`,
  );
}
