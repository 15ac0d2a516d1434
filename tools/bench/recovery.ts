#!/usr/bin/env node
/**
 * Recovery and memory with a large tree: builds a durable member holding N znodes of 100 bytes
 * (in process, through Member.write, so every create is a logged, fsynced entry), snapshots it,
 * adds a log tail after the snapshot, stops, then times a cold recovery in a fresh child
 * process (open storage + restore the snapshot + replay the tail), against the target of 10 s
 * for 1,000,000 znodes. Also reports heap bytes per znode.
 *
 *   node dist-tools/tools/bench/recovery.js [--znodes N] [--tail N] [--json] [--dir DIR]
 *
 * With --dir, the built data directory is kept there and reused by the next run with the same
 * --dir (so a recovery can be profiled without rebuilding a million znodes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DurableLocalLog } from '../../src/log/durable-local-log.js';
import { Member, type RecoveredState } from '../../src/node/member.js';
import { FileStorage } from '../../src/storage/index.js';

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function openMember(dir: string, snapshotEntries: number): Promise<{ member: Member; recoverMs: number; openMs: number }> {
  const t0 = performance.now();
  const { storage, recovered } = await FileStorage.open(dir);
  const openMs = performance.now() - t0;
  const log = new DurableLocalLog(storage);
  await log.init();
  const member = new Member(log, { snapshotEntries, snapshotBytes: 2 ** 40 });
  const state: RecoveredState = { entries: recovered.entries.map((e) => ({ index: e.index, data: e.data })) };
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state);
  return { member, openMs, recoverMs: performance.now() - t0 };
}

/** The child: a cold recovery, timed. */
async function recoverOnly(dir: string): Promise<void> {
  const before = heapUsed();
  const { member, openMs, recoverMs } = await openMember(dir, 2 ** 40);
  const after = heapUsed();
  const result = { recoverMs: Math.round(recoverMs), openMs: Math.round(openMs), znodes: member.tree.nodeCount, appliedZxid: member.appliedZxid, heapBytes: after - before };
  await member.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function build(dir: string, znodes: number, tail: number): Promise<{ buildMs: number; writesPerSec: number; heapPerZnode: number; snapshotBytes: number }> {
  const base = heapUsed();
  // The snapshot is taken right after the N-th create (plus /b) has applied.
  const { member } = await openMember(dir, znodes + 1);
  const data = new Uint8Array(100).fill(97);
  await member.write({ op: 'create', path: '/b', data: new Uint8Array(0), mode: 'persistent' });
  const t0 = performance.now();
  const CONCURRENCY = 256;
  let next = 0;
  let lastReport = t0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= znodes + tail) return;
      const a = await member.write({ op: 'create', path: `/b/n${i}`, data, mode: 'persistent' });
      if (!a.outcome.ok) throw new Error(`create failed: ${a.outcome.failure.message}`);
      if (i === znodes - 1) await member.snapshotsSettled();
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        process.stderr.write(`  ${i + 1} of ${znodes + tail} znodes written\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const buildMs = performance.now() - t0;
  await member.snapshotsSettled();
  const heapPerZnode = (heapUsed() - base) / member.tree.nodeCount;
  await member.close();
  const snaps = readdirSync(dir).filter((f) => f.endsWith('.snap'));
  const snapshotBytes = snaps.length ? statSync(join(dir, snaps.sort().at(-1)!)).size : 0;
  return { buildMs, writesPerSec: ((znodes + tail) / buildMs) * 1000, heapPerZnode, snapshotBytes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { znodes: { type: 'string' }, tail: { type: 'string' }, json: { type: 'boolean' }, 'recover-only': { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log('node [--expose-gc] dist-tools/tools/bench/recovery.js [--znodes N (default 1000000)] [--tail N (default 10000)] [--json] [--dir DIR (keep and reuse the built data)]');
    return;
  }
  if (values['recover-only']) return recoverOnly(values['recover-only']);
  const znodes = Number(values.znodes ?? 1_000_000);
  const tail = Number(values.tail ?? 10_000);
  const keep = values.dir !== undefined;
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'zgate-bench-recovery-'));
  try {
    let built: Awaited<ReturnType<typeof build>> | undefined;
    if (keep && existsSync(join(dir, 'built.json'))) {
      process.stderr.write(`reusing the data built in ${dir}\n`);
      built = JSON.parse(readFileSync(join(dir, 'built.json'), 'utf8')) as Awaited<ReturnType<typeof build>>;
    } else {
      mkdirSync(dir, { recursive: true });
      process.stderr.write(`building ${znodes} znodes of 100 bytes + ${tail} after the snapshot in ${dir}\n`);
      built = await build(dir, znodes, tail);
      if (keep) writeFileSync(join(dir, 'built.json'), JSON.stringify(built));
    }
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--recover-only', dir], { encoding: 'utf8', timeout: 600_000 });
    if (child.status !== 0) throw new Error(`recovery child failed: ${child.stderr}`);
    const rec = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { recoverMs: number; openMs: number; znodes: number; heapBytes: number };
    const result = {
      znodes,
      tail,
      inProcessWritesPerSec: Math.round(built.writesPerSec),
      heapBytesPerZnode: Math.round(built.heapPerZnode),
      recoveredHeapBytesPerZnode: Math.round(rec.heapBytes / rec.znodes),
      snapshotBytes: built.snapshotBytes,
      recoveryMs: rec.recoverMs,
      storageOpenMs: rec.openMs,
      recoveryVsTarget: Number((rec.recoverMs / 10_000).toFixed(2)),
    };
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(`recovery of ${znodes} znodes (100 bytes) + ${tail} log entries after the snapshot`);
      for (const [k, v] of Object.entries(result)) console.log(`  ${k.padEnd(28)} ${v}`);
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
