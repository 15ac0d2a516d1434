/**
 * The Raft loop (cluster/raft-node.ts) in one process: members over the in-memory transport
 * and in-memory storage, with partitions, restarts from the durable state, snapshots,
 * membership changes, leadership transfer and a failing disk.
 */
import { RaftNode } from '../../src/cluster/raft-node.js';
import { SILENT } from '../../src/cluster/logger.js';
import { MemoryNetwork } from '../../src/cluster/transport-memory.js';
import { ZgateError } from '../../src/core/errors.js';
import { Member } from '../../src/node/member.js';
import { MemoryStorage, type Storage } from '../../src/storage/index.js';
import { Prng } from '../../src/util/prng.js';

const TICK = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node {
  id: number;
  storage: MemoryStorage;
  log: RaftNode;
  member: Member;
}

class Harness {
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<number, Node>();
  readonly peers = new Map<number, string>();
  fatal: Error[] = [];

  constructor(readonly snapshotEntries = 100_000) {}

  async boot(ids: number[]): Promise<void> {
    for (const id of ids) this.peers.set(id, `mem:${id}`);
    await Promise.all(ids.map((id) => this.start(id, new MemoryStorage(), ids)));
  }

  /** Starts member `id` over `storage`: a bootstrap when `bootstrap` is given, else what storage holds. */
  async start(id: number, storage: MemoryStorage, bootstrap?: number[], storageOverride?: Storage): Promise<Node> {
    const s = storage.durableState();
    const log = await RaftNode.create(
      {
        id,
        storage: storageOverride ?? storage,
        transport: this.net.transport(id, `http://member-${id}`),
        flagPeers: this.peers,
        http: `http://member-${id}`,
        logger: SILENT,
        onFatal: (e) => this.fatal.push(e),
        tickMs: TICK,
        electionTicks: 10,
        requestTimeoutMs: 3000,
        readTimeoutMs: 1000,
        forwardAckMs: 500,
        random: new Prng(id * 7919),
      },
      { hardState: s.hardState, entries: s.entries, ...(s.snapshot ? { snapshot: s.snapshot } : {}) },
      bootstrap,
    );
    const member = new Member(log, { id, snapshotEntries: this.snapshotEntries, requestTimeoutMs: 3000 });
    log.setSnapshotInstaller((i, d) => member.installSnapshot(i, d));
    await member.recover(s.snapshot ? { snapshot: { index: s.snapshot.meta.index, data: s.snapshot.data }, entries: [] } : { entries: [] });
    await log.start();
    const node = { id, storage, log, member };
    this.nodes.set(id, node);
    return node;
  }

  async stop(id: number): Promise<MemoryStorage> {
    const n = this.nodes.get(id)!;
    this.nodes.delete(id);
    await n.member.close();
    return new MemoryStorage(n.storage.durableState());
  }

  node(id: number): Node {
    return this.nodes.get(id)!;
  }

  async leader(among = [...this.nodes.keys()], timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ls = new Set(among.map((id) => this.node(id).log.status().leaderId));
      const l = [...ls][0];
      if (ls.size === 1 && l !== null && l !== undefined && among.includes(l) && this.node(l).log.status().role === 'leader') return l;
      if (Date.now() > deadline) throw new Error(`no leader among ${among.join(',')}: ${JSON.stringify(among.map((id) => this.node(id).log.status()))}`);
      await sleep(TICK);
    }
  }

  async applied(zxid: number, among = [...this.nodes.keys()], timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!among.every((id) => this.node(id).member.appliedZxid >= zxid)) {
      if (Date.now() > deadline) throw new Error(`not applied ${zxid}: ${among.map((id) => this.node(id).member.appliedZxid).join(',')}`);
      await sleep(TICK);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.member.close()));
    this.nodes.clear();
  }
}

