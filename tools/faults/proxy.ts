/**
 * A fault-injecting TCP proxy in front of one member's peer port, controllable per directed
 * link (from → to).
 *
 * Members dial each other at the addresses of --peers; the harness points those at proxies and
 * starts each member with --peer-port = its real port. Peer connections carry frames one way
 * (src/cluster/wire.ts: a u32 big-endian length, then msgpack), and every connection starts
 * with the dialer's hello naming `from`, so one listener per destination tells the links apart
 * by reading the hello. The proxy then works on whole frames, so a drop never corrupts the
 * stream (it is a lost message, as on a real network):
 *
 * - pass: frames go through at once;
 * - cut: every frame from that sender is dropped (a blackhole; TCP stays up, as with a
 *   firewall DROP); one-way cuts are one directed link;
 * - delay (+ jitter) ms: frames are held, order kept;
 * - drop probability: each frame is dropped with it.
 *
 * The few bytes a listener answers (a refusal) go back untouched.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { decode } from '../../src/util/codec.js';
import { Prng } from '../../src/util/prng.js';

export interface LinkState {
  cut: boolean;
  delayMs: number;
  jitterMs: number;
  dropProbability: number;
}

export const PASS: Readonly<LinkState> = Object.freeze({ cut: false, delayMs: 0, jitterMs: 0, dropProbability: 0 });

export interface LinkStats {
  framesPassed: number;
  framesDropped: number;
  bytesPassed: number;
  connections: number;
}

/** The largest frame the proxy parses; a larger length prefix means garbage: the connection is dropped. */
const MAX_FRAME = 128 * 1024 * 1024;
const HELLO_LIMIT = 64 * 1024;

interface Conn {
  from: number;
  down: Socket;
  up: Socket;
}

export class PeerProxy {
  private server: Server | undefined;
  private readonly links = new Map<number, LinkState>();
  private readonly stats = new Map<number, LinkStats>();
  private readonly conns = new Set<Conn>();
  private readonly sockets = new Set<Socket>();
  private closed = false;

