/**
 * A 3-member cluster of real processes: one leader that every member names, writes to a
 * follower forwarded and answered (read-your-writes on that follower), identical zxids
 * everywhere, linearizable reads, and misconfigured members refused.
 */
import { call, TestCluster, writeRetrying, zxidOf, sleep, type ClusterView } from './helpers.js';
import { startMember } from '../support/member.js';
import { getFreePorts } from '../support/ports.js';

let c: TestCluster;
let leader: number;

beforeAll(async () => {
  c = await TestCluster.start(3);
  leader = await c.waitLeader();
}, 60_000);

afterAll(async () => {
  await c?.stop();
});

test('elects one leader that every member names; /v1/cluster shows every member', async () => {
  const views = (await Promise.all(c.ids.map((id) => c.view(id)))) as ClusterView[];
  for (const v of views) {
    expect(v.leaderId).toBe(leader);
    expect(v.term).toBe(views[0]!.term);
    expect(v.members.map((m) => m.id)).toEqual([1, 2, 3]);
    for (const m of v.members) {
      expect(m.peer).toBe(c.peerAddress(m.id));
      expect(m.role).toBe(m.id === leader ? 'leader' : 'follower');
      expect(typeof m.matchIndex).toBe('string');
    }
  }
  // The leader knows every follower's progress, and every member's HTTP URL (from the hellos).
  const lv = views[leader - 1]!;
  for (let i = 0; i < 100; i++) {
    const v = (await c.view(leader))!;
    if (v.members.every((m) => m.reachable && m.http === c.base(m.id) && Number(m.matchIndex) >= 4)) return;
    await sleep(50);
  }
  throw new Error(`leader's view never complete: ${JSON.stringify(lv)}`);
});

test('a write to a follower is forwarded, answered, and readable on that follower at once', async () => {
  const follower = c.ids.find((id) => id !== leader)!;
  for (let i = 0; i < 20; i++) {
    const w = await call(c.base(follower), 'PUT', `/v1/znodes/ryw-${i}`, `v${i}`);
    expect(w.status).toBe(201);
    const r = await call(c.base(follower), 'GET', `/v1/znodes/ryw-${i}`);
    expect(r.status).toBe(200);
    expect((r.body as { data: string }).data).toBe(`v${i}`);
  }
  // A failing write (its outcome decided at apply) is answered on the follower too.
  const dup = await call(c.base(follower), 'PUT', '/v1/znodes/ryw-0?version=7', 'x');
  expect(dup.status).toBe(409);
  const txn = await call(c.base(follower), 'POST', '/v1/txn', { ops: [{ op: 'create', path: '/t1', data: 'a' }, { op: 'create', path: '/t1/c', data: 'b' }] });
  expect(txn.status).toBe(200);
});

test('zxids are identical on every member, and strictly increasing across writes to different members', async () => {
  const zxids: number[] = [];
  const writers = c.ids.map(async (id) => {
    for (let i = 0; i < 15; i++) {
      const w = await call(c.base(id), 'POST', `/v1/znodes/z/m${id}-?mode=persistent_sequential&parents=true`, `from ${id}`);
      expect(w.status).toBe(201);
      zxids.push(zxidOf(w));
    }
  });
  await Promise.all(writers);
  expect(new Set(zxids).size).toBe(zxids.length);
  const top = Math.max(...zxids);
  await c.waitApplied(top);
  const trees = await Promise.all(
    c.ids.map(async (id) => {
      const kids = (await call(c.base(id), 'GET', '/v1/znodes/z?children=true&limit=1000')).body as { children: string[] };
      const stats: Record<string, string> = {};
      for (const k of kids.children) stats[k] = JSON.stringify(((await call(c.base(id), 'GET', `/v1/znodes/z/${k}`)).body as { stat: unknown }).stat);
      return stats;
    }),
  );
  expect(Object.keys(trees[0]!)).toHaveLength(45);
  expect(trees[1]).toEqual(trees[0]);
  expect(trees[2]).toEqual(trees[0]);
  // Zgate-Zxid on a write is the write's zxid.
  const w = await call(c.base(1), 'PUT', '/v1/znodes/zx', 'x');
  expect(w.status).toBe(201);
});

