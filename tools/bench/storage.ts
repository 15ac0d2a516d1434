/**
 * Storage benchmark: the disk's own fsync rate, then durable append throughput and latency
 * of FileStorage at 1, 16 and 128 concurrent appenders, as ratios to that rate.
 * Targets: 1 appender >= 0.8x the raw fsync rate; 128 appenders >= 10x.
 *
 *   node dist-tools/tools/bench/storage.js [dir] [seconds per measurement]
 *
 * Measured, not asserted: the figures depend on the disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, realFileSystem } from '../../src/storage/index.js';

export interface StorageBenchRow {
  appenders: number;
  appends: number;
  perSec: number;
  /** perSec / the raw fsync rate */
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  /** appends per fdatasync (group commit) */
  perFsync: number;
}

export interface StorageBenchResult {
  fsyncPerSec: number;
  fsyncP50Ms: number;
  rows: StorageBenchRow[];
  /** reopen of the largest log: records replayed per second */
  replay: { records: number; ms: number; perSec: number };
}

export interface StorageBenchOptions {
  /** Length of each measurement. Default 2000 ms. */
  durationMs?: number;
  /** Cap on appends per measurement. Default 500,000. */
  maxAppends?: number;
  /** Entry payload size. Default 100 bytes. */
  entryBytes?: number;
  concurrency?: number[];
  /** Interleaved rounds (raw fsync slices around each append slice), medians reported. Default 5. */
  rounds?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Raw rate of small appends + fdatasync on one file, one at a time. */
async function rawFsync(dir: string, durationMs: number, entryBytes: number): Promise<{ perSec: number; p50Ms: number }> {
  const path = join(dir, 'raw-fsync');
  const fh = await fsp.open(path, 'w');
  const buf = Buffer.alloc(entryBytes + 24, 7);
  const lat: number[] = [];
  let pos = 0;
  const start = performance.now();
  try {
    while (performance.now() - start < durationMs) {
      const t = performance.now();
      await fh.write(buf, 0, buf.length, pos);
      pos += buf.length;
      await fh.datasync();
      lat.push(performance.now() - t);
    }
  } finally {
    await fh.close();
    await fsp.unlink(path);
  }
  const elapsed = performance.now() - start;
  lat.sort((a, b) => a - b);
  return { perSec: (lat.length * 1000) / elapsed, p50Ms: percentile(lat, 0.5) };
}

async function appendRun(dir: string, appenders: number, opts: Required<StorageBenchOptions>, fsyncPerSec: number): Promise<StorageBenchRow> {
  let syncs = 0;
  const { storage } = await FileStorage.open(dir, {
    fs: {
      ...realFileSystem,
      open: async (p, f) => {
        const fh = await fsp.open(p, f, 0o644);
        const datasync = fh.datasync.bind(fh);
        return Object.assign(fh, { datasync: () => ((syncs++), datasync()) });
      },
    },
  });
  const data = new Uint8Array(opts.entryBytes).fill(1);
  const lat: number[] = [];
  let next = storage.lastIndex() + 1;
  let done = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && next <= opts.maxAppends) {
      const index = next++;
      const t = performance.now();
      await storage.append([{ index, term: 1, data }]);
      lat.push(performance.now() - t);
      done++;
    }
  };
  await Promise.all(Array.from({ length: appenders }, worker));
  const elapsed = performance.now() - start;
  await storage.close();
  lat.sort((a, b) => a - b);
  const perSec = (done * 1000) / elapsed;
  return { appenders, appends: done, perSec, ratio: perSec / fsyncPerSec, p50Ms: percentile(lat, 0.5), p99Ms: percentile(lat, 0.99), perFsync: done / Math.max(1, syncs) };
}

/**
 * The disk's fsync rate drifts (other tenants, writeback), so the raw loop and the append runs
 * are interleaved in `rounds` slices and each append figure is compared to the mean raw rate of
 * the slices just before and after it; the table shows medians over the rounds.
 */
