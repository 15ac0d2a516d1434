/**
 * The client on a real 3-member cluster (one cluster for the file: starting one is the slow
 * part), with several clients contending, spread over the members:
 *
 * - Recipes: the lock's mutual exclusion and FIFO hand-over, each waiter watching only its
 *   predecessor, a holder process killed with SIGKILL (the next waiter gets the lock once the
 *   holder's session expires), leader election with the leader's process killed and then the
 *   cluster's own Raft leader killed under a running leader, the barrier, the counter, the queue.
 * - Failover and resume: a client whose member is killed moves its session and watches to
 *   another member and resumes them by zxid (every change arrives once, in order; its
 *   ephemeral znode stays); a new client skips a dead member; when the Raft leader is killed
 *   under a stream of writes, every write succeeds once: retries on other members carry the
 *   same Idempotency-Key, so none is applied twice.
 */
import { TestCluster } from '../cluster/helpers.js';
import { Barrier, Counter, LeaderElection, Lock, Queue, type ClientState, type WatchEvent, type ZgateClient } from '../../src/client/index.js';
import { Clients, metricSum, sleep, spawnContender, waitFor, type Contender } from './helpers.js';

jest.setTimeout(60_000);

let cluster: TestCluster;
let urls: string[];
const clients = new Clients();
const contenders: Contender[] = [];

/** The member URLs starting at member i (mod 3): clients spread over the cluster. */
const from = (i: number): string[] => [...urls.slice(i % 3), ...urls.slice(0, i % 3)];
/** Member `id`'s URL first, then the others. */
const startingAt = (id: number): string[] => [cluster.base(id), ...[1, 2, 3].filter((i) => i !== id).map((i) => cluster.base(i))];

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  await cluster.waitLeader();
  urls = [1, 2, 3].map((id) => cluster.base(id));
}, 90_000);
afterEach(async () => {
  await Promise.all(contenders.splice(0).map((c) => c.kill()));
  await clients.closeAll();
});
afterAll(async () => cluster?.stop());

/** Settles to 'pending' when `p` has not settled within `ms` (for "still waiting" checks). */
async function stillPending(p: Promise<unknown>, ms = 300): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([p, sleep(ms).then(() => marker)])) === marker;
}

describe('Lock', () => {
  test('waiters queue in order, each watching only its predecessor, and get the lock one by one', async () => {
    // Children listings per client: a waiter looks again only when its own predecessor goes.
    const listings = [0, 0, 0, 0];
    const zks = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        clients.connect(from(i), {
          fetch: (input, init) => {
            if (String(input).includes('children=true')) listings[i]!++;
            return fetch(input, init);
          },
        }),
      ),
    );
    const locks = zks.map((zk, i) => new Lock(zk, '/locks/fifo', `c${i}`));
    expect(await locks[0]!.acquire()).toBe(true);
    expect(locks[0]!.isAcquired).toBe(true);
    const acquired: number[] = [];
    const waits = new Map<number, Promise<boolean>>();
    // c2 will give up waiting (its acquire is aborted) while c3 waits behind it.
    const give = new AbortController();
    for (const i of [1, 2, 3]) {
      waits.set(i, locks[i]!.acquire(i === 2 ? { signal: give.signal } : undefined).then((ok) => (ok && acquired.push(i), ok)));
      await waitFor(() => locks[i]!.nodePath, `c${i} to queue`);
    }
    // One watch per waiter, on its predecessor, and no more.
    await waitFor(async () => (await metricSum(urls, 'zgate_watches')) === 3, 'three waiters to watch their predecessors');
    expect(await locks[3]!.contenders()).toEqual(['c0', 'c1', 'c2', 'c3']);

    give.abort();
    expect(await waits.get(2)).toBe(false);
    expect(locks[2]!.nodePath).toBeUndefined();
    // c3's predecessor left: it looks again and now watches c1; it does not hold the lock.
    await waitFor(async () => (await metricSum(urls, 'zgate_watches')) === 2, 'c3 to watch c1 instead');
    expect(await locks[3]!.contenders()).toEqual(['c0', 'c1', 'c3']);
    expect(await stillPending(waits.get(3)!)).toBe(true);

    const before = [...listings];
    await locks[0]!.release();
    expect(await waits.get(1)).toBe(true);
    expect(acquired).toEqual([1]);
    // Only c1, whose predecessor left, looked at the children again; c3 slept on.
    expect(listings[3]).toBe(before[3]);
    expect(await stillPending(waits.get(3)!)).toBe(true);

    await locks[1]!.release();
    expect(await waits.get(3)).toBe(true);
    expect(acquired).toEqual([1, 3]);
    expect(locks.map((l) => l.isAcquired)).toEqual([false, false, false, true]);
    await locks[3]!.release();
    expect(await zks[3]!.children('/locks/fifo')).toEqual([]);
  });

  test('mutual exclusion: four clients on three members increment a plain znode under the lock without losing one', async () => {
    const zks = await Promise.all([0, 1, 2, 3].map((i) => clients.connect(from(i))));
    await zks[0]!.create('/locks/count', '0', { makeParents: true });
    let inside = 0;
    let most = 0;
    await Promise.all(
      zks.map(async (zk, i) => {
        const lock = new Lock(zk, '/locks/mutex', `w${i}`);
        for (let k = 0; k < 3; k++) {
          expect(await lock.acquire({ timeoutMs: 30_000 })).toBe(true);
          inside++;
          most = Math.max(most, inside);
          // A read-modify-write with no version: only the lock keeps it from losing updates.
          const v = Number((await zk.get('/locks/count')).data);
          await zk.set('/locks/count', String(v + 1));
          inside--;
          await lock.release();
        }
      }),
    );
    expect(most).toBe(1);
    // Other clients wrote through other members: sync first (ZooKeeper's sync) to read them all.
    await zks[0]!.sync();
    expect((await zks[0]!.get('/locks/count')).data).toBe('12');
  });

  test("a holder whose process is killed: the next waiter gets the lock when the holder's session expires", async () => {
    const timeoutMs = 2000;
    const holder = spawnContender(['lock', '/locks/k', 'holder', String(timeoutMs), ...from(1)]);
    contenders.push(holder);
    await holder.line(/^acquired \/locks\/k\/lock-/);
    const zk = await clients.connect(from(2));
    const lock = new Lock(zk, '/locks/k', 'waiter');
    let acquiredAt = 0;
    const waiting = lock.acquire().then((ok) => ((acquiredAt = Date.now()), ok));
    await waitFor(() => lock.nodePath, 'the waiter to queue');
    expect(await lock.contenders()).toEqual(['holder', 'waiter']);
    expect(await stillPending(waiting)).toBe(true);

    const killedAt = Date.now();
    await holder.kill();
    expect(await waiting).toBe(true);
    const waited = acquiredAt - killedAt;
    // The session had at least two thirds of its timeout left (the member renews it every third).
    expect(waited).toBeGreaterThanOrEqual(timeoutMs / 2);
    expect(waited).toBeLessThan(timeoutMs + 10_000);
    expect(await lock.contenders()).toEqual(['waiter']);
    await lock.release();
  });
});