test('?consistency=linearizable reads see a write made through another member', async () => {
  const others = c.ids.filter((id) => id !== leader);
  for (let i = 0; i < 10; i++) {
    const writer = others[i % 2]!;
    const reader = others[(i + 1) % 2]!;
    const w = await call(c.base(writer), 'PUT', `/v1/znodes/lin`, `value ${i}`);
    expect(w.status).toBeLessThan(300);
    const r = await call(c.base(reader), 'GET', `/v1/znodes/lin?consistency=linearizable`);
    expect(r.status).toBe(200);
    expect((r.body as { data: string }).data).toBe(`value ${i}`);
    const r2 = await call(c.base(leader), 'GET', `/v1/znodes/lin?consistency=linearizable`);
    expect((r2.body as { data: string }).data).toBe(`value ${i}`);
  }
  // minZxid on a follower waits for the zxid.
  const w = await call(c.base(leader), 'PUT', `/v1/znodes/lin`, 'last');
  const r = await call(c.base(others[0]!), 'GET', `/v1/znodes/lin?minZxid=${zxidOf(w)}`);
  expect((r.body as { data: string }).data).toBe('last');
});

test('membership changes validate their input', async () => {
  expect((await call(c.base(1), 'POST', '/v1/cluster/members', { id: 2, peer: c.peerAddress(2) })).status).toBe(409);
  expect((await call(c.base(1), 'POST', '/v1/cluster/members', { id: 9, peer: 'nope' })).status).toBe(400);
  expect((await call(c.base(1), 'POST', '/v1/cluster/members', { id: 0, peer: '127.0.0.1:1' })).status).toBe(400);
  expect((await call(c.base(1), 'DELETE', '/v1/cluster/members/9')).status).toBe(404);
});

test('a member whose --peers disagree is refused by the others, with a log line that says why', async () => {
  // "Member 2" again, on a port of its own, but started with a different initial list: its
  // cluster id differs, so members 1 and 3 refuse its links and never step its messages.
  const [port] = await getFreePorts(1);
  const imposter = await startMember({ args: ['--id', '2', '--peers', `${c.peers},9=127.0.0.1:1`, '--peer-port', String(port), '--tick-ms', '50'] });
  try {
    const deadline = Date.now() + 10_000;
    const said = (): string => imposter.stdout() + c.procs.get(1)!.stdout() + c.procs.get(3)!.stdout();
    while (Date.now() < deadline && !(/peer refused our connection/.test(imposter.stdout()) && /refused a peer connection/.test(said()))) await sleep(100);
    expect(imposter.stdout()).toMatch(/"reason":"member [13]: member 2 belongs to cluster [0-9a-f]+, this member to cluster [0-9a-f]+[^"]*","msg":"peer refused our connection"/);
    expect(c.procs.get(1)!.stdout() + c.procs.get(3)!.stdout()).toMatch(/refused a peer connection: member 2 belongs to cluster [0-9a-f]+, this member to cluster [0-9a-f]+: their initial --peers lists disagree/);
    expect((await c.view(1))!.leaderId).toBe(leader);
  } finally {
    await imposter.stop(1000);
  }
  const w = await writeRetrying(c.base(1), 'PUT', '/v1/znodes/after-refusal', 'x');
  expect(w.status).toBe(201);
});

test('a second live process started with a member\'s --id (same cluster) is refused: two members with one id', async () => {
  const [port] = await getFreePorts(1);
  const twin = await startMember({ args: ['--id', '2', '--peers', c.peers, '--peer-port', String(port), '--tick-ms', '50'] });
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !/already connected from another live process/.test(twin.stdout())) await sleep(100);
    expect(twin.stdout()).toMatch(/member 2 is already connected from another live process .*two members started with --id 2\?/);
    expect(c.procs.get(1)!.stdout() + c.procs.get(3)!.stdout()).toMatch(/refused a peer connection: member 2 is already connected/);
  } finally {
    await twin.stop(1000);
  }
  expect((await c.view(2))!.leaderId).toBe((await c.view(1))!.leaderId);
  expect((await writeRetrying(c.base(2), 'PUT', '/v1/znodes/after-twin', 'x')).status).toBe(201);
});

test('/metrics carries the Raft gauges and, on the leader, the proposal latency', async () => {
  const l = await c.waitLeader();
  await call(c.base(l), 'PUT', '/v1/znodes/metric-probe', 'x');
  const text = (await call(c.base(l), 'GET', '/metrics')).body as string;
  expect(text).toMatch(/^zgate_raft_term [1-9]/m);
  expect(text).toMatch(/^zgate_raft_is_leader 1/m);
  expect(text).toMatch(/^zgate_raft_proposal_seconds_count [1-9]/m);
  expect(text).toMatch(/^zgate_raft_follower_lag_entries\{member="[0-9]"\} [0-9]+/m);
  const f = c.ids.find((id) => id !== l)!;
  expect((await call(c.base(f), 'GET', '/metrics')).body as string).toMatch(/^zgate_raft_is_leader 0/m);
});
