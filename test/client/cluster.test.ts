/**
 * The client on a real 3-member cluster when members die: a client whose member is killed
 * moves its session and watches to another member and resumes them by zxid (every change
 * arrives once, in order; its ephemeral znode stays); a new client skips a dead member; and
 * when the Raft leader is killed under a stream of writes, every write succeeds once:
 * retries on other members carry the same Idempotency-Key, so none is applied twice.
 */
import { TestCluster } from '../cluster/helpers.js';
import type { ClientState, WatchEvent } from '../../src/client/index.js';
import { Clients, waitFor } from './helpers.js';

jest.setTimeout(60_000);

let cluster: TestCluster;
const clients = new Clients();

/** Member `id`'s URL first, then the others. */
const startingAt = (id: number): string[] => [cluster.base(id), ...[1, 2, 3].filter((i) => i !== id).map((i) => cluster.base(i))];

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  await cluster.waitLeader();
}, 90_000);
afterEach(() => clients.closeAll());
afterAll(async () => cluster?.stop());

test("the client's member is killed: session and watches resume on another member, every change once and in order", async () => {
  const leader = await cluster.waitLeader();
  const victim = [1, 2, 3].find((id) => id !== leader)!;
  const writerId = [1, 2, 3].find((id) => id !== leader && id !== victim)!;
  const zk = await clients.connect(startingAt(victim));
  const states: ClientState[] = [];
  zk.onStateChange((s) => states.push(s));
  const writer = clients.make(startingAt(writerId));
  await writer.create('/w', '0');
  const eph = await zk.create('/eph', 'alive', { mode: 'ephemeral' });
  const sid = zk.sessionId;

  const values: string[] = [];
  await zk.dataWatch('/w', (data) => void values.push(data ?? 'gone'));
  const kids: string[][] = [];
  await zk.childrenWatch('/w', (children) => void kids.push(children ?? []));
  const stream = zk.watch('/w', { recursive: true });
  await stream.ready;

  const N = 30;
  for (let i = 1; i <= N; i++) {
    if (i === 11) await cluster.kill(victim);
    await writer.set('/w', String(i));
  }
  await writer.create('/w/child', 'c');
  await waitFor(() => values.at(-1) === String(N), `the watcher to catch up (seen ${JSON.stringify(values.slice(-5))}, states ${states.join(',')})`, 20_000);
  expect(values).toEqual(Array.from({ length: N + 1 }, (_, i) => String(i)));

  const events: WatchEvent[] = [];
  for await (const e of stream) {
    events.push(e);
    if (e.type === 'NodeCreated') break;
  }
  expect(events.map((e) => ('data' in e ? e.data : e.type))).toEqual([...Array.from({ length: N }, (_, i) => String(i + 1)), 'c']);
  await waitFor(() => kids.at(-1)?.includes('child'), 'the children watch to see the child');
  expect(kids).toEqual([[], ['child']]);

  // The session moved with the client: same id, its ephemeral still there, never lost.
  expect(zk.sessionId).toBe(sid);
  expect(states).toContain('suspended');
  expect(states.at(-1)).toBe('connected');
  expect(states).not.toContain('lost');
  expect(await writer.exists(eph.path)).toMatchObject({ ephemeralOwner: sid });

  // A new client given the dead member first skips it.
  const late = await clients.connect(startingAt(victim));
  expect((await late.get('/w')).data).toBe(String(N));
  await late.create('/eph-late', '', { mode: 'ephemeral' });

  await cluster.startMember(victim);
  await cluster.waitLeader();
});

test('the Raft leader is killed under concurrent sequential creates: every create succeeds, none is applied twice', async () => {
  const leader = await cluster.waitLeader();
  let posts = 0;
  const writers = [0, 1, 2, 3].map(() =>
    clients.make(startingAt(leader), {
      fetch: (input, init) => {
        if (init?.method === 'POST') posts++;
        return fetch(input, init);
      },
    }),
  );
  await writers[0]!.create('/seq');
  posts = 0;
  const PER = 15;
  let done = 0;
  const killed = waitFor(() => done >= 12, 'some writes before the kill').then(() => cluster.kill(leader));
  await Promise.all(
    writers.map(async (zk, w) => {
      for (let k = 0; k < PER; k++) {
        const r = await zk.create('/seq/item-', `w${w}-${k}`, { mode: 'persistent_sequential' });
        expect(r.path).toMatch(/^\/seq\/item-\d{10}$/);
        done++;
      }
    }),
  );
  await killed;
  const alive = [1, 2, 3].filter((id) => id !== leader);
  const reader = clients.make(alive.map((id) => cluster.base(id)));
  const names = await reader.children('/seq');
  const data = await Promise.all(names.map(async (n) => (await reader.get(`/seq/${n}`)).data));
  const expected = [0, 1, 2, 3].flatMap((w) => Array.from({ length: PER }, (_, k) => `w${w}-${k}`));
  expect([...data].sort()).toEqual(expected.sort());
  // Retries happened (the leader died under the writers), and still nothing was created twice.
  expect(posts).toBeGreaterThan(4 * PER);
  // The writers read their own writes through whichever member they moved to.
  expect(await writers[0]!.exists(`/seq/${names.at(-1)}`)).not.toBeNull();
});
