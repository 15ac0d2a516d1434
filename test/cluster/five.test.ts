/** Five members survive the loss of two (the leader among them): a new leader, writes go on, nothing acknowledged lost. */
import { call, TestCluster, writeRetrying } from './helpers.js';

let c: TestCluster;

afterAll(async () => {
  await c?.stop();
});

test('5 members survive the loss of 2', async () => {
  c = await TestCluster.start(5);
  const leader = await c.waitLeader();
  const acked: string[] = [];
  for (let i = 0; i < 25; i++) {
    const id = c.ids[i % 5]!;
    const r = await call(c.base(id), 'PUT', `/v1/znodes/f${i}`, `v${i}`);
    expect(r.status).toBe(201);
    acked.push(`f${i}`);
  }
  const other = c.ids.find((id) => id !== leader)!;
  await Promise.all([c.kill(leader), c.kill(other)]);
  const live = c.ids.filter((id) => id !== leader && id !== other);
  const next = await c.waitLeader(15_000, live);
  expect(live).toContain(next);
  for (let i = 25; i < 50; i++) {
    const r = await writeRetrying(c.base(live[i % 3]!), 'PUT', `/v1/znodes/f${i}`, `v${i}`);
    expect(r.status).toBe(201);
    acked.push(`f${i}`);
  }
  await c.waitApplied(Number((await c.view(next))!.commitIndex), live);
  for (const id of live) {
    const kids = (await call(c.base(id), 'GET', '/v1/znodes/?children=true&limit=1000')).body as { children: string[] };
    for (const a of acked) expect(kids.children).toContain(a);
  }
}, 90_000);