async function put(m: Member, path: string, data = 'x'): Promise<number> {
  const a = await m.write({ op: 'create', path, data: new TextEncoder().encode(data), mode: 'persistent' });
  if (!a.outcome.ok) throw new Error(`create ${path}: ${a.outcome.failure.code}`);
  return a.zxid;
}

let h: Harness;
afterEach(async () => {
  await h?.close();
  expect(h.fatal).toEqual([]);
});

test('one leader; writes through any member apply everywhere with the same zxids; reads are linearizable on followers', async () => {
  h = new Harness();
  await h.boot([1, 2, 3]);
  const leader = await h.leader();
  const zxids: number[] = [];
  for (let i = 0; i < 30; i++) zxids.push(await put(h.node((i % 3) + 1).member, `/n${i}`));
  expect([...zxids].sort((a, b) => a - b)).toEqual(zxids);
  await h.applied(zxids[29]!);
  const digest = h.node(1).member.tree.digest();
  for (const id of [2, 3]) expect(h.node(id).member.tree.digest()).toEqual(digest);
  // Read index on a follower covers every acknowledged write.
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  expect(await h.node(follower).log.readIndex()).toBeGreaterThanOrEqual(zxids[29]!);
  const v = h.node(leader).log.cluster();
  expect(v.members.map((m) => [m.id, m.role, m.reachable])).toEqual([1, 2, 3].map((id) => [id, id === leader ? 'leader' : 'follower', true]));
});

test('a partitioned leader is replaced; followers forward to the new one; healed, the old one follows and catches up', async () => {
  h = new Harness();
  await h.boot([1, 2, 3]);
  const old = await h.leader();
  await put(h.node(old).member, '/before');
  h.net.isolate(old);
  const rest = [1, 2, 3].filter((id) => id !== old);
  const next = await h.leader(rest);
  let last = 0;
  for (let i = 0; i < 10; i++) last = await put(h.node(rest[i % 2]!).member, `/during${i}`);
  // The isolated old leader can't commit: its write answers Unavailable.
  await expect(put(h.node(old).member, '/lost')).rejects.toThrow(ZgateError);
  // Reads through it can't be linearizable.
  await expect(h.node(old).log.readIndex()).rejects.toThrow(/read index/);
  h.net.heal();
  await h.leader();
  expect(h.node(old).log.status().leaderId).toBe(next);
  await h.applied(last);
  expect(h.node(old).member.read('/during9')).toBeDefined();
  expect(h.node(old).member.tree.digest()).toEqual(h.node(next).member.tree.digest());
});

test('a restarted member recovers from its durable state and catches up; the whole cluster restarted keeps everything', async () => {
  h = new Harness(15);
  await h.boot([1, 2, 3]);
  const leader = await h.leader();
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  for (let i = 0; i < 20; i++) await put(h.node(leader).member, `/a${i}`);
  const stored = await h.stop(follower);
  let last = 0;
  for (let i = 0; i < 40; i++) last = await put(h.node(leader).member, `/b${i}`);
  await h.start(follower, stored);
  await h.applied(last);
  expect(h.node(follower).member.tree.digest()).toEqual(h.node(leader).member.tree.digest());
  // Everyone down, everyone back.
  const disks = new Map<number, MemoryStorage>();
  for (const id of [1, 2, 3]) disks.set(id, await h.stop(id));
  for (const id of [1, 2, 3]) await h.start(id, disks.get(id)!);
  await h.leader();
  await h.applied(last);
  for (let i = 0; i < 40; i++) expect(h.node(1).member.read(`/b${i}`)).toBeDefined();
  await put(h.node(2).member, '/after');
});

