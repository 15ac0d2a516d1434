/**
 * Watches on 3 real members: a persistent_recursive watcher on /w connected to each member sees,
 * for a seeded random write sequence sent through random members, exactly the events the
 * applied log implies (an independent model of the tree predicts each write's outcome and
 * events), in zxid order, without duplicates or gaps, identical on every member. Then kill -9
 * of the member a watcher is connected to, under writes: the watcher resumes on another member
 * from the last zxid it saw (events and heartbeats), over a WebSocket (fromZxid) and over SSE
 * (Last-Event-ID); the concatenated stream equals that of a watcher that stayed on a survivor.
 */
import { prng } from '../durability/helpers.js';
import { trySend } from '../support/http.js';
import { Client, SseStream, type Frame } from '../watch/helpers.js';
import { sleep, TestCluster } from './helpers.js';

const SEED = Number(process.env['ZGATE_WATCH_SEED'] ?? 0x3a7c41);
const HEARTBEAT_MS = 100;

let c: TestCluster;

beforeAll(async () => {
  c = await TestCluster.start(3, { args: ['--heartbeat-ms', String(HEARTBEAT_MS), '--request-timeout-ms', '4000', '--min-zxid-wait-ms', '5000'] });
  await c.waitLeader(30_000);
}, 90_000);

afterAll(async () => {
  await c?.stop();
});

interface Reply {
  status: number;
  body: unknown;
  zxid: number;
}

/** One HTTP request with a raw (text) or JSON body; the answer's Zgate-Zxid. status 0: no answer. */
async function req(id: number, method: string, path: string, body?: string | object, timeoutMs = 5000): Promise<Reply> {
  // A string is the znode's bytes; an object goes as JSON.
  const headers: Record<string, string> = typeof body === 'string' ? { 'content-type': 'application/octet-stream' } : {};
  const res = await trySend(c.base(id), method, path, { ...(body === undefined ? {} : { body, headers }), timeoutMs });
  if (res.status === 0) return { status: 0, body: undefined, zxid: NaN };
  return { status: res.status, body: res.body !== undefined ? res.body : res.text, zxid: Number(res.headers.get('zgate-zxid')) };
}

async function connect(id: number): Promise<Client> {
  const cl = await Client.connect(`ws://127.0.0.1:${c.httpPort.get(id)}/v1/ws`);
  cl.ws.on('error', () => undefined);
  return cl;
}

/** Watches `path` recursively with data from `from`, retrying while the member has not applied it. */
async function watchFrom(cl: Client, path: string, from: number): Promise<Frame> {
  for (let i = 0; ; i++) {
    const r = await cl.request({ op: 'watch', path, kind: 'persistent_recursive', withData: true, fromZxid: String(from) }, 10_000);
    if (r.type === 'watching') return r;
    if (i > 20 || (r.error as { code?: string } | undefined)?.code !== 'Unavailable') throw new Error(`watch from ${from} refused: ${JSON.stringify(r)}`);
    await sleep(100);
  }
}

/** Event frames of a client: checked in strictly increasing zxid order, each zxid in one frame. */
function orderedEvents(cl: Client, label: string): Frame[] {
  const zs = cl.eventFrames().map((f) => Number(f.zxid));
  for (let i = 1; i < zs.length; i++) if (!(zs[i]! > zs[i - 1]!)) throw new Error(`${label}: frames out of order or duplicated at ${i}: ${zs.slice(Math.max(0, i - 3), i + 3).join(',')}`);
  for (const f of cl.eventFrames()) if (f.type === 'events') for (const e of f.events as Frame[]) expect(e.zxid).toBe(f.zxid);
  return cl.events();
}

/** An event without its socket-local watchId, with its data (what every member must agree on). */
const norm = (e: Frame): string => JSON.stringify({ event: e.event, path: e.path, zxid: e.zxid, data: e.data, stat: e.stat });
const short = (e: Frame): string => `${String(e.event)} ${String(e.path)} @${String(e.zxid)}${e.data === undefined ? '' : ` =${String(e.data)}`}`;

