/**
 * The member's incremental snapshots: writes keep applying while the tree is serialised, and
 * what reaches the log is exactly the tree at the snapshot's index.
 */
import { decode } from '../../src/util/codec.js';
import { LocalLog } from '../../src/log/local-log.js';
import type { CommittedEntry, EntryPayload } from '../../src/log/replicated-log.js';
import { Member } from '../../src/node/member.js';
import { DataTree } from '../../src/tree/datatree.js';

/** A LocalLog that keeps every committed entry and every snapshot handed to it. */
class RecordingLog extends LocalLog {
  readonly committed: CommittedEntry[] = [];
  readonly snapshots: { index: number; data: Uint8Array; appliedThen: number }[] = [];
  member: Member | undefined;
  failSaves = 0;

  override onCommit(handler: (entries: CommittedEntry[]) => void): void {
    super.onCommit((entries) => {
      this.committed.push(...entries);
      handler(entries);
    });
  }

  override async saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    if (this.failSaves > 0) {
      this.failSaves--;
      throw new Error('disk full');
    }
    this.snapshots.push({ index, data: data.slice(), appliedThen: this.member!.appliedZxid });
  }
}

/**
 * The tree a member recovers from a saved snapshot (whatever the member wraps around the tree's
 * bytes, such as its session table), through the public recovery path.
 */
async function recovered(index: number, data: Uint8Array): Promise<DataTree> {
  const m = new Member(new LocalLog());
  await m.recover({ snapshot: { index, data }, entries: [] });
  await m.close();
  return m.tree;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function replayTo(log: RecordingLog, index: number): DataTree {
  const tree = new DataTree();
  for (const e of log.committed) {
    if (e.index > index) break;
    const p = decode(e.data) as EntryPayload;
    tree.apply(p.op, e.index, p.timeMs);
  }
  return tree;
}

const data = new Uint8Array(20).fill(7);

async function writeMany(member: Member, from: number, count: number, concurrency = 500): Promise<void> {
  let next = from;
  const end = from + count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= end) return;
        const op =
          i % 5 === 4
            ? { op: 'set' as const, path: `/n${i - 1 - ((i * 31) % 200)}`, data: new Uint8Array([i & 0xff]), version: -1 }
            : { op: 'create' as const, path: `/n${i}`, data, mode: 'persistent' as const };
        await member.write(op);
      }
    }),
  );
}

test('writes apply while a snapshot is serialised, and the saved bytes are the tree at its index', async () => {
  const log = new RecordingLog({ maxPending: 100_000 });
  const member = new Member(log, { snapshotEntries: 25_000 });
  log.member = member;
  await writeMany(member, 0, 32_000);
  await member.snapshotsSettled();
  expect(log.snapshots).toHaveLength(1);
  const snap = log.snapshots[0]!;
  expect(snap.index).toBeGreaterThanOrEqual(25_000);
  // Entries applied while the ~25,000 znodes were written out, a slice at a time.
  expect(snap.appliedThen).toBeGreaterThan(snap.index);
  const ref = replayTo(log, snap.index);
  const tree = await recovered(snap.index, snap.data);
  expect(tree.lastZxid).toBe(snap.index);
  expect(sameBytes(tree.snapshot(), ref.snapshot())).toBe(true);
  expect(member.tree.snapshotInProgress).toBe(false);
  await member.close();
}, 60_000);

test('a failed save is kept in lastSnapshotError, leaves the tree clean and is retried at the next threshold', async () => {
  const log = new RecordingLog({ maxPending: 100_000 });
  const member = new Member(log, { snapshotEntries: 300 });
  log.member = member;
  log.failSaves = 1_000;
  await writeMany(member, 0, 400, 50);
  await member.snapshotsSettled();
  expect(member.lastSnapshotError?.message).toBe('disk full');
  expect(member.tree.snapshotInProgress).toBe(false);
  expect(log.snapshots).toHaveLength(0);
  log.failSaves = 0;
  await writeMany(member, 400, 400, 50);
  await member.snapshotsSettled();
  expect(member.lastSnapshotError).toBeUndefined();
  expect(log.snapshots.length).toBeGreaterThanOrEqual(1);
  for (const s of log.snapshots) expect(sameBytes((await recovered(s.index, s.data)).snapshot(), replayTo(log, s.index).snapshot())).toBe(true);
  await member.close();
});

test('close() waits for a snapshot being serialised and saved', async () => {
  const log = new RecordingLog({ maxPending: 100_000 });
  const member = new Member(log, { snapshotEntries: 15_000 });
  log.member = member;
  await writeMany(member, 0, 15_000);
  // The threshold was crossed by the last batch: a snapshot is under way.
  expect(member.tree.snapshotInProgress).toBe(true);
  await member.close();
  expect(log.snapshots).toHaveLength(1);
  expect(member.tree.snapshotInProgress).toBe(false);
  const s = log.snapshots[0]!;
  expect(sameBytes((await recovered(s.index, s.data)).snapshot(), replayTo(log, s.index).snapshot())).toBe(true);
}, 60_000);