test('a member behind the compacted log gets a snapshot from the leader', async () => {
  h = new Harness(10);
  await h.boot([1, 2, 3]);
  const leader = await h.leader();
  const lagging = [1, 2, 3].find((id) => id !== leader)!;
  h.net.isolate(lagging);
  let last = 0;
  const rest = [1, 2, 3].filter((id) => id !== lagging);
  for (let i = 0; i < 60; i++) last = await put(h.node(rest[i % 2]!).member, `/s${i}`);
  await h.applied(last, rest);
  await h.node(leader).member.snapshotsSettled();
  expect(h.node(leader).storage.firstIndex()).toBeGreaterThan(2);
  let installed = 0;
  h.node(lagging).member.onSnapshotInstalled((i) => (installed = i));
  h.net.heal();
  await h.applied(last);
  expect(installed).toBeGreaterThan(0);
  expect(h.node(lagging).member.tree.digest()).toEqual(h.node(leader).member.tree.digest());
  await put(h.node(lagging).member, '/after-snapshot');
});

test('membership: add a member (addresses replicated), it catches up and votes; remove one; transfer leadership', async () => {
  h = new Harness(20);
  await h.boot([1, 2, 3]);
  let leader = await h.leader();
  for (let i = 0; i < 30; i++) await put(h.node(leader).member, `/m${i}`);
  h.peers.set(4, 'mem:4');
  await h.start(4, new MemoryStorage());
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const { index } = await h.node(follower).log.addMember(4, '127.0.0.1:9999', 'http://four');
  await h.applied(index, [1, 2, 3, 4]);
  expect(h.node(4).log.status().role).toBe('follower');
  expect(h.node(1).log.cluster().members.find((m) => m.id === 4)).toMatchObject({ peer: 'mem:4', role: 'follower' });
  await expect(h.node(leader).log.addMember(4, '127.0.0.1:9999', '')).rejects.toThrow(/already a member/);
  await expect(h.node(leader).log.removeMember(9)).rejects.toThrow(/not a member/);
  // Remove one of the original members; the three left (4 among them) elect without it.
  const gone = [1, 2, 3].find((id) => id !== leader)!;
  await h.node(4).log.removeMember(gone);
  expect(h.node(gone).log.isRemoved).toBe(true);
  await h.stop(gone);
  const left = [1, 2, 3, 4].filter((id) => id !== gone);
  // Transfer to the new member: it has caught up, so it can lead.
  const to = await h.node(leader).log.transferLeadership(2000);
  expect(to).not.toBe(0);
  leader = await h.leader(left);
  expect(leader).toBe(to);
  const z = await put(h.node(4).member, '/after-change');
  await h.applied(z, left);
});

test('a failed disk write stops the loop (fail-stop) and answers Unavailable', async () => {
  h = new Harness();
  await h.boot([1, 2, 3]);
  const leader = await h.leader();
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  // Restart the follower over a storage whose appends fail.
  const stored = await h.stop(follower);
  const failing = Object.create(stored) as MemoryStorage;
  failing.append = () => Promise.reject(new ZgateError('Unavailable', 'disk full'));
  await h.start(follower, stored, undefined, failing);
  await put(h.node(leader).member, '/x');
  for (let i = 0; i < 100 && h.fatal.length === 0; i++) await sleep(TICK);
  expect(h.fatal.map((e) => e.message)).toEqual(['disk full']);
  h.fatal = [];
  await expect(put(h.node(follower).member, '/y')).rejects.toThrow(/shutting down|stopped/);
});

test('a one-voter cluster (--peers with its own entry only) commits alone and grows by adding a member', async () => {
  h = new Harness();
  await h.boot([1]);
  expect(await h.leader()).toBe(1);
  const z = await put(h.node(1).member, '/alone');
  expect(await h.node(1).log.readIndex()).toBeGreaterThanOrEqual(z);
  h.peers.set(2, 'mem:2');
  await h.start(2, new MemoryStorage());
  const { index } = await h.node(1).log.addMember(2, '127.0.0.1:9999', '');
  await h.applied(index, [1, 2]);
  expect(h.node(2).member.read('/alone')).toBeDefined();
  const z2 = await put(h.node(2).member, '/from-2');
  await h.applied(z2, [1, 2]);
});