/** The largest zxid any running member has committed; waits until all of them applied it. */
async function settle(among = c.running()): Promise<number> {
  const views = await Promise.all(among.map((id) => c.view(id)));
  const top = Math.max(...views.map((v) => Number(v?.commitIndex ?? 0)));
  await c.waitApplied(top, among);
  return top;
}

const REL = ['/a', '/a/b', '/a/c', '/a/b/d', '/e', '/e/f', '/g'];
const DATA = ['', 'x', 'yy', 'z1', 'q'];

type Model = Map<string, string>;
type Ev = { event: string; path: string; data: string | undefined };
type Op = { op: 'create' | 'set' | 'delete' | 'check'; path: string; data: string };

/** Applies `ops` to a copy of `m` as ZooKeeper would (atomically); undefined if one fails. */
function simulate(m: Model, ops: Op[]): { next: Model; events: { event: string; path: string }[] } | undefined {
  const next = new Map(m);
  const events: { event: string; path: string }[] = [];
  const parent = (p: string) => p.slice(0, p.lastIndexOf('/'));
  for (const o of ops) {
    switch (o.op) {
      case 'create':
        if (next.has(o.path) || !next.has(parent(o.path))) return undefined;
        next.set(o.path, o.data);
        events.push({ event: 'NodeCreated', path: o.path });
        break;
      case 'set':
        if (!next.has(o.path)) return undefined;
        next.set(o.path, o.data);
        events.push({ event: 'NodeDataChanged', path: o.path });
        break;
      case 'delete':
        if (!next.has(o.path) || [...next.keys()].some((k) => k.startsWith(o.path + '/'))) return undefined;
        next.delete(o.path);
        events.push({ event: 'NodeDeleted', path: o.path });
        break;
      case 'check':
        if (!next.has(o.path)) return undefined;
        break;
    }
  }
  return { next, events };
}

test('3 members, seeded random writes through random members: each member\'s recursive watcher sees exactly the applied log, identically', async () => {
  const rnd = prng(SEED);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const created = await req(1, 'PUT', '/v1/znodes/w', 'root');
  expect(created.status).toBe(201);
  const start = await settle();
  const watchers = await Promise.all(c.ids.map((id) => connect(id)));
  for (const w of watchers) await watchFrom(w, '/w', start);

  let model: Model = new Map([['/w', 'root']]);
  /** zxid → the events its write implies (only writes that change something). */
  const expected = new Map<number, Ev[]>();
  let last = start;
  const counts = { ok: 0, failed: 0, multi: 0 };
  for (let i = 0; i < 300; i++) {
    const member = pick(c.ids);
    const r = rnd();
    let ops: Op[];
    let answer: Reply;
    if (r < 0.7) {
      const o: Op = { op: pick(['create', 'create', 'set', 'delete'] as const), path: '/w' + pick(REL), data: pick(DATA) + String(i) };
      ops = [o];
      if (o.op === 'create') answer = await req(member, 'POST', `/v1/znodes${o.path}?mode=persistent`, o.data);
      else if (o.op === 'set') {
        // PUT is an upsert: a create when the znode is missing.
        if (!model.has(o.path)) o.op = 'create';
        answer = await req(member, 'PUT', `/v1/znodes${o.path}`, o.data);
      } else answer = await req(member, 'DELETE', `/v1/znodes${o.path}`);
    } else {
      ops = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, k) => ({ op: pick(['create', 'create', 'set', 'delete', 'check'] as const), path: '/w' + pick(REL), data: pick(DATA) + `${i}.${k}` }));
      answer = await req(member, 'POST', '/v1/txn', { ops: ops.map((o) => (o.op === 'create' || o.op === 'set' ? { op: o.op, path: o.path, data: o.data } : { op: o.op, path: o.path })) });
      counts.multi++;
    }
    const sim = simulate(model, ops);
    const label = `seed ${SEED} write ${i} ${JSON.stringify(ops)} through member ${member}`;
    expect([label, answer.status >= 200 && answer.status < 300]).toEqual([label, sim !== undefined]);
    expect([label, answer.zxid > last]).toEqual([label, true]);
    last = answer.zxid;
    if (sim === undefined) {
      counts.failed++;
      continue;
    }
    counts.ok++;
    model = sim.next;
    // withData: each znode as the end of the zxid left it (absent for NodeDeleted, or when gone).
    expected.set(
      answer.zxid,
      sim.events.map((e) => ({ ...e, data: e.event === 'NodeDeleted' ? undefined : sim.next.get(e.path) })),
    );
  }
  await c.waitApplied(last);
  await Promise.all(watchers.map((w) => w.sync()));

  const want = [...expected].flatMap(([z, evs]) => evs.map((e) => `${e.event} ${e.path} @${z}${e.data === undefined ? '' : ` =${e.data}`}`));
  const streams = watchers.map((w, k) => orderedEvents(w, `member ${c.ids[k]}`));
  for (const [k, s] of streams.entries()) {
    const label = `seed ${SEED}: watcher on member ${c.ids[k]}`;
    expect([label, s.map(short)]).toEqual([label, want]);
  }
  // Identical across members, to the stat.
  for (const s of streams.slice(1)) expect(s.map(norm)).toEqual(streams[0]!.map(norm));
  console.log(`watch, 3 members: ${counts.ok} writes with events (${counts.multi} multis in all), ${counts.failed} failed, ${want.length} events to each of 3 watchers; zxids ${start + 1}..${last}`);
  expect(counts.ok).toBeGreaterThan(100);
  await Promise.all(watchers.map((w) => w.close()));
}, 60_000);

