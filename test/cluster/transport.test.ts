/** The TCP peer transport in one process: framing, hello checks, chunked snapshots, reconnects. */
import { TcpTransport } from '../../src/cluster/transport-tcp.js';
import type { TransportHandler } from '../../src/cluster/transport.js';
import { encodeFrame, FrameDecoder } from '../../src/cluster/wire.js';
import type { ClusterLogger } from '../../src/cluster/logger.js';
import type { Message } from '../../src/raft/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function msg(from: number, to: number, index: number): Message {
  return { type: 'MsgHeartbeat', from, to, term: 3, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

interface Probe {
  handler: TransportHandler;
  raft: { m: Message; cfg?: Uint8Array }[];
  snaps: { to: number; ok: boolean }[];
  hellos: { from: number; http?: string }[];
}

function probe(): Probe {
  const p: Probe = { raft: [], snaps: [], hellos: [], handler: undefined as unknown as TransportHandler };
  p.handler = {
    raft: (m, cfg) => p.raft.push(cfg === undefined ? { m } : { m, cfg }),
    control: () => undefined,
    unreachable: () => undefined,
    linkDown: () => undefined,
    refused: () => undefined,
    snapshotStatus: (to, ok) => p.snaps.push({ to, ok }),
    hello: (from, info) => p.hellos.push({ from, ...(info.http !== undefined ? { http: info.http } : {}) }),
  };
  return p;
}

function logger(lines: string[]): ClusterLogger {
  const put = (o: object, m: string): void => {
    lines.push(`${m} ${JSON.stringify(o)}`);
  };
  return { debug: put, info: put, warn: put, error: put };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

const open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function transport(id: number, cluster: string | undefined, lines: string[], port = 0, chunk = 1 << 20): TcpTransport {
  const t = new TcpTransport({
    id,
    listen: { host: '127.0.0.1', port },
    clusterId: cluster,
    advertisedPeer: `127.0.0.1:${port}`,
    http: `http://member-${id}`,
    log: logger(lines),
    accepts: (from) => from >= 1 && from <= 3,
    adoptClusterId: async () => undefined,
    limits: { snapshotChunkBytes: chunk, backoffMinMs: 10, backoffMaxMs: 50 },
  });
  open.push(t);
  return t;
}

test('frames split anywhere decode the same; an oversized length is refused', () => {
  const frames = [encodeFrame({ t: 'raft', m: msg(1, 2, 7) }), encodeFrame({ t: 'fwd', rid: 5, data: new Uint8Array([1, 2, 3]) }), encodeFrame({ t: 'ping' })];
  const all = Buffer.concat(frames);
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new FrameDecoder(1 << 20);
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    expect(got).toHaveLength(3);
    expect((got[0] as { m: Message }).m.index).toBe(7);
    expect(Buffer.from((got[1] as { data: Uint8Array }).data)).toEqual(Buffer.from([1, 2, 3]));
  }
  const d = new FrameDecoder(16);
  expect(() => d.push(frames[0]!)).toThrow(/over the bound/);
});

test('messages and a chunked snapshot reach the peer; the sender hears the snapshot went out', async () => {
  const lines: string[] = [];
  const b = transport(2, 'c1', lines, 0, 64 * 1024);
  const pb = probe();
  await b.start(pb.handler);
  const a = transport(1, 'c1', lines, 0, 64 * 1024);
  const pa = probe();
  await a.start(pa.handler);
  a.setPeers(new Map([[2, `127.0.0.1:${b.port}`]]));
  await until(() => pb.hellos.length > 0);
  expect(pb.hellos[0]).toEqual({ from: 1, http: 'http://member-1' });
  for (let i = 1; i <= 50; i++) a.send(msg(1, 2, i));
  await until(() => pb.raft.length === 50);
  expect(pb.raft.map((r) => r.m.index)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

  const data = Buffer.alloc(300_000 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const snap: Message = { ...msg(1, 2, 0), type: 'MsgSnap', snapshot: { meta: { index: 99, term: 3, confState: { voters: [1, 2, 3] } }, data: new Uint8Array(0) } };
  a.sendSnapshot(snap, data, new Uint8Array([9, 9]));
  await until(() => pb.raft.length === 51 && pa.snaps.length === 1);
  const got = pb.raft[50]!;
  expect(got.m.type).toBe('MsgSnap');
  expect(got.m.snapshot!.meta.index).toBe(99);
  expect(Buffer.from(got.m.snapshot!.data).equals(data)).toBe(true);
  expect(Buffer.from(got.cfg!)).toEqual(Buffer.from([9, 9]));
  expect(pa.snaps).toEqual([{ to: 2, ok: true }]);
});

test('a wrong cluster id or an unknown member is refused, both sides say why; a restarted peer is reconnected', async () => {
  const lines: string[] = [];
  const b = transport(2, 'c1', lines);
  const pb = probe();
  await b.start(pb.handler);
  const port = b.port;
  const stranger = transport(1, 'other', lines);
  await stranger.start(probe().handler);
  stranger.setPeers(new Map([[2, `127.0.0.1:${port}`]]));
  await until(() => lines.some((l) => /peer refused our connection/.test(l)));
  expect(lines.join('\n')).toMatch(/refused a peer connection: member 1 belongs to cluster other, this member to cluster c1/);
  stranger.send(msg(1, 2, 1));
  await sleep(100);
  expect(pb.raft).toHaveLength(0);

  const unknown = transport(7, 'c1', lines);
  await unknown.start(probe().handler);
  unknown.setPeers(new Map([[2, `127.0.0.1:${port}`]]));
  await until(() => lines.some((l) => /member 7 is not a member of this cluster/.test(l)));

  // A good peer; then the listener goes away and comes back on the same port.
  const a = transport(3, 'c1', lines);
  await a.start(probe().handler);
  a.setPeers(new Map([[2, `127.0.0.1:${port}`]]));
  await until(() => pb.hellos.some((h) => h.from === 3));
  await b.close();
  const b2 = transport(2, 'c1', lines, port);
  const pb2 = probe();
  await b2.start(pb2.handler);
  await until(() => pb2.hellos.some((h) => h.from === 3), 5000);
  a.send(msg(3, 2, 42));
  await until(() => pb2.raft.some((r) => r.m.index === 42));
  expect(a.links()).toEqual([expect.objectContaining({ id: 2, connected: true })]);
});
