/** Shared helpers of the storage tests (not a test file itself). */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, realFileSystem, type FileSystem, type LogEntry } from '../../src/storage/index.js';
import { readRecord } from '../../src/storage/record.js';

const made: string[] = [];

export function tmpDir(tag = 'storage'): string {
  const dir = mkdtempSync(join(tmpdir(), `zgate-${tag}-`));
  made.push(dir);
  return dir;
}

export function cleanupTmpDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Deterministic data for an index: its decimal form, then a pattern, 8..60 bytes long. */
export function dataFor(index: number, salt = 0): Uint8Array {
  const n = 8 + ((index * 7 + salt) % 53);
  const out = new Uint8Array(n);
  const head = Buffer.from(`${index}:${salt}:`);
  for (let i = 0; i < n; i++) out[i] = i < head.length ? head[i]! : (index + i * 31 + salt) & 0xff;
  return out;
}

export function makeEntries(from: number, count: number, term: number, salt = 0): LogEntry[] {
  return Array.from({ length: count }, (_, k) => ({ index: from + k, term, data: dataFor(from + k, salt) }));
}

/** Comparable form (Buffer vs Uint8Array differences do not matter). */
export function plain(entries: readonly LogEntry[]): { index: number; term: number; data: string }[] {
  return entries.map((e) => ({ index: e.index, term: e.term, data: Buffer.from(e.data).toString('hex') }));
}

export { prng } from '../support/prng.js';

/**
 * The real file system with fsync/fdatasync made no-ops: for the exhaustive parsing and
 * repair loops, where the durability barriers are not what is tested and cost ~10 ms each.
 */
export const noSyncFs: FileSystem = {
  ...realFileSystem,
  open: async (path, flags) => {
    const fh = await realFileSystem.open(path, flags);
    return {
      read: (b, o, l, p) => fh.read(b, o, l, p),
      write: (b, o, l, p) => fh.write(b, o, l, p),
      truncate: (n) => fh.truncate(n),
      stat: () => fh.stat(),
      close: () => fh.close(),
      datasync: async () => undefined,
      sync: async () => undefined,
    };
  },
};

/** A directory's files, to put back quickly between rounds. */
export function snapshotDir(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n))]));
}
export function restoreDir(files: Map<string, Buffer>, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const n of readdirSync(dir)) unlinkSync(join(dir, n));
  for (const [n, b] of files) writeFileSync(join(dir, n), b);
}

/** The WAL segment files of a storage directory, in order. */
export const wal = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();

/** Record start offsets of a pristine segment file (the header record first). */
export function recordStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  let at = 0;
  let chain = buf.readUInt32LE(8 + 24);
  while (at < buf.length) {
    const r = readRecord(buf, at, chain);
    if (!r.ok) throw new Error(`pristine segment unreadable at ${at}`);
    starts.push(at);
    chain = r.crc;
    at += r.size;
  }
  return starts;
}

const pristineFiles = new Map<string, Map<string, Buffer>>();

/** Puts the files of the directory `pristine` (read once, then kept) into `dir`. */
export function restore(pristine: string, dir: string): void {
  if (!pristineFiles.has(pristine)) pristineFiles.set(pristine, snapshotDir(pristine));
  restoreDir(pristineFiles.get(pristine)!, dir);
}

/** A storage directory holding `entries`, appended `chunk` at a time (no fsyncs). */
export async function build(dir: string, entries: LogEntry[], opts: { segmentBytes?: number } = {}, chunk = 5): Promise<void> {
  const { storage } = await FileStorage.open(dir, { ...opts, fs: noSyncFs });
  for (let i = 0; i < entries.length; i += chunk) await storage.append(entries.slice(i, i + chunk));
  await storage.close();
}
