#!/usr/bin/env node
/**
 * Snapshot cost with a large tree: builds N znodes of 100 bytes (default 1,000,000) directly on
 * a DataTree, then measures
 *   - the synchronous snapshot() (the whole event-loop stall the member used to take),
 *   - the incremental copy-on-write writer driven as the member drives it (setImmediate slices),
 *     with writes applied between slices: the longest slice, the event loop's own worst delay,
 *     the total time, the writes applied meanwhile and the pre-images kept,
 *   - the snapshot size, restore() time, and heap bytes per znode.
 * Every incremental snapshot is checked byte for byte against a synchronous one taken at the
 * same zxid.
 *
 *   node --expose-gc dist-tools/tools/bench/snapshot.js [--znodes N] [--shape flat|spread] [--slices 5000,10000,20000]
 *                                           [--writes N per turn] [--json]
 *
 * Shapes: flat = /b/n0 ... /b/n<N-1> (one directory of N children, inserted in an order that is
 * not name order, so the writer has to sort it across slices); spread = /d<i>/n<j>, 1,000
 * children per directory.
 */
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Op } from '../../src/core/types.js';
import { DataTree } from '../../src/tree/datatree.js';

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { heap: number; external: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.arrayBuffers };
}

function ms(v: number, width: number): string {
  return `${v} ms`.padStart(width);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Built {
  tree: DataTree;
  zxid: number;
  paths: (i: number) => string;
  /** A new name beside paths(i). */
  sibling: (i: number, n: number) => string;
  buildMs: number;
}

function build(znodes: number, shape: 'flat' | 'spread'): Built {
  const tree = new DataTree();
  const data = new Uint8Array(100).fill(97);
  let zxid = 0;
  const t0 = performance.now();
  const apply = (op: Op): void => {
    const r = tree.apply(op, ++zxid, 1_700_000_000_000 + zxid);
    if (!r.ok) throw new Error(`${op.op} failed: ${r.failure.message}`);
  };
  const PER_DIR = 1000;
  let paths: (i: number) => string;
  let sibling: (i: number, n: number) => string;
  if (shape === 'flat') {
    apply({ op: 'create', path: '/b', data: new Uint8Array(0), mode: 'persistent' });
    paths = (i) => `/b/n${i}`;
    sibling = (_i, n) => `/b/m${n}`;
  } else {
    for (let d = 0; d * PER_DIR < znodes; d++) apply({ op: 'create', path: `/d${d}`, data: new Uint8Array(0), mode: 'persistent' });
    paths = (i) => `/d${Math.floor(i / PER_DIR)}/n${i % PER_DIR}`;
    sibling = (i, n) => `/d${Math.floor(i / PER_DIR)}/m${n}`;
  }
  // The root, /zookeeper, /zookeeper/quota, /zookeeper/config and the directories count too.
  const target = znodes - tree.nodeCount;
  for (let i = 0; i < target; i++) {
    apply({ op: 'create', path: paths(i), data, mode: 'persistent' });
    if ((i + 1) % 250_000 === 0) process.stderr.write(`  ${i + 1} znodes\n`);
  }
  return { tree, zxid, paths: (i) => paths(i % target), sibling: (i, n) => sibling(i % target, n), buildMs: performance.now() - t0 };
}

interface IncrementalRun {
  slice: number;
  steps: number;
  /** beginSnapshot() counts as a slice: the member calls it between two applies. */
  beginMs: number;
  maxSliceMs: number;
  medianSliceMs: number;
  p99SliceMs: number;
  /** V8's own pauses meanwhile (a 160 MB output buffer makes it start a major GC). */
  maxGcPauseMs: number;
  gcPauses: number;
  maxLoopDelayMs: number;
  totalMs: number;
  writesDuring: number;
  maxWriteTurnMs: number;
  savedAtEnd: number;
  maxSaved: number;
  identical: boolean;
}

/** One incremental snapshot, driven as the member drives it, with `writesPerTurn` writes between slices. */
async function incremental(b: Built, slice: number, writesPerTurn: number, seq: { n: number }, verbose: boolean): Promise<IncrementalRun> {
  const { tree } = b;
  // The synchronous snapshot at the same zxid, kept as a hash so that its 160 MB are not held meanwhile.
  const reference = sha256(tree.snapshot());
  gc?.();
  // Let V8 finish sweeping after that forced GC: the next large allocation would otherwise
  // finish it synchronously (~200 ms here), a cost of the forced GC, not of the snapshot.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const gcs: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const b0 = performance.now();
  const writer = tree.beginSnapshot();
  const beginMs = performance.now() - b0;
  const data = new Uint8Array(100).fill(98);
  const slices: number[] = [beginMs];
  let writes = 0;
  let maxWriteTurnMs = 0;
  let maxSaved = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now();
  for (;;) {
    await yieldToLoop();
    // A loaded member: sets, creates and deletes spread over the tree between slices.
    const w0 = performance.now();
    for (let k = 0; k < writesPerTurn; k++) {
      const n = seq.n++;
      const i = (n * 7_919) % 1_000_003;
      let op: Op;
      if (k % 4 === 3) op = { op: 'delete', path: b.paths(i), version: -1 };
      else if (k % 4 === 2) op = { op: 'create', path: b.sibling(i, n), data, mode: 'persistent' };
      else op = { op: 'set', path: b.paths(i), data, version: -1 };
      tree.apply(op, ++b.zxid, 1_700_000_000_000 + b.zxid);
      writes++;
    }
    maxWriteTurnMs = Math.max(maxWriteTurnMs, performance.now() - w0);
    const s0 = performance.now();
    const more = writer.step(slice);
    slices.push(performance.now() - s0);
    if (verbose && slices[slices.length - 1]! > 50) {
      process.stderr.write(`  [${Math.round(s0)} ms] slice ${slices.length} took ${slices[slices.length - 1]!.toFixed(1)} ms (${writer.written} written)\n`);
    }
    maxSaved = Math.max(maxSaved, writer.saved);
    if (!more) break;
  }
  const f0 = performance.now();
  const bytes = writer.finish();
  slices.push(performance.now() - f0);
  const totalMs = performance.now() - t0;
  loop.disable();
  await yieldToLoop();
  observer.disconnect();
  const sorted = slices.slice().sort((x, y) => x - y);
  return {
    slice,
    steps: slices.length,
    beginMs,
    maxSliceMs: sorted[sorted.length - 1]!,
    medianSliceMs: sorted[Math.floor(sorted.length / 2)]!,
    p99SliceMs: sorted[Math.floor(sorted.length * 0.99)]!,
    maxGcPauseMs: Math.max(0, ...gcs.map((g) => g.duration)),
    gcPauses: gcs.length,
    maxLoopDelayMs: loop.max / 1e6,
    totalMs,
    writesDuring: writes,
    maxWriteTurnMs,
    savedAtEnd: writer.saved,
    maxSaved,
    identical: sha256(bytes) === reference,
  };
}

interface Options {
  znodes: number;
  shape: 'flat' | 'spread';
  sliceSizes: number[];
  writesPerTurn: number;
  json: boolean;
  verbose: boolean;
}

function parseOptions(): Options | 'help' {
  const { values } = parseArgs({
    options: {
      znodes: { type: 'string' },
      shape: { type: 'string' },
      slices: { type: 'string' },
      writes: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const znodes = Number(values.znodes ?? 1_000_000);
  const shape = (values.shape ?? 'flat') as 'flat' | 'spread';
  if (shape !== 'flat' && shape !== 'spread') throw new Error(`unknown shape ${shape}`);
  const sliceSizes = (values.slices ?? '5000,10000,20000').split(',').map(Number);
  const writesPerTurn = Number(values.writes ?? 200);
  return { znodes, shape, sliceSizes, writesPerTurn, json: values.json === true, verbose: values.verbose === true };
}

interface SyncRun {
  syncMs: number;
  snapshotBytes: number;
  restoreMs: number;
  restoredCount: number;
}

/** The synchronous snapshot: the stall the member used to take, all at once; and its restore. */
function synchronous(tree: DataTree): SyncRun {
  const syncRuns: number[] = [];
  let bytes: Uint8Array = new Uint8Array(0);
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    bytes = tree.snapshot();
    syncRuns.push(performance.now() - t0);
  }
  const syncMs = Math.min(...syncRuns);
  const r0 = performance.now();
  const restored = DataTree.restore(bytes);
  const restoreMs = performance.now() - r0;
  // Only the figures leave: the snapshot's bytes and the restored tree are garbage on return.
  return { syncMs, snapshotBytes: bytes.length, restoreMs, restoredCount: restored.nodeCount };
}

/** An incremental run's figures as reported: ms to a tenth, totals rounded. */
function rounded(r: IncrementalRun): IncrementalRun {
  return {
    ...r,
    beginMs: Number(r.beginMs.toFixed(1)),
    maxSliceMs: Number(r.maxSliceMs.toFixed(1)),
    medianSliceMs: Number(r.medianSliceMs.toFixed(1)),
    p99SliceMs: Number(r.p99SliceMs.toFixed(1)),
    maxGcPauseMs: Number(r.maxGcPauseMs.toFixed(1)),
    maxLoopDelayMs: Number(r.maxLoopDelayMs.toFixed(1)),
    totalMs: Math.round(r.totalMs),
    maxWriteTurnMs: Number(r.maxWriteTurnMs.toFixed(1)),
  };
}

/** What --json prints (in this order). */
interface SnapshotBenchResult {
  znodes: number;
  shape: 'flat' | 'spread';
  buildMs: number;
  heapBytesPerZnode: number;
  externalBytesPerZnode: number;
  snapshotBytes: number;
  syncSnapshotMs: number;
  restoreMs: number;
  restoredZnodes: number;
  incremental: IncrementalRun[];
}

async function main(): Promise<void> {
  const opts = parseOptions();
  if (opts === 'help') {
    console.log('node --expose-gc dist-tools/tools/bench/snapshot.js [--znodes N (1000000)] [--shape flat|spread (flat)] [--slices 5000,10000,20000] [--writes N per turn (200)] [--json] [--verbose: log slices over 50 ms]');
    return;
  }
  const { znodes, shape, sliceSizes, writesPerTurn } = opts;
  if (!gc) process.stderr.write('(run with --expose-gc for exact heap figures)\n');

  process.stderr.write(`building ${znodes} znodes of 100 bytes (${shape})\n`);
  const before = memory();
  const built = build(znodes, shape);
  const after = memory();
  const { tree } = built;
  const heapPerZnode = (after.heap - before.heap) / tree.nodeCount;
  const externalPerZnode = (after.external - before.external) / tree.nodeCount;
  const sync = synchronous(tree);

  const seq = { n: 0 };
  const runs: IncrementalRun[] = [];
  for (const slice of sliceSizes) {
    process.stderr.write(`incremental snapshot, slices of ${slice} znodes, ${writesPerTurn} writes between slices\n`);
    runs.push(await incremental(built, slice, writesPerTurn, seq, opts.verbose));
  }
  if (runs.some((r) => !r.identical)) throw new Error('an incremental snapshot differs from the synchronous one at the same zxid');

  const result: SnapshotBenchResult = {
    znodes: tree.nodeCount,
    shape,
    buildMs: Math.round(built.buildMs),
    heapBytesPerZnode: Math.round(heapPerZnode),
    externalBytesPerZnode: Math.round(externalPerZnode),
    snapshotBytes: sync.snapshotBytes,
    syncSnapshotMs: Math.round(sync.syncMs),
    restoreMs: Math.round(sync.restoreMs),
    restoredZnodes: sync.restoredCount,
    incremental: runs.map(rounded),
  };
  if (opts.json) {
    console.log(JSON.stringify(result));
    return;
  }
  printResult(result, writesPerTurn);
}

function printResult(result: SnapshotBenchResult, writesPerTurn: number): void {
  console.log(`snapshot of ${result.znodes} znodes of 100 bytes (${result.shape})`);
  console.log(`  heap bytes per znode        ${result.heapBytesPerZnode} (+ ${result.externalBytesPerZnode} in ArrayBuffers: the data)`);
  console.log(`  snapshot size               ${(result.snapshotBytes / 1e6).toFixed(1)} MB`);
  console.log(`  synchronous snapshot()      ${result.syncSnapshotMs} ms (one stall; best of 3)`);
  console.log(`  restore()                   ${result.restoreMs} ms`);
  console.log('');
  console.log(`  incremental, ${writesPerTurn} writes (set, create, delete) between slices; slice times in wall-clock ms:`);
  console.log('  slice (znodes)  slices  begin    median  p99      longest  worst loop delay  longest GC pause    total  writes meanwhile  pre-images (max)  bytes = sync');
  for (const r of result.incremental) {
    console.log(
      `  ${String(r.slice).padStart(14)}  ${String(r.steps).padStart(6)}  ${ms(r.beginMs, 7)}  ${ms(r.medianSliceMs, 6)}  ${ms(r.p99SliceMs, 7)}  ${ms(r.maxSliceMs, 7)}  ${ms(r.maxLoopDelayMs, 16)}  ${ms(r.maxGcPauseMs, 16)}  ${ms(r.totalMs, 7)}  ${String(r.writesDuring).padStart(16)}  ${String(r.maxSaved).padStart(16)}  ${r.identical ? 'yes' : 'NO'}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
