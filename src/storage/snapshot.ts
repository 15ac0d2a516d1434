/**
 * Snapshot files: dir/<index:016x>-<term:016x>.snap, written atomically (temp, fsync, rename,
 * fsync dir) and CRC-checked on load.
 *
 *   u32 magic "ZGSN", u32 version 1, u64 index, u64 term, u32 configLength, u32 zero,
 *   u64 dataLength, config bytes, data bytes, u32 CRC32C of everything before it.
 *
 * The data is opaque here: the tree and session table as of exactly `index` (see tree/).
 */
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { SnapshotMeta } from './types.js';
import { type FileSystem, asBuffer } from './fs.js';
import { writeFileAtomic } from './hardstate.js';
import { readU64, writeU64, hex } from './record.js';

const MAGIC = 0x4e53475a; // "ZGSN"
const HEAD = 40;

export interface SnapshotFile {
  name: string;
  index: number;
  term: number;
}

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapshotName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

/** Snapshot files in a directory listing, newest (highest index) first. */
export function listSnapshots(names: readonly string[]): SnapshotFile[] {
  const out: SnapshotFile[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m) out.push({ name, index: parseInt(m[1]!, 16), term: parseInt(m[2]!, 16) });
  }
  return out.sort((a, b) => b.index - a.index || b.term - a.term);
}

export async function writeSnapshot(fs: FileSystem, dir: string, meta: SnapshotMeta, data: Uint8Array, progress?: { placed: boolean }): Promise<string> {
  const head = Buffer.alloc(HEAD);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(1, 4);
  writeU64(head, meta.index, 8);
  writeU64(head, meta.term, 16);
  head.writeUInt32LE(meta.config.length, 24);
  writeU64(head, data.length, 32);
  const crc = crc32c(data, crc32c(meta.config, crc32c(head)));
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(crc, 0);
  const name = snapshotName(meta.index, meta.term);
  await writeFileAtomic(fs, dir, name, [head, meta.config, data, tail], progress);
  return name;
}

/** Decode and check a snapshot file; returns the reason it is bad (with a byte offset) instead of throwing. */
export function decodeSnapshot(buf: Buffer, file: SnapshotFile): { meta: SnapshotMeta; data: Uint8Array } | { bad: string; offset: number } {
  if (buf.length < HEAD + 4) return { bad: `file too short (${buf.length} bytes)`, offset: buf.length };
  const configLength = buf.readUInt32LE(24);
  const dataLength = readU64(buf, 32);
  const expected = HEAD + configLength + dataLength + 4;
  if (buf.length !== expected) return { bad: `file has ${buf.length} bytes, its header says ${expected}`, offset: Math.min(buf.length, expected) };
  const stored = buf.readUInt32LE(buf.length - 4);
  const crc = crc32c(buf.subarray(0, buf.length - 4));
  if (crc !== stored) return { bad: `CRC mismatch (stored ${hex(stored)}, computed ${hex(crc)})`, offset: 0 };
  if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== 1) return { bad: 'bad magic or version', offset: 0 };
  const index = readU64(buf, 8);
  const term = readU64(buf, 16);
  if (index !== file.index || term !== file.term) return { bad: `contents say index ${index} term ${term}, the name says otherwise`, offset: 8 };
  const config = buf.subarray(HEAD, HEAD + configLength);
  const data = buf.subarray(HEAD + configLength, HEAD + configLength + dataLength);
  return { meta: { index, term, config }, data };
}

export async function readSnapshot(fs: FileSystem, dir: string, file: SnapshotFile) {
  return decodeSnapshot(asBuffer(await fs.readFile(join(dir, file.name))), file);
}
