/**
 * The hard state file: 40 bytes, replaced atomically (temp file, fsync, rename, fsync dir).
 *
 *   u32 magic "ZGHS", u32 version 1, u64 term, u64 vote, u64 commit, u32 zero, u32 CRC32C of bytes [0, 36)
 *
 * A rename is atomic, so a torn hard state can't come from a crash: a bad one is real damage
 * and open() refuses (the member's term and vote can't be trusted: it could vote twice).
 */
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { HardState } from './types.js';
import { type FileSystem, asBuffer, errnoCode, fsyncDir, writeFully } from './fs.js';
import { StorageCorruptError } from './errors.js';
import { readU64, writeU64, hex } from './record.js';

export const HARDSTATE_FILE = 'hardstate';
const MAGIC = 0x5348475a; // "ZGHS"
const SIZE = 40;

export function encodeHardState(hs: HardState): Buffer {
  const buf = Buffer.alloc(SIZE);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(1, 4);
  writeU64(buf, hs.term, 8);
  writeU64(buf, hs.vote, 16);
  writeU64(buf, hs.commit, 24);
  buf.writeUInt32LE(crc32c(buf.subarray(0, 36)), 36);
  return buf;
}

export function decodeHardState(buf: Buffer, file: string): HardState {
  const refuse = (offset: number, reason: string): never => {
    throw new StorageCorruptError(file, offset, `hard state ${reason}`,
      "refusing to start: this member's term and vote can't be trusted (it could vote twice in a term); " +
      'restore the file from a backup, or remove this member from the cluster and re-add it with an empty data dir');
  };
  if (buf.length !== SIZE) refuse(Math.min(buf.length, SIZE), `file has ${buf.length} bytes, expected ${SIZE}`);
  const stored = buf.readUInt32LE(36);
  const crc = crc32c(buf.subarray(0, 36));
  if (crc !== stored) refuse(0, `CRC mismatch (stored ${hex(stored)}, computed ${hex(crc)})`);
  if (buf.readUInt32LE(0) !== MAGIC) refuse(0, 'bad magic');
  if (buf.readUInt32LE(4) !== 1) refuse(4, `unknown version ${buf.readUInt32LE(4)}`);
  return { term: readU64(buf, 8), vote: readU64(buf, 16), commit: readU64(buf, 24) };
}

export async function loadHardState(fs: FileSystem, dir: string): Promise<HardState | undefined> {
  const file = join(dir, HARDSTATE_FILE);
  let buf: Buffer;
  try {
    buf = asBuffer(await fs.readFile(file));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  return decodeHardState(buf, file);
}

/**
 * Write `buf` to dir/name atomically: dir/name.tmp, fsync, rename over name, fsync dir.
 * Returns 'placed' once the rename happened (a failure after that point leaves the new file
 * in place but perhaps not durable), for the caller's failure handling.
 */
export async function writeFileAtomic(
  fs: FileSystem,
  dir: string,
  name: string,
  parts: readonly Uint8Array[],
  progress?: { placed: boolean },
): Promise<void> {
  const tmp = join(dir, name + '.tmp');
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      let at = 0;
      for (const part of parts) {
        await writeFully(fh, part, at);
        at += part.length;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, join(dir, name));
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (progress) progress.placed = true;
  await fsyncDir(fs, dir);
}

export async function storeHardState(fs: FileSystem, dir: string, hs: HardState, progress?: { placed: boolean }): Promise<void> {
  await writeFileAtomic(fs, dir, HARDSTATE_FILE, [encodeHardState(hs)], progress);
}