export async function benchStorage(dir: string, options: StorageBenchOptions = {}): Promise<StorageBenchResult> {
  const opts: Required<StorageBenchOptions> = {
    durationMs: options.durationMs ?? 2000,
    maxAppends: options.maxAppends ?? 500_000,
    entryBytes: options.entryBytes ?? 100,
    concurrency: options.concurrency ?? [1, 16, 128],
    rounds: options.rounds ?? 5,
  };
  await fsp.mkdir(dir, { recursive: true });
  const slice = { ...opts, durationMs: opts.durationMs / opts.rounds };
  const raws: { perSec: number; p50Ms: number }[] = [];
  const runs = new Map<number, StorageBenchRow[]>(opts.concurrency.map((c) => [c, []]));
  const subdir = (c: number) => join(dir, `appenders-${c}`);
  for (const c of opts.concurrency) await fsp.rm(subdir(c), { recursive: true, force: true });
  // raw, run, raw, run, raw ...: each run is compared to the mean of the raw slices around it.
  let before = await rawFsync(dir, slice.durationMs, opts.entryBytes);
  raws.push(before);
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of opts.concurrency) {
      const row = await appendRun(subdir(c), c, slice, 1);
      const after = await rawFsync(dir, slice.durationMs, opts.entryBytes);
      raws.push(after);
      const rate = (before.perSec + after.perSec) / 2;
      runs.get(c)!.push({ ...row, ratio: row.perSec / rate });
      before = after;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows: StorageBenchRow[] = opts.concurrency.map((c) => {
    const rs = runs.get(c)!;
    return {
      appenders: c,
      appends: rs.reduce((s, x) => s + x.appends, 0),
      perSec: median(rs.map((x) => x.perSec)),
      ratio: median(rs.map((x) => x.ratio)),
      p50Ms: median(rs.map((x) => x.p50Ms)),
      p99Ms: median(rs.map((x) => x.p99Ms)),
      perFsync: median(rs.map((x) => x.perFsync)),
    };
  });
  const biggest = [...rows].sort((a, b) => b.appends - a.appends)[0]!;
  const t = performance.now();
  const { storage, recovered } = await FileStorage.open(subdir(biggest.appenders));
  const ms = performance.now() - t;
  await storage.close();
  for (const c of opts.concurrency) await fsp.rm(subdir(c), { recursive: true, force: true });
  return {
    fsyncPerSec: median(raws.map((x) => x.perSec)),
    fsyncP50Ms: median(raws.map((x) => x.p50Ms)),
    rows,
    replay: { records: recovered.entries.length, ms, perSec: (recovered.entries.length * 1000) / ms },
  };
}

export function formatStorageBench(r: StorageBenchResult): string {
  const lines = [
    `raw fsync (small append + fdatasync, one at a time; median of the interleaved slices): ${r.fsyncPerSec.toFixed(0)}/s, p50 ${r.fsyncP50Ms.toFixed(2)} ms`,
    '',
    'appenders  appends/s   x fsync rate  p50 ms   p99 ms   appends/fsync  target   (medians of the rounds; ratio vs the raw slices around each run)',
  ];
  for (const row of r.rows) {
    const target = row.appenders === 1 ? '>= 0.8x' : row.appenders >= 128 ? '>= 10x' : '';
    const met = target === '' ? '' : (row.appenders === 1 ? row.ratio >= 0.8 : row.ratio >= 10) ? ' met' : ' MISSED';
    lines.push(
      `${String(row.appenders).padStart(9)}  ${row.perSec.toFixed(0).padStart(9)}  ${row.ratio.toFixed(2).padStart(12)}x ${row.p50Ms.toFixed(2).padStart(7)}  ${row.p99Ms.toFixed(2).padStart(7)}  ${row.perFsync.toFixed(1).padStart(13)}  ${target}${met}`,
    );
  }
  lines.push('', `replay on open: ${r.replay.records} records in ${r.replay.ms.toFixed(0)} ms (${(r.replay.perSec / 1000).toFixed(0)}k records/s)`);
  return lines.join('\n');
}

// Run directly: node dist-tools/tools/bench/storage.js [dir] [seconds]
if (process.argv[1] !== undefined && /bench[\\/]storage\.js$/.test(process.argv[1])) {
  const given = process.argv[2];
  const dir = given ?? mkdtempSync(join(tmpdir(), 'zgate-bench-storage-'));
  const seconds = Number(process.argv[3] ?? 2);
  benchStorage(dir, { durationMs: seconds * 1000 })
    .then((r) => {
      console.log(`storage bench in ${dir}`);
      console.log(formatStorageBench(r));
    })
    .finally(() => {
      if (given === undefined) rmSync(dir, { recursive: true, force: true });
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
