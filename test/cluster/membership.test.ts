/**
 * Membership through the admin API: a 4th member added through POST /v1/cluster/members
 * catches up and votes; DELETE removes one, which stops being asked; graceful SIGTERM of
 * the leader hands leadership over.
 */
import { call, sleep, TestCluster, writeRetrying, type ClusterView } from './helpers.js';

let c: TestCluster;

afterAll(async () => {
  await c?.stop();
});

async function zxidsAgree(ids: number[]): Promise<void> {
  const commit = Math.max(...(await Promise.all(ids.map(async (id) => Number((await c.view(id))!.commitIndex)))));
  await c.waitApplied(commit, ids);
}

test('add a 4th member, it catches up and votes; remove one; SIGTERM of the leader transfers leadership', async () => {
  c = await TestCluster.start(3, { spare: 1, args: ['--snapshot-entries', '40'] });
  let leader = await c.waitLeader();
  for (let i = 0; i < 60; i++) expect((await call(c.base(c.ids[i % 3]!), 'PUT', `/v1/znodes/m${i}`, 'x')).status).toBe(201);

  // The new member starts empty with --join and a --peers list that includes it.
  const peers4 = `${c.peers},4=${c.peerAddress(4)}`;
  await c.startMember(4, ['--join'], peers4);
  const follower = c.ids.find((id) => id !== leader)!;
  const add = await call(c.base(follower), 'POST', '/v1/cluster/members', { id: 4, peer: c.peerAddress(4), http: c.base(4) }, 20_000);
  expect(add.status).toBe(201);
  expect((add.body as ClusterView).members.map((m) => m.id)).toEqual([1, 2, 3, 4]);
  await zxidsAgree([1, 2, 3, 4]);
  const v4 = (await c.view(4))!;
  expect(v4.leaderId).toBe(leader);
  expect(v4.members.map((m) => m.id)).toEqual([1, 2, 3, 4]);
  // Every member knows the new one's addresses (replicated), and it knows theirs.
  for (const id of [1, 2, 3]) expect((await c.view(id))!.members.find((m) => m.id === 4)!.peer).toBe(c.peerAddress(4));
  expect((await call(c.base(4), 'GET', '/v1/znodes/m59')).status).toBe(200);
  expect((await call(c.base(4), 'PUT', '/v1/znodes/from-4', 'x')).status).toBe(201);
  // Adding it again is refused.
  expect((await call(c.base(1), 'POST', '/v1/cluster/members', { id: 4, peer: c.peerAddress(4) })).status).toBe(409);

  // Remove a follower other than 4, through member 4 (a follower: it asks the leader).
  const removed = c.ids.find((id) => id !== leader)!;
  const del = await call(c.base(4), 'DELETE', `/v1/cluster/members/${removed}`, undefined, 20_000);
  expect(del.status).toBe(200);
  const left = [1, 2, 3, 4].filter((id) => id !== removed);
  expect((del.body as ClusterView).members.map((m) => m.id)).toEqual(left);
  for (let i = 0; i < 50 && !/removed from the cluster/.test(c.procs.get(removed)!.stdout()); i++) await sleep(100);
  expect(c.procs.get(removed)!.stdout()).toMatch(/this member was removed from the cluster/);
  expect((await writeRetrying(c.base(4), 'PUT', '/v1/znodes/after-remove', 'x')).status).toBe(201);
  await zxidsAgree(left);

  // Graceful stop of the leader: it hands leadership to a caught-up follower first.
  const t0 = Date.now();
  const stopped = c.procs.get(leader)!;
  await stopped.stop(5000);
  const exitMs = Date.now() - t0;
  const rest = left.filter((id) => id !== leader);
  const next = await c.waitLeader(10_000, rest);
  const tookMs = Date.now() - t0;
  expect(stopped.stdout()).toMatch(/transferring leadership before stopping/);
  expect(stopped.stdout()).toMatch(/leadership transferred/);
  console.log(`graceful stop: leader ${leader} exited after ${exitMs} ms; ${next} leads (agreed) ${tookMs} ms after SIGTERM`);
  // The added member votes: with the old leader gone, {next, other} are 2 of the 3 voters.
  expect(rest).toContain(4);
  leader = next;
  expect((await writeRetrying(c.base(4), 'PUT', '/v1/znodes/after-transfer', 'x')).status).toBe(201);
}, 120_000);