describe('Barrier, Counter, Queue', () => {
  test('Barrier: waiters on every member pass only once it is removed; a wait with a timeout answers false', async () => {
    const zks = await Promise.all([0, 1, 2].map((i) => clients.connect(from(i))));
    const barrier = new Barrier(zks[0]!, '/barriers/b');
    expect(await barrier.create()).toBe(true);
    expect(await barrier.create()).toBe(false);
    // Waiters on other members must see the barrier before they wait on it.
    await Promise.all(zks.map((zk) => zk.sync()));
    const waits = zks.map((zk) => new Barrier(zk, '/barriers/b').wait());
    expect(await new Barrier(zks[1]!, '/barriers/b').wait({ timeoutMs: 200 })).toBe(false);
    for (const w of waits) expect(await stillPending(w, 100)).toBe(true);
    expect(await barrier.remove()).toBe(true);
    expect(await Promise.all(waits)).toEqual([true, true, true]);
    expect(await barrier.remove()).toBe(false);
    expect(await barrier.wait({ timeoutMs: 1000 })).toBe(true);
  });

  test('Counter: concurrent adds from four clients; every add answers a distinct value and none is lost', async () => {
    const zks = await Promise.all([0, 1, 2, 3].map((i) => clients.connect(from(i))));
    const values: number[] = [];
    await Promise.all(
      zks.map(async (zk) => {
        const counter = new Counter(zk, '/counters/c');
        for (let k = 0; k < 10; k++) values.push(await counter.add(1));
      }),
    );
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const c = new Counter(zks[0]!, '/counters/c');
    await zks[0]!.sync();
    expect(await c.value()).toBe(40);
    expect(await c.add(-5)).toBe(35);
    expect(await new Counter(zks[1]!, '/counters/none', { initial: 7 }).value()).toBe(7);
  });

  test('Queue: two producers, three consumers; each item is taken exactly once; take() waits for an item', async () => {
    const zks = await Promise.all([0, 1, 2, 3, 4].map((i) => clients.connect(from(i))));
    const q = (zk: ZgateClient): Queue => new Queue(zk, '/queues/q');
    expect(await q(zks[0]!).get()).toBeNull();
    const taken: string[] = [];
    const consumers = [2, 3, 4].map(async (i) => {
      for (;;) {
        const item = await q(zks[i]!).take({ timeoutMs: 30_000 });
        if (item === null || item === 'stop') return;
        taken.push(item);
      }
    });
    await Promise.all(
      [0, 1].map(async (p) => {
        for (let k = 0; k < 10; k++) await q(zks[p]!).put(`p${p}-${k}`);
      }),
    );
    await waitFor(() => taken.length === 20, `all 20 items to be taken (taken ${taken.length})`);
    for (let k = 0; k < 3; k++) await q(zks[0]!).put('stop');
    await Promise.all(consumers);
    const expected = [0, 1].flatMap((p) => Array.from({ length: 10 }, (_, k) => `p${p}-${k}`));
    expect([...taken].sort()).toEqual(expected.sort());
    await zks[0]!.sync();
    expect(await q(zks[0]!).size()).toBe(0);
    // FIFO for one consumer: the oldest first.
    await q(zks[0]!).put('first');
    await q(zks[0]!).put('second');
    await zks[1]!.sync();
    expect(await q(zks[1]!).get()).toBe('first');
    expect(await q(zks[1]!).get()).toBe('second');
  });
});

