/**
 * The log's segment files: their names, the one way a segment file is created, and the set of
 * segments with the last one open for appends (rotation to a new file, cutting the log back,
 * pruning files no kept snapshot needs). Reading them back on open is replay.ts's.
 */
import { join } from 'node:path';
import type { SnapshotMeta } from './types.js';
import { type FileHandle, type FileSystem, fsyncDir, writeFully } from './fs.js';
import { listSnapshots, type SnapshotFile } from './snapshot.js';
import { SEG_FLAG_RESET, SEG_HEADER_BYTES, encodeSegmentHeader, type SegmentHeader } from './record.js';

export interface SegmentInfo {
  seq: number;
  firstIndex: number;
  name: string;
  /** Header flag: the log restarts at this segment (after installSnapshot). */
  reset: boolean;
}

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

export function listSegments(names: readonly string[]): SegmentInfo[] {
  const out: SegmentInfo[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m) out.push({ seq: parseInt(m[1]!, 16), firstIndex: parseInt(m[2]!, 16), name, reset: false });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** A segment file just created: its header is durable and appends go after it. */
export interface NewSegment {
  seg: SegmentInfo;
  fh: FileHandle;
  /** The chain value after the header record. */
  crc: number;
}

/**
 * Creates a segment file atomically: the header record written to `<name>.tmp`, fsync, rename,
 * then the directory fsynced (after the `replaced` segment files are deleted, so that one sync
 * covers both). On a failure nothing is left open and no temp file stays behind;
 * `progress.placed` says whether the rename had happened (the new file is then in place but
 * perhaps not durable).
 */
export async function createSegment(
  fs: FileSystem,
  dir: string,
  header: SegmentHeader,
  progress: { placed: boolean },
  replaced: readonly SegmentInfo[] = [],
): Promise<NewSegment> {
  const name = segmentName(header.seq, header.firstIndex);
  const path = join(dir, name);
  const tmp = path + '.tmp';
  const { buf, crc } = encodeSegmentHeader(header);
  let fh: FileHandle | undefined;
  try {
    fh = await fs.open(tmp, 'w');
    await writeFully(fh, buf, 0);
    await fh.sync();
    await fs.rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  progress.placed = true;
  try {
    for (const s of replaced) await fs.unlink(join(dir, s.name));
    await fsyncDir(fs, dir);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  return { seg: { seq: header.seq, firstIndex: header.firstIndex, name, reset: (header.flags & SEG_FLAG_RESET) !== 0 }, fh, crc };
}

/**
 * The segment files of the log in seq order, the last one open: appends go to its durable end
 * (`offset`), continuing the CRC chain from `chain`.
 */
export class Segments {
  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    /** Ascending by seq; at least one. */
    private readonly list: SegmentInfo[],
    private fh: FileHandle,
    /** The last segment's durable end and the chain value there. */
    public offset: number,
    public chain: number,
  ) {}

  get count(): number {
    return this.list.length;
  }

  get last(): SegmentInfo {
    return this.list[this.list.length - 1]!;
  }

  /** Writes `buf` at the durable end, then fdatasync; advance() once the caller takes it as durable. */
  async write(buf: Uint8Array): Promise<void> {
    await writeFully(this.fh, buf, this.offset);
    await this.fh.datasync();
  }

  /** `bytes` written at the end are durable: appends continue after them, from chain value `chain`. */
  advance(bytes: number, chain: number): void {
    this.offset += bytes;
    this.chain = chain;
  }

  /** After a failed write or fdatasync: the last segment cut back to its durable end. */
  async rollBack(): Promise<void> {
    await this.fh.truncate(this.offset);
    await this.fh.datasync();
  }

  /** Rotation: appends go to `next` (created by createSegment) from now on. */
  async switchTo(next: NewSegment): Promise<void> {
    await this.fh.close().catch(() => undefined);
    this.list.push(next.seg);
    this.fh = next.fh;
    this.offset = SEG_HEADER_BYTES;
    this.chain = next.crc;
  }

  /**
   * Cuts the log back to byte `offset` of segment `seq`, where the chain value is `chain`: later
   * segment files are deleted. A failure leaves the files in an unknown state (reopen to recover).
   */
  async cutTo(seq: number, offset: number, chain: number): Promise<void> {
    let removed = false;
    while (this.last.seq > seq) {
      const s = this.list.pop()!;
      await this.fh.close().catch(() => undefined);
      await this.fs.unlink(join(this.dir, s.name));
      removed = true;
    }
    if (removed) {
      await fsyncDir(this.fs, this.dir);
      this.fh = await this.fs.open(join(this.dir, this.last.name), 'r+');
    }
    await this.fh.truncate(offset);
    await this.fh.datasync();
    this.offset = offset;
    this.chain = chain;
  }

  /**
   * Deletes snapshots beyond `keepSnapshots` (and any newer than `current`: never acknowledged;
   * after an install, all but `current`), and segments no kept snapshot needs: those before the
   * last reset segment, and those whose entries all lie at or below the oldest kept snapshot.
   */
  async prune(current: SnapshotMeta, keepSnapshots: number, afterInstall: boolean): Promise<void> {
    const names = await this.fs.readdir(this.dir);
    const snaps = listSnapshots(names);
    const keep: SnapshotFile[] = [];
    const drop: SnapshotFile[] = [];
    for (const s of snaps) {
      const isCurrent = s.index === current.index && s.term === current.term;
      if (s.index > current.index || (afterInstall && !isCurrent) || (!isCurrent && keep.length >= keepSnapshots)) drop.push(s);
      else keep.push(s);
    }
    const oldestKept = keep.length >= keepSnapshots ? keep[keep.length - 1]!.index : 0;
    let lastReset = 0;
    this.list.forEach((s, i) => {
      if (s.reset) lastReset = i;
    });
    let n = 0;
    while (n < this.list.length - 1 && (n < lastReset || this.list[n + 1]!.firstIndex <= oldestKept + 1)) n++;
    for (const s of drop) await this.fs.unlink(join(this.dir, s.name));
    for (const s of this.list.slice(0, n)) {
      await this.fs.unlink(join(this.dir, s.name));
      this.list.shift();
    }
    if (drop.length > 0 || n > 0) await fsyncDir(this.fs, this.dir);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
