/**
 * Losing a majority: writes and linearizable reads answer 503 Unavailable with Retry-After
 * (within the request timeout), /readyz says 503; when a member comes back, writes recover.
 * And a minority member stopped with SIGSTOP changes nothing for clients, then catches up.
 */
import { send } from '../support/http.js';
import { call, TestCluster, writeRetrying } from './helpers.js';

let c: TestCluster;

afterAll(async () => {
  await c?.stop();
});

test('kill 2 of 3: writes answer 503 with Retry-After; one back: writes recover', async () => {
  c = await TestCluster.start(3, { args: ['--request-timeout-ms', '2000', '--min-zxid-wait-ms', '2000'] });
  const leader = await c.waitLeader();
  expect((await writeRetrying(c.base(1), 'PUT', '/v1/znodes/before', 'x')).status).toBe(201);

  // SIGSTOP a follower: the other two are a majority, nothing changes for clients.
  const frozen = c.ids.find((id) => id !== leader)!;
  c.signal(frozen, 'SIGSTOP');
  for (let i = 0; i < 30; i++) expect((await call(c.base(leader), 'PUT', `/v1/znodes/s${i}`, 'x')).status).toBe(201);
  c.signal(frozen, 'SIGCONT');
  await c.waitApplied(Number((await c.view(leader))!.commitIndex), c.ids);
  expect((await call(c.base(frozen), 'GET', '/v1/znodes/s29')).status).toBe(200);

  // Kill the leader and one follower: the survivor has no quorum.
  const survivor = c.ids.find((id) => id !== leader && id !== frozen)!;
  await c.kill(leader);
  await c.kill(frozen);
  const t0 = Date.now();
  const w = await call(c.base(survivor), 'PUT', '/v1/znodes/no-quorum', 'x', 10_000);
  expect(w.status).toBe(503);
  expect(Date.now() - t0).toBeLessThan(6000);
  expect((w.body as { error: { code: string } }).error.code).toBe('Unavailable');
  // Retry-After rides on every 503.
  const raw = await send(c.base(survivor), 'PUT', '/v1/znodes/no-quorum-2', { body: 'x' });
  expect(raw.status).toBe(503);
  expect(raw.headers.get('retry-after')).toMatch(/^[0-9]+$/);
  const lin = await call(c.base(survivor), 'GET', '/v1/znodes/before?consistency=linearizable', undefined, 10_000);
  expect(lin.status).toBe(503);
  // Local reads still answer (sequential consistency); readiness says no.
  expect((await call(c.base(survivor), 'GET', '/v1/znodes/before')).status).toBe(200);
  expect((await call(c.base(survivor), 'GET', '/readyz')).status).toBe(503);
  expect((await c.view(survivor))!.leaderId).toBeNull();

  // One member back: a majority again.
  await c.startMember(frozen);
  const back = await writeRetrying(c.base(survivor), 'PUT', '/v1/znodes/quorum-back', 'x', 15_000);
  expect(back.status).toBe(201);
  await c.waitLeader(10_000, [survivor, frozen]);
  expect((await call(c.base(frozen), 'GET', '/v1/znodes/quorum-back?consistency=linearizable')).status).toBe(200);
  expect((await call(c.base(survivor), 'GET', '/readyz')).status).toBe(200);
}, 90_000);
