/**
 * Logical watchers: one persistent_recursive watch on /faults each, over a WebSocket to a
 * member, kept across failures by resuming (`fromZxid` = the last zxid known delivered, from
 * an event or a heartbeat) on a member picked at random. Every connection is a segment of the
 * watcher's log (history.ts WatchSegment): what it delivered, and the zxid range it covers.
 */
import WebSocket from 'ws';
import type { WatcherLog, WatchEvent, WatchSegment } from '../checker/history.js';
import { Prng } from '../../src/util/prng.js';

interface Frame {
  id?: number;
  type: string;
  zxid?: string;
  event?: string;
  path?: string;
  resumed?: boolean;
  events?: { event: string; path: string; zxid: string }[];
  code?: string;
  error?: { code?: string; message?: string };
}

export interface WatcherOptions {
  path: string;
  /** No frame for this long: the member is presumed gone (heartbeats come every --heartbeat-ms). */
  silenceMs: number;
}

export class Watcher {
  readonly log: WatcherLog;
  private ws: WebSocket | undefined;
  private seg: WatchSegment | undefined;
  private stopped = false;
  private silence: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** Reconnections, and Compacted answers (a declared gap). */
  readonly stats = { connects: 0, compacted: 0, errors: 0 };

  constructor(
    readonly id: number,
    private readonly ports: ReadonlyMap<number, number>,
    private readonly rng: Prng,
    private readonly opts: WatcherOptions,
  ) {
    this.log = { watcher: id, path: opts.path, segments: [] };
  }

  /** The last zxid known delivered (-1 before the first watching reply). */
  get progress(): number {
    const s = this.log.segments[this.log.segments.length - 1];
    return s === undefined ? -1 : s.to;
  }

  start(): void {
    this.connect(this.rng.pick([...this.ports.keys()]), undefined);
  }

  /** Where the next connection resumes from (undefined: a fresh watch, after Compacted). */
  private resumeFrom: number | undefined;
  /** The highest zxid any segment reached: a fresh watch asks for at least this (minZxid). */
  private seen = 0;
  private failures = 0;

  private connect(member: number, fromZxid: number | undefined): void {
    if (this.stopped) return;
    this.stats.connects++;
    const ws = new WebSocket(`ws://127.0.0.1:${this.ports.get(member)}/v1/ws`);
    this.ws = ws;
    let seg: WatchSegment | undefined;
    const arm = (): void => {
      if (this.silence !== undefined) clearTimeout(this.silence);
      this.silence = setTimeout(() => end('silent'), this.opts.silenceMs);
    };
    const end = (why: string): void => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.silence !== undefined) clearTimeout(this.silence);
      if (seg !== undefined && seg.ended === '') seg.ended = why;
      if (seg !== undefined) this.seen = Math.max(this.seen, seg.to);
      this.seg = undefined;
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      if (this.stopped) return;
      const members = [...this.ports.keys()];
      const others = members.filter((m) => m !== member);
      const next = why === 'Compacted' || others.length === 0 ? this.rng.pick(members) : this.rng.pick(others);
      if (why === 'Compacted') this.resumeFrom = undefined;
      else if (seg !== undefined) this.resumeFrom = seg.to;
      // Back off while connections keep failing before a watching reply.
      this.failures = seg === undefined ? this.failures + 1 : 0;
      const delay = Math.min(1_000, 100 * 2 ** Math.min(this.failures, 4)) + this.rng.int(100);
      this.retry = setTimeout(() => this.connect(next, this.resumeFrom), delay);
    };
    arm();
    ws.on('open', () => {
      const req: Record<string, unknown> = { id: 1, op: 'watch', path: this.opts.path, kind: 'persistent_recursive' };
      if (fromZxid !== undefined) req.fromZxid = String(fromZxid);
      // Watching anew (after Compacted) on a member that is behind would replay, as new, events
      // this watcher already has: a client never goes back (api.md's minZxid, as on reads).
      else if (this.seen > 0) req.minZxid = String(this.seen);
      ws.send(JSON.stringify(req));
    });
    ws.on('message', (data: WebSocket.RawData) => {
      arm();
      let f: Frame;
      try {
        f = JSON.parse(String(data)) as Frame;
      } catch {
        return;
      }
      switch (f.type) {
        case 'watching': {
          const z = Number(f.zxid);
          const from = fromZxid !== undefined ? fromZxid : z;
          seg = { member, from, to: from, resumed: fromZxid !== undefined, frames: [], ended: '' };
          this.seg = seg;
          this.log.segments.push(seg);
          return;
        }
        case 'event':
        case 'events': {
          if (seg === undefined) return;
          const evs: WatchEvent[] = f.type === 'event' ? [{ zxid: Number(f.zxid), path: f.path!, type: f.event! }] : f.events!.map((e) => ({ zxid: Number(e.zxid ?? f.zxid), path: e.path, type: e.event }));
          seg.frames.push(evs);
          for (const e of evs) seg.to = Math.max(seg.to, e.zxid);
          return;
        }
        case 'heartbeat':
          if (seg !== undefined) seg.to = Math.max(seg.to, Number(f.zxid));
          return;
        case 'error': {
          const code = f.code ?? f.error?.code ?? 'error';
          if (code === 'Compacted') {
            this.stats.compacted++;
            if (seg !== undefined) seg.note = f.error?.message ?? '';
          } else this.stats.errors++;
          end(code === 'Compacted' ? 'Compacted' : `error ${code}: ${f.error?.message ?? ''}`);
          return;
        }
      }
    });
    ws.on('close', (code) => end(`closed ${code}`));
    ws.on('error', (e) => end(`error ${e.message}`));
  }

  stop(): void {
    this.stopped = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    if (this.silence !== undefined) clearTimeout(this.silence);
    const ws = this.ws;
    this.ws = undefined;
    if (this.seg !== undefined && this.seg.ended === '') this.seg.ended = 'end of run';
    if (ws !== undefined) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
  }
}
