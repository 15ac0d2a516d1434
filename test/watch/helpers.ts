/** A real member behind the real app on a loopback port, and a small WebSocket/SSE client for tests. */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import type { Op, TreeEvent } from '../../src/core/types.js';
import { LocalLog } from '../../src/log/local-log.js';
import { Member } from '../../src/node/member.js';
import type { WatchHub } from '../../src/watch/index.js';
import { assembleApp, type ServeOptions } from '../api/helpers.js';

export interface Served {
  app: FastifyInstance;
  member: Member;
  hub: WatchHub;
  port: number;
  base: string;
  wsUrl: string;
  /**
   * Every applied (zxid, events), recorded by an independent listener, for expected streams;
   * with each event's znode data (utf8) as the zxid left it (undefined for NodeDeleted or gone).
   */
  applied: { zxid: number; events: (TreeEvent & { data: string | undefined })[] }[];
  /** performance.now() when the test's listener (registered before the hub's) last ran. */
  appliedAt: number;
  write(op: Op): Promise<number>;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions = {}, port = 0): Promise<Served> {
  const member = new Member(new LocalLog(), {});
  const applied: Served['applied'] = [];
  const text = (d: Uint8Array | undefined) => (d === undefined ? undefined : Buffer.from(d).toString('utf8'));
  member.onApply((zxid, events) => {
    applied.push({ zxid, events: events.map((e) => ({ ...e, data: e.type === 'NodeDeleted' ? undefined : text(member.tree.get(e.path)?.data) })) });
    served.appliedAt = performance.now();
  });
  const { app, parts } = await assembleApp(member, opts);
  await app.listen({ host: '127.0.0.1', port });
  const p = (app.server.address() as AddressInfo).port;
  const served: Served = {
    app,
    member,
    hub: parts.hub,
    port: p,
    base: `http://127.0.0.1:${p}`,
    wsUrl: `ws://127.0.0.1:${p}/v1/ws`,
    applied,
    appliedAt: 0,
    async write(op: Op): Promise<number> {
      const a = await member.write(op);
      return a.zxid;
    },
    async close() {
      await app.close();
      await member.close();
    },
  };
  return served;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export type Frame = Record<string, unknown> & { type: string };

/** A WebSocket client that keeps every frame and answers requests by id. */
export class Client {
  readonly frames: Frame[] = [];
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] = [];
  private nextId = 1;
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      this.frames.push(f);
      const idx = this.frames.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (idx >= w.from && w.pred(f)) {
          w.resolve(f);
          return false;
        }
        return true;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve((this.closeCode = code))));
  }

  static async connect(url: string, opts?: WebSocket.ClientOptions): Promise<Client> {
    const ws = new WebSocket(url, opts);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Client(ws);
  }

  /** Waits for a frame (already received or to come) matching `pred`, at or after frame index `from`. */
  next(pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, from };
      this.waiters.push(w);
      setTimeout(() => {
        if (this.waiters.includes(w)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames.slice(-10))}`));
        }
      }, timeoutMs).unref();
    });
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Sends a request with a fresh id and resolves with its reply. */
  async request(body: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const id = this.nextId++;
    const reply = this.next((f) => f.id === id, timeoutMs);
    this.ws.send(JSON.stringify({ id, ...body }));
    return reply;
  }

  async watch(body: Record<string, unknown>): Promise<Frame> {
    const r = await this.request({ op: 'watch', ...body });
    if (r.type !== 'watching') throw new Error(`watch refused: ${JSON.stringify(r)}`);
    return r;
  }

  /** A ping round trip: every frame the server queued before it has arrived. */
  async sync(): Promise<void> {
    await this.request({ op: 'ping' });
  }

  /** The event objects received so far (frames of type event and events, flattened). */
  events(watchId?: string): Frame[] {
    const out: Frame[] = [];
    for (const f of this.frames) {
      if (f.type === 'event') out.push(f);
      else if (f.type === 'events') out.push(...(f.events as Frame[]));
    }
    return watchId === undefined ? out : out.filter((e) => e.watchId === watchId);
  }

  eventFrames(): Frame[] {
    return this.frames.filter((f) => f.type === 'event' || f.type === 'events');
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}

/** Compact form of an event for comparisons. */
export const brief = (e: Frame | { type?: string; event?: string; path: unknown; zxid?: unknown }): string =>
  `${String((e as Frame).event ?? (e as { type: string }).type)} ${String(e.path)} @${String(e.zxid)}`;

export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
  comments: string[];
}

/** A raw SSE stream (as `curl -N` reads it), parsed message by message. */
export class SseStream {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  raw = '';
  status = 0;
  headers: IncomingMessage['headers'] = {};
  body = '';
  private buf = '';
  private res: IncomingMessage | undefined;
  private req: ReturnType<typeof httpRequest> | undefined;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  ended = false;

  static open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    const s = new SseStream();
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        s.res = res;
        s.status = res.statusCode ?? 0;
        s.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => s.feed(chunk));
        res.on('end', () => {
          s.ended = true;
          s.check();
        });
        res.on('error', () => undefined);
        resolve(s);
      });
      s.req = req;
      req.on('error', reject);
      req.end();
    });
  }

  private feed(chunk: string): void {
    this.raw += chunk;
    if (this.status !== 200) {
      this.body += chunk;
      this.check();
      return;
    }
    this.buf += chunk;
    let end: number;
    while ((end = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      const m: SseMessage = { event: 'message', id: undefined, data: '', comments: [] };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) m.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) m.event = line.slice(7);
        else if (line.startsWith('id: ')) m.id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      m.data = data.join('\n');
      if (data.length > 0) this.messages.push(m);
      else this.comments.push(...m.comments);
      if (data.length === 0 && m.id !== undefined) this.comments.push(`id ${m.id}`);
    }
    this.check();
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.pred()) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        if (this.waiters.includes(w)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`SSE: condition not met within ${timeoutMs} ms; raw: ${this.raw.slice(-2000)}`));
        }
      }, timeoutMs).unref();
    });
  }

  events(): Frame[] {
    return this.messages.filter((m) => m.event !== 'watching').map((m) => JSON.parse(m.data) as Frame);
  }

  /** The last id: line seen (what an EventSource would send as Last-Event-ID). */
  lastEventId(): string | undefined {
    let id: string | undefined;
    for (const line of this.raw.split('\n')) if (line.startsWith('id: ')) id = line.slice(4);
    return id;
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }
}

export async function until(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
