/**
 * A member that was down while the others wrote far past their compacted log is sent the
 * leader's snapshot (streamed in chunks), installs it and catches up.
 */
import { call, TestCluster } from './helpers.js';

let c: TestCluster;

afterAll(async () => {
  await c?.stop();
});

async function children(id: number): Promise<string[]> {
  const r = await call(c.base(id), 'GET', '/v1/znodes/s?children=true&limit=100000');
  expect(r.status).toBe(200);
  return (r.body as { children: string[] }).children;
}

test('a lagging member gets a snapshot and catches up', async () => {
  c = await TestCluster.start(3, { args: ['--snapshot-entries', '25'] });
  const leader = await c.waitLeader();
  const lagging = c.ids.find((id) => id !== leader)!;
  expect((await call(c.base(lagging), 'PUT', '/v1/znodes/s?parents=true', 'x')).status).toBe(201);
  await c.kill(lagging);
  // Far past the compacted log: 8 writers, 300 writes, some of them large.
  const live = c.ids.filter((id) => id !== lagging);
  const big = 'x'.repeat(20_000);
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 38; i++) {
        const r = await call(c.base(live[i % 2]!), 'PUT', `/v1/znodes/s/${w}-${i}`, i % 5 === 0 ? big : `v${i}`);
        expect(r.status).toBe(201);
      }
    }),
  );
  const commit = Number((await c.view(leader))!.commitIndex);
  await c.startMember(lagging);
  await c.waitApplied(commit, c.ids);
  expect(c.procs.get(lagging)!.stdout()).toMatch(/installed a snapshot from the leader/);
  expect(c.procs.get(leader)!.stdout()).toMatch(/sending a snapshot to a member behind the compacted log/);
  const want = await children(leader);
  expect(want).toHaveLength(304);
  expect(await children(lagging)).toEqual(want);
  const r = await call(c.base(lagging), 'GET', '/v1/znodes/s/3-35');
  expect((r.body as { stat: { dataLength: number } }).stat.dataLength).toBe(20_000);
  // It keeps following: a write through it applies everywhere.
  const w = await call(c.base(lagging), 'PUT', '/v1/znodes/s/after', 'x');
  expect(w.status).toBe(201);
}, 90_000);