interface Writer {
  oks: number[];
  stop(): Promise<void>;
}

/** One writer under /w/<tag>: creates, sets and deletes through the running members in turn. */
function startWriter(tag: string, members: () => number[]): Writer {
  const rnd = prng(SEED ^ tag.length);
  const oks: number[] = [];
  let running = true;
  const names: string[] = [];
  const loop = (async () => {
    let n = 0;
    let turn = 0;
    while (running) {
      const ids = members();
      const id = ids[turn++ % ids.length]!;
      const r = rnd();
      let a: Reply;
      if (names.length < 3 || r < 0.5) {
        const name = `n${n++}`;
        names.push(name);
        a = await req(id, 'PUT', `/v1/znodes/w/${tag}/${name}`, `v${n}`, 3000);
      } else if (r < 0.85) a = await req(id, 'PUT', `/v1/znodes/w/${tag}/${names[Math.floor(rnd() * names.length)]!}`, `s${n++}`, 3000);
      else a = await req(id, 'DELETE', `/v1/znodes/w/${tag}/${names.splice(Math.floor(rnd() * names.length), 1)[0]!}`, undefined, 3000);
      if (a.status >= 200 && a.status < 300) oks.push(a.zxid);
      else if (a.status === 0 || a.status === 503) await sleep(20);
    }
  })();
  return {
    oks,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Lets the writer go on until it has 20 writes acknowledged past `from` (a new leader may take a moment). */
async function afterKill(writer: Writer, from: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (writer.oks.filter((z) => z > from).length < 20) {
    if (Date.now() > deadline) throw new Error(`writes did not go on after the kill: ${writer.oks.filter((z) => z > from).length} acknowledged past ${from}\n${c.diagnostics()}`);
    await sleep(50);
  }
}

/** The highest zxid a client has seen: its resume point (events, heartbeats, its watching frame). */
function lastSeen(cl: Client): number {
  let z = 0;
  for (const f of cl.frames) if (f.type === 'event' || f.type === 'events' || f.type === 'heartbeat' || f.type === 'watching') z = Math.max(z, Number(f.zxid));
  return z;
}

test('kill -9 of the member a WebSocket watcher is on, under writes: it resumes on another with fromZxid, no gap, no duplicate', async () => {
  const leader = await c.waitLeader();
  // The watcher that moves is on the leader (the harder case: the new leader must take its resume point).
  const [stay, other] = c.ids.filter((id) => id !== leader) as [number, number];
  expect((await req(stay, 'PUT', '/v1/znodes/w/k', '')).status).toBe(201);
  const start = await settle();
  const stayer = await connect(stay);
  const mover = await connect(leader);
  await watchFrom(stayer, '/w', start);
  await watchFrom(mover, '/w', start);

  const writer = startWriter('k', () => c.running());
  await sleep(1500);
  await c.kill(leader);
  const before = mover.events();
  const from = lastSeen(mover);
  expect(from).toBeGreaterThan(start);
  const resumed = await connect(other);
  const w = await watchFrom(resumed, '/w', from);
  expect(w).toMatchObject({ zxid: String(from), resumed: true });
  await afterKill(writer, from);
  await writer.stop();
  const top = await settle();
  await Promise.all([stayer.sync(), resumed.sync()]);

  const stayed = orderedEvents(stayer, `stayer on ${stay}`);
  orderedEvents(resumed, `resumed on ${other}`);
  const concatenated = [...before, ...resumed.events()];
  const zs = concatenated.map((e) => Number(e.zxid));
  for (let i = 1; i < zs.length; i++) expect(zs[i]!).toBeGreaterThanOrEqual(zs[i - 1]!);
  expect(concatenated.map(norm)).toEqual(stayed.map(norm));
  // Every acknowledged write is in the stream.
  const inStream = new Set(stayed.map((e) => Number(e.zxid)));
  expect(writer.oks.filter((z) => !inStream.has(z))).toEqual([]);
  console.log(`watch resume (WebSocket): leader ${leader} killed; ${before.length} events before, resumed on ${other} from ${from}, ${resumed.events().length} after; ${writer.oks.length} writes acknowledged, up to zxid ${top}`);
  expect(before.length).toBeGreaterThan(5);
  expect(resumed.events().length).toBeGreaterThan(5);
  await Promise.all([stayer.close(), resumed.close()]);

  // The killed member back, caught up, for the next test.
  await c.startMember(leader);
  await c.waitApplied(top, c.ids, 30_000);
}, 60_000);

test('the same over SSE: the killed member\'s stream resumes on another with Last-Event-ID, no gap, no duplicate', async () => {
  // Every member running (the previous test restarts the one it killed, unless it failed first).
  for (const id of c.ids) if (!c.running().includes(id)) await c.startMember(id);
  const leader = await c.waitLeader();
  const followers = c.ids.filter((id) => id !== leader);
  const victim = followers[0]!;
  const stay = leader;
  const other = followers[1]!;
  expect((await req(stay, 'PUT', '/v1/znodes/w/s', '')).status).toBe(201);
  const start = await settle();
  const stayer = await connect(stay);
  await watchFrom(stayer, '/w', start);
  const url = (id: number) => `${c.base(id)}/v1/watch/w?kind=persistent_recursive&withData=true`;
  const first = await SseStream.open(url(victim), { 'last-event-id': String(start) });
  expect(first.status).toBe(200);

  const writer = startWriter('s', () => c.running());
  await sleep(1500);
  await c.kill(victim);
  const lastId = Number(first.lastEventId());
  expect(lastId).toBeGreaterThan(start);
  // Within one zxid only the last message carries an id: events past it are replayed.
  const before = first.events().filter((e) => Number(e.zxid) <= lastId);
  first.close();
  let second: SseStream;
  for (let i = 0; ; i++) {
    second = await SseStream.open(url(other), { 'last-event-id': String(lastId) });
    if (second.status === 200 || i > 20) break;
    second.close();
    await sleep(100);
  }
  expect(second.status).toBe(200);
  await afterKill(writer, lastId);
  await writer.stop();
  const top = await settle();
  await stayer.sync();
  await second.until(() => second.lastEventId() !== undefined && Number(second.lastEventId()) >= top, 10_000);

  const stayed = orderedEvents(stayer, `stayer on ${stay}`);
  const concatenated = [...before, ...second.events()];
  expect(concatenated.map(norm)).toEqual(stayed.map(norm));
  const inStream = new Set(stayed.map((e) => Number(e.zxid)));
  expect(writer.oks.filter((z) => !inStream.has(z))).toEqual([]);
  console.log(`watch resume (SSE): follower ${victim} killed; ${before.length} events before, resumed on ${other} from ${lastId}, ${second.events().length} after; up to zxid ${top}`);
  expect(before.length).toBeGreaterThan(5);
  expect(second.events().length).toBeGreaterThan(5);
  second.close();
  await stayer.close();
}, 60_000);