describe('LeaderElection', () => {
  test("the leader's process is killed: the next contender leads; then a Raft leader kill leaves the running leader in place", async () => {
    const leaderA = spawnContender(['election', '/elections/e', 'A', '2000', ...from(0)]);
    contenders.push(leaderA);
    await leaderA.line(/^leader A$/);

    const zkB = await clients.connect(from(1));
    const zkC = await clients.connect(from(2));
    const b = new LeaderElection(zkB, '/elections/e', 'B');
    let signalB: AbortSignal | undefined;
    let stepDownB!: () => void;
    const ranB = b.run((signal) => {
      signalB = signal;
      return new Promise<void>((r) => (stepDownB = r));
    });
    await waitFor(async () => (await b.contenders()).length === 2, 'B to stand');
    expect(await b.contenders()).toEqual(['A', 'B']);
    expect(b.isLeader).toBe(false);

    await leaderA.kill();
    await waitFor(() => signalB, 'B to be elected after A dies', 20_000);
    expect(b.isLeader).toBe(true);
    expect(await b.contenders()).toEqual(['B']);

    const c = new LeaderElection(zkC, '/elections/e', 'C');
    let cLed = false;
    const ranC = c.run(() => {
      cLed = true;
    });
    await waitFor(async () => (await c.contenders()).length === 2, 'C to stand');

    // The cluster's own leader dies: B's session outlives the leader change, so B keeps leading.
    const raftLeader = await cluster.waitLeader();
    await cluster.kill(raftLeader);
    const alive = [1, 2, 3].filter((id) => id !== raftLeader);
    await cluster.waitLeader(20_000, alive);
    const survivor = clients.make(alive.map((id) => cluster.base(id)));
    const written = await survivor.create('/elections/probe', 'after the leader change');
    expect(written.path).toBe('/elections/probe');
    expect(await new LeaderElection(survivor, '/elections/e').contenders()).toEqual(['B', 'C']);
    expect(signalB!.aborted).toBe(false);
    expect(b.isLeader).toBe(true);
    expect(cLed).toBe(false);

    stepDownB();
    expect(await ranB).toBe(true);
    expect(await ranC).toBe(true);
    expect(cLed).toBe(true);
    await survivor.sync();
    expect(await new LeaderElection(survivor, '/elections/e').contenders()).toEqual([]);

    await cluster.startMember(raftLeader);
    await cluster.waitLeader();
  });
});

describe('failover and resume', () => {
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
    await late.sync();
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
    const last: string[] = [];
    const killed = waitFor(() => done >= 12, 'some writes before the kill').then(() => cluster.kill(leader));
    await Promise.all(
      writers.map(async (zk, w) => {
        for (let k = 0; k < PER; k++) {
          const r = await zk.create('/seq/item-', `w${w}-${k}`, { mode: 'persistent_sequential' });
          expect(r.path).toMatch(/^\/seq\/item-\d{10}$/);
          last[w] = r.path;
          done++;
        }
      }),
    );
    await killed;
    const alive = [1, 2, 3].filter((id) => id !== leader);
    const reader = clients.make(alive.map((id) => cluster.base(id)));
    await reader.sync();
    const names = await reader.children('/seq');
    const data = await Promise.all(names.map(async (n) => (await reader.get(`/seq/${n}`)).data));
    const expected = [0, 1, 2, 3].flatMap((w) => Array.from({ length: PER }, (_, k) => `w${w}-${k}`));
    expect([...data].sort()).toEqual(expected.sort());
    // Retries happened (the leader died under the writers), and still nothing was created twice.
    expect(posts).toBeGreaterThan(4 * PER);
    // Each writer reads its own writes through whichever member it moved to.
    for (const [w, zk] of writers.entries()) expect(await zk.exists(last[w]!)).not.toBeNull();
  });
});