  constructor(
    /** The member behind this proxy. */
    readonly to: number,
    readonly listenPort: number,
    /** Where the member really listens for peers. */
    readonly upstreamPort: number,
    private readonly rng: Prng = new Prng(to),
    readonly host = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    if (this.server !== undefined || this.closed) return;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.listenPort, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * The member behind is down (killed): stop listening, so that dialers get ECONNREFUSED as
   * they would from a dead process, instead of a connection the proxy accepts and then drops
   * (which a dialer counts as a success and retries at once). start() listens again.
   */
  async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // The listening socket closes at once; close()'s callback would wait for open connections.
    if (server !== undefined) server.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  link(from: number): LinkState {
    return { ...(this.links.get(from) ?? PASS) };
  }

  setLink(from: number, state: Partial<LinkState>): void {
    this.links.set(from, { ...this.link(from), ...state });
  }

  /** Every link to this member back to pass. */
  healAll(): void {
    this.links.clear();
  }

  linkStats(from: number): LinkStats {
    let s = this.stats.get(from);
    if (s === undefined) this.stats.set(from, (s = { framesPassed: 0, framesDropped: 0, bytesPassed: 0, connections: 0 }));
    return s;
  }

  allStats(): Map<number, LinkStats> {
    return new Map(this.stats);
  }

  /** Drops the open connections from `from` (all senders when undefined): the members reconnect. */
  reset(from?: number): void {
    for (const c of this.conns) {
      if (from === undefined || c.from === from) {
        c.down.destroy();
        c.up.destroy();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await this.stopListening();
  }

  private accept(down: Socket): void {
    if (this.closed) {
      down.destroy();
      return;
    }
    this.sockets.add(down);
    down.setNoDelay(true);
    down.on('error', () => undefined);
    down.on('close', () => this.sockets.delete(down));
    let buf: Buffer = Buffer.alloc(0);
    const onHello = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const len = buf.readUInt32BE(0);
      if (len > HELLO_LIMIT) {
        down.destroy();
        return;
      }
      if (buf.length < 4 + len) return;
      let from = 0;
      try {
        const hello = decode(buf.subarray(4, 4 + len)) as { t?: unknown; from?: unknown };
        if (hello !== null && typeof hello === 'object' && hello.t === 'hello' && typeof hello.from === 'number') from = hello.from;
      } catch {
        // not a hello: pass it on as from 0 (the member refuses it)
      }
      down.off('data', onHello);
      down.pause();
      this.pipe(from, down, buf);
    };
    down.on('data', onHello);
  }

  private pipe(from: number, down: Socket, first: Buffer): void {
    const up = connect({ host: this.host, port: this.upstreamPort });
    this.sockets.add(up);
    up.setNoDelay(true);
    const conn: Conn = { from, down, up };
    this.conns.add(conn);
    this.linkStats(from).connections++;
    const end = (): void => {
      this.conns.delete(conn);
      down.destroy();
      up.destroy();
    };
    up.on('error', end);
    up.on('close', () => {
      this.sockets.delete(up);
      end();
    });
    down.on('error', end);
    down.on('close', end);
    // Answers (a refusal) go back as they are.
    up.on('data', (b: Buffer) => {
      if (!down.destroyed) down.write(b);
    });

    const relay = new FrameRelay(down, up, first, () => this.links.get(from) ?? PASS, this.linkStats(from), this.rng, end);
    up.once('connect', () => {
      relay.drain();
      down.on('data', (chunk: Buffer) => relay.push(chunk));
      down.resume();
    });
    up.once('close', () => relay.stop());
  }
}

/**
 * The sender → member direction of one proxied connection: the stream cut into whole frames,
 * each dropped, written at once, or held for its delay (order kept).
 */
class FrameRelay {
  private buf: Buffer;
  private lastRelease = 0;
  /** Bytes held in the queue. */
  private pending = 0;
  private readonly queue: { at: number; frame: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private hello = true;

  constructor(
    private readonly down: Socket,
    private readonly up: Socket,
    first: Buffer,
    private readonly state: () => Readonly<LinkState>,
    private readonly stats: LinkStats,
    private readonly rng: Prng,
    /** Ends the connection (a length prefix past MAX_FRAME). */
    private readonly end: () => void,
  ) {
    this.buf = first;
  }

  /** Bytes from the sender. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.drain();
  }

  /** Passes on every whole frame buffered. */
  drain(): void {
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len > MAX_FRAME) {
        this.end();
        return;
      }
      if (this.buf.length < 4 + len) break;
      this.frame(Buffer.from(this.buf.subarray(0, 4 + len)));
      this.buf = this.buf.subarray(4 + len);
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private frame(f: Buffer): void {
    const st = this.state();
    const stats = this.stats;
    // The hello is lost only to a cut (a random drop of it would just be a refused connection).
    const isHello = this.hello;
    this.hello = false;
    if (st.cut || (!isHello && st.dropProbability > 0 && this.rng.float() < st.dropProbability)) {
      if (!isHello) stats.framesDropped++;
      return;
    }
    if (!isHello) {
      stats.framesPassed++;
      stats.bytesPassed += f.length;
    }
    const delay = st.delayMs + (st.jitterMs > 0 ? this.rng.float() * st.jitterMs : 0);
    if (delay <= 0 && this.queue.length === 0) {
      if (!this.up.write(f)) {
        this.down.pause();
        this.up.once('drain', () => this.down.resume());
      }
      return;
    }
    this.hold(f, delay);
  }

  /** Queues `f` for `delay` ms from now, after every frame held before it. */
  private hold(f: Buffer, delay: number): void {
    const at = Math.max(this.lastRelease, Date.now() + delay);
    this.lastRelease = at;
    this.queue.push({ at, frame: f });
    this.pending += f.length;
    if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), Math.max(1, at - Date.now()));
    // Bound what delays may hold: past 64 MiB the sender waits.
    if (this.pending > 64 * 1024 * 1024) {
      this.down.pause();
      const again = setInterval(() => {
        if (this.pending < 16 * 1024 * 1024 || this.down.destroyed) {
          clearInterval(again);
          this.down.resume();
        }
      }, 10);
    }
  }

  private flush(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { frame } = this.queue.shift()!;
      this.pending -= frame.length;
      if (!this.up.destroyed) this.up.write(frame);
    }
    if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[0]!.at - now));
  }
}
