/** Shared helpers of the storage tests (not a test file itself). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '../../src/storage/index.js';

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

/** Small seeded PRNG (mulberry32) for reproducible fault positions. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
