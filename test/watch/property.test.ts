/**
 * Property (seeded fast-check): random write sequences with random watchers of every kind,
 * on three sockets, with fresh watches, watches resumed from random zxids, unwatches, and
 * sockets dropped and reconnected mid-stream that resume each watch from the last zxid they
 * saw. Each logical watcher's stream (all its sockets' segments concatenated) must be exactly
 * what the applied log implies: in zxid order, no duplicates, no gaps; each zxid's events for
 * a socket in one frame; withData as of each event's zxid.
 *
 * The expected streams come from an independent replay: the test's own member.onApply
 * listener records every applied (zxid, events), filtered here by the watch's semantics.
 */
import fc from 'fast-check';
import { Client, serve, utf8, type Frame, type Served } from './helpers.js';

type Kind = 'data' | 'exists' | 'children' | 'persistent' | 'persistent_recursive';
const KINDS: Kind[] = ['data', 'exists', 'children', 'persistent', 'persistent_recursive'];
const REL = ['', '/a', '/a/b', '/a/c', '/a/b/d', '/e'];

/** ZooKeeper's table (zookeeper-semantics.md 2.8), written out independently of src/watch. */
function expectedToFire(kind: Kind, watched: string, ev: { type: string; path: string }): boolean {
  const inSubtree = ev.path === watched || ev.path.startsWith(watched + '/');
  switch (kind) {
    case 'persistent_recursive':
      return inSubtree && ev.type !== 'NodeChildrenChanged';
    case 'persistent':
      return ev.path === watched;
    case 'children':
      return ev.path === watched && ['NodeChildrenChanged', 'NodeDeleted'].includes(ev.type);
    case 'data':
    case 'exists':
      return ev.path === watched && ['NodeCreated', 'NodeDeleted', 'NodeDataChanged'].includes(ev.type);
  }
}

type SubCmd = { t: 'create' | 'set' | 'delete' | 'check'; p: number; data: string };
type Cmd =
  | { t: 'create' | 'set' | 'delete' | 'deleteTree'; p: number; data: string }
  | { t: 'multi'; ops: SubCmd[] }
  | { t: 'watch'; client: number; p: number; kind: Kind; withData: boolean; back: number | null }
  | { t: 'unwatch'; pick: number }
  | { t: 'reconnect'; client: number };

const p = fc.integer({ min: 0, max: REL.length - 1 });
const data = fc.constantFrom('', 'x', 'yy', 'z1');
const subCmd: fc.Arbitrary<SubCmd> = fc.record({ t: fc.constantFrom('create' as const, 'set' as const, 'delete' as const, 'check' as const), p, data });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constantFrom('create' as const, 'set' as const, 'delete' as const, 'deleteTree' as const), p, data }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('multi' as const), ops: fc.array(subCmd, { minLength: 1, maxLength: 4 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('watch' as const),
      client: fc.integer({ min: 0, max: 2 }),
      p,
      kind: fc.constantFrom(...KINDS),
      withData: fc.boolean(),
      back: fc.option(fc.integer({ min: 0, max: 12 }), { freq: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unwatch' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reconnect' as const), client: fc.integer({ min: 0, max: 2 }) }) },
);

interface Segment {
  client: Client;
  watchId: string;
}
interface Logical {
  kind: Kind;
  path: string;
  withData: boolean;
  client: number;
  /** Events expected with zxid > start ... */
  start: number;
  /** ... and <= end once unwatched. */
  end: number;
  segments: Segment[];
  done: boolean;
}

let s: Served;
beforeAll(async () => {
  s = await serve({ config: { heartbeatMs: 0 } });
});
afterAll(async () => s.close());

let run = 0;

