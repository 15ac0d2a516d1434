/**
 * The fault-injecting peer proxy on its own: it tells senders apart by their hello, passes,
 * cuts (one link, not the others), drops and delays whole frames (never a partial frame),
 * and refuses connections while its member is down.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from '../../src/cluster/wire.js';
import { freePorts } from '../../tools/faults/cluster.js';
import { PeerProxy } from '../../tools/faults/proxy.js';
import { Prng } from '../../src/util/prng.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Received {
  from: number;
  frames: { t: string; rid?: number; at: number }[];
}

describe('PeerProxy', () => {
  let upstream: Server;
  let proxy: PeerProxy;
  let proxyPort: number;
  const received: Received[] = [];
  const open: Socket[] = [];

  beforeAll(async () => {
    const [up, px] = await freePorts(2);
    proxyPort = px!;
    upstream = createServer((s) => {
      const rec: Received = { from: 0, frames: [] };
      received.push(rec);
      const dec = new FrameDecoder(1 << 20);
      s.on('data', (b: Buffer) => {
        for (const v of dec.push(b)) {
          const f = v as { t: string; from?: number; rid?: number };
          if (f.t === 'hello') rec.from = f.from!;
          else rec.frames.push({ t: f.t, ...(f.rid !== undefined ? { rid: f.rid } : {}), at: Date.now() });
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => upstream.listen(up, '127.0.0.1', () => r()));
    proxy = new PeerProxy(9, px!, up!, new Prng(1));
    await proxy.start();
  });

  afterAll(async () => {
    for (const s of open) s.destroy();
    await proxy.close();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  async function dial(from: number): Promise<Socket> {
    const s = connect({ host: '127.0.0.1', port: proxyPort });
    open.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    s.write(encodeFrame({ t: 'hello', v: 1, cluster: 'c', from, to: 9, peer: 'x:1', http: 'http://x', inc: 'i' } as unknown as Parameters<typeof encodeFrame>[0]));
    return s;
  }

  const send = (s: Socket, rid: number): void => {
    s.write(encodeFrame({ t: 'fwd', rid, data: new Uint8Array(rid % 7) }));
  };

  async function until(cond: () => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await sleep(10);
    }
  }

  const from = (id: number): Received => received.find((r) => r.from === id)!;

  test('passes frames, tells links apart, cuts one link only, heals', async () => {
    const a = await dial(1);
    const b = await dial(2);
    // Frames split across writes still arrive whole.
    const f = encodeFrame({ t: 'fwd', rid: 1, data: new Uint8Array(100) });
    a.write(f.subarray(0, 3));
    await sleep(20);
    a.write(f.subarray(3));
    send(b, 1);
    await until(() => from(1)?.frames.length === 1 && from(2)?.frames.length === 1);

    proxy.setLink(1, { cut: true });
    for (let i = 2; i <= 5; i++) {
      send(a, i);
      send(b, i);
    }
    await until(() => from(2).frames.length === 5);
    await sleep(100);
    expect(from(1).frames.length).toBe(1);
    expect(proxy.linkStats(1).framesDropped).toBe(4);

    proxy.healAll();
    send(a, 6);
    await until(() => from(1).frames.length === 2);
    expect(from(1).frames.map((x) => x.rid)).toEqual([1, 6]);
  });

  test('drops by probability and delays in order', async () => {
    const c = await dial(3);
    proxy.setLink(3, { dropProbability: 0.5 });
    for (let i = 1; i <= 200; i++) send(c, i);
    await until(() => proxy.linkStats(3).framesPassed + proxy.linkStats(3).framesDropped === 200);
    const passed = proxy.linkStats(3).framesPassed;
    expect(passed).toBeGreaterThan(50);
    expect(passed).toBeLessThan(150);
    await until(() => from(3)?.frames.length === passed);
    const rids = from(3).frames.map((x) => x.rid!);
    expect([...rids].sort((x, y) => x - y)).toEqual(rids);

    proxy.setLink(3, { dropProbability: 0, delayMs: 150, jitterMs: 50 });
    const sent = Date.now();
    for (let i = 201; i <= 210; i++) send(c, i);
    await until(() => from(3).frames.length === passed + 10);
    const late = from(3).frames.slice(passed);
    expect(late[0]!.at - sent).toBeGreaterThanOrEqual(140);
    expect(late.map((x) => x.rid)).toEqual([201, 202, 203, 204, 205, 206, 207, 208, 209, 210]);
    proxy.healAll();
  });

  test('while the member is down, dialers are refused; then accepted again', async () => {
    await proxy.stopListening();
    await expect(dial(4)).rejects.toThrow(/ECONNREFUSED/);
    await proxy.start();
    const d = await dial(4);
    send(d, 1);
    await until(() => from(4)?.frames.length === 1);
  });
});