test('every watcher sees exactly the events the applied log implies, across resumes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmd, { minLength: 5, maxLength: 60 }), async (cmds) => {
      const prefix = `/run${++run}`;
      await s.write({ op: 'create', path: prefix, data: utf8(''), mode: 'persistent' });
      const runStart = s.member.appliedZxid;
      const clients = await Promise.all([0, 1, 2].map(() => Client.connect(s.wsUrl)));
      const everyClient: Client[] = [...clients];
      const watchers: Logical[] = [];
      const path = (i: number) => prefix + REL[i]!;
      try {
        for (const c of cmds) {
          switch (c.t) {
            case 'create':
              await s.write({ op: 'create', path: path(c.p), data: utf8(c.data), mode: 'persistent' });
              break;
            case 'set':
              await s.write({ op: 'set', path: path(c.p), data: utf8(c.data), version: -1 });
              break;
            case 'delete':
              if (c.p !== 0) await s.write({ op: 'delete', path: path(c.p), version: -1 });
              break;
            case 'deleteTree':
              if (c.p !== 0) await s.write({ op: 'deleteTree', path: path(c.p), version: -1, maxNodes: 100 });
              break;
            case 'multi':
              await s.write({
                op: 'multi',
                ops: c.ops
                  .filter((o) => !(o.p === 0 && o.t === 'delete'))
                  .map((o) =>
                    o.t === 'create'
                      ? { op: 'create', path: path(o.p), data: utf8(o.data), mode: 'persistent' }
                      : o.t === 'set'
                        ? { op: 'set', path: path(o.p), data: utf8(o.data), version: -1 }
                        : { op: o.t, path: path(o.p), version: -1 },
                  ),
              });
              break;
            case 'watch': {
              const applied = s.member.appliedZxid;
              const from = c.back === null ? undefined : Math.max(runStart, applied - c.back);
              const body: Record<string, unknown> = { op: 'watch', path: path(c.p), kind: c.kind, withData: c.withData };
              if (from !== undefined) body.fromZxid = String(from);
              const exists = s.member.tree.get(path(c.p)) !== undefined;
              const r = await clients[c.client]!.request(body);
              if (from === undefined && !exists && (c.kind === 'data' || c.kind === 'children')) {
                expect(r).toMatchObject({ type: 'error', error: { code: 'NoNode' } });
                break;
              }
              expect(r.type).toBe('watching');
              expect(Number(r.zxid)).toBe(from ?? applied);
              watchers.push({ kind: c.kind, path: path(c.p), withData: c.withData, client: c.client, start: Number(r.zxid), end: Infinity, segments: [{ client: clients[c.client]!, watchId: String(r.watchId) }], done: false });
              break;
            }
            case 'unwatch': {
              const live = watchers.filter((w) => !w.done);
              if (live.length === 0) break;
              const w = live[c.pick % live.length]!;
              const seg = w.segments[w.segments.length - 1]!;
              const r = await seg.client.request({ op: 'unwatch', watchId: seg.watchId });
              w.done = true;
              w.end = s.member.appliedZxid;
              // A one-shot watch that fired already is gone: NoWatcher. Anything else: unwatched.
              expect(['unwatched', 'error']).toContain(r.type);
              break;
            }
            case 'reconnect': {
              const old = clients[c.client]!;
              await old.close();
              const fresh = await Client.connect(s.wsUrl);
              clients[c.client] = fresh;
              everyClient.push(fresh);
              for (const w of watchers) {
                if (w.done || w.client !== c.client) continue;
                // The resume point: the last zxid this watch saw (or its registration zxid).
                const seen = w.segments.flatMap((sg) => sg.client.events(sg.watchId));
                const oneShot = w.kind === 'data' || w.kind === 'exists' || w.kind === 'children';
                if (oneShot && seen.length > 0) continue;
                const last = seen.length > 0 ? Number(seen[seen.length - 1]!.zxid) : w.start;
                const r = await fresh.request({ op: 'watch', path: w.path, kind: w.kind, withData: w.withData, fromZxid: String(last) });
                expect(r).toMatchObject({ type: 'watching', zxid: String(last), state: null });
                w.segments.push({ client: fresh, watchId: String(r.watchId) });
              }
              break;
            }
          }
        }
        await Promise.all(clients.map((c) => c.sync()));

        const log = s.applied.filter((a) => a.zxid > runStart - 1);
        for (const w of watchers) {
          const expected: { type: string; path: string; zxid: number; data: string | undefined }[] = [];
          for (const entry of log) {
            if (entry.zxid <= w.start || entry.zxid > w.end) continue;
            for (const ev of entry.events) if (expectedToFire(w.kind, w.path, ev)) expected.push({ ...ev, zxid: entry.zxid });
          }
          const oneShot = w.kind === 'data' || w.kind === 'exists' || w.kind === 'children';
          const want = oneShot ? expected.slice(0, 1) : expected;
          const got = w.segments.flatMap((sg) => sg.client.events(sg.watchId));
          const label = `${w.kind} ${w.path} from ${w.start}${w.end < Infinity ? ` to ${w.end}` : ''} over ${w.segments.length} socket(s)`;
          expect([label, got.map((e) => `${String(e.event)} ${String(e.path)} @${String(e.zxid)}`)]).toEqual([label, want.map((e) => `${e.type} ${e.path} @${e.zxid}`)]);
          if (w.withData) {
            for (let i = 0; i < got.length; i++) {
              const g = got[i]!;
              const e = want[i]!;
              if (e.data === undefined) expect(g.data).toBeUndefined();
              else expect([label, i, g.data, g.encoding]).toEqual([label, i, e.data, 'utf8']);
            }
          } else for (const g of got) expect(g.data).toBeUndefined();
        }
        // Per watch: frames in strictly increasing zxid order, so a zxid's events come in one
        // frame. (A socket's frames as a whole are ordered too, except that a resumed watch
        // replays older zxids after its socket's other watches saw newer ones.)
        for (const c of everyClient) {
          const byWatch = new Map<string, number[]>();
          for (const f of c.eventFrames()) {
            const evs = f.type === 'events' ? (f.events as Frame[]) : [f];
            const ids = new Set(evs.map((e) => String(e.watchId)));
            for (const e of evs) expect(e.zxid).toBe(f.zxid);
            for (const id of ids) byWatch.set(id, [...(byWatch.get(id) ?? []), Number(f.zxid)]);
          }
          for (const zs of byWatch.values()) for (let i = 1; i < zs.length; i++) expect(zs[i]!).toBeGreaterThan(zs[i - 1]!);
        }
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
      // Every socket closed: no watch left behind.
      const deadline = Date.now() + 2000;
      while (s.hub.registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(s.hub.registry.size).toBe(0);
    }),
    { seed: 0x5eed6, numRuns: 150, endOnFailure: true },
  );
});
