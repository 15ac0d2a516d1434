/**
 * The client's WebSocket on /v1/ws (api.md "WebSocket"): one socket per client carries its
 * session and its watches.
 *
 * - The session is bound with `{"op":"session"}`; the member keeps it alive while the socket
 *   is open. The client pings the socket; a member that does not answer in time is left for
 *   another, and the session is bound again there (it lives on as long as one member hears
 *   from it within its timeout). A session the cluster expired meanwhile is reported `lost`
 *   and replaced by a new one.
 * - Watches are registered again on every new socket, each from the last zxid it is complete
 *   up to (`fromZxid`): its last event, or a later heartbeat or pong, which carry the member's
 *   applied zxid. The member replays what the watch missed, so nothing falls between two
 *   sockets. A resume point the member no longer retains (`Compacted`, or one ahead of a
 *   member that lost its state) makes the watch read anew: its handler is told to resync.
 *
 * Frames are handled synchronously as they arrive (a reply registers its watch before the
 * next frame, which may already be that watch's first event, is looked at).
 */
import type { ErrorFrame, EventFrame, PingRequest, ReplyTo, Request, RequestFrame, ServerFrame, SessionRequest, WatchRequest, WatchStateJson } from '../wire/frames.js';
import { ZgateError } from './errors.js';
import { zxidNum } from './codec.js';
import type { Members } from './http.js';
import type { ClientState, PlatformWebSocket, WebSocketLike } from './types.js';

/** What a watch does with what its registrations bring. */
export interface WatchHandler {
  /** A fresh registration's state at `zxid` (null: no such znode). */
  armed(state: WatchStateJson | null, zxid: string): void;
  /** One event, in zxid order, never twice. */
  event(e: EventFrame): void;
  /** The watch could not resume without a hole; `armed` follows with the current state. */
  resync(): void;
  /** The watch could not be registered at all (e.g. a path refused by the member). */
  failed(error: ZgateError): void;
  /** Resolves when every event handed over so far has been fully handled (a re-read done). */
  settled?(): Promise<void>;
}

export interface WatchSpec {
  path: string;
  kind: 'persistent' | 'persistent_recursive';
  withData: boolean;
}

export class WatchReg {
  /** The zxid this watch is complete up to; undefined until first armed. */
  resumeZxid: number | undefined;
  watchId: string | undefined;
  /** Generation of the socket this watch is registered on (or being registered on). */
  gen = -1;
  /** Generation of the socket whose `watching` reply this watch has received. */
  armedGen = -1;
  active = true;
  /** Resolves once the first registration is answered (rejects if it is refused). */
  readonly ready: Promise<void>;
  resolveReady!: () => void;
  rejectReady!: (e: ZgateError) => void;

  constructor(
    readonly spec: WatchSpec,
    readonly handler: WatchHandler,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // A watch abandoned before it was armed must not leave an unhandled rejection behind.
    this.ready.catch(() => undefined);
  }
}

interface Pending {
  onFrame(f: ServerFrame): void;
  fail(e: ZgateError): void;
  timer: ReturnType<typeof setTimeout>;
}

export interface SocketOptions {
  sessionTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** How long opening a socket (and binding the session on it) may take before the next member is tried. */
  connectTimeoutMs: number;
  factory: () => Promise<PlatformWebSocket>;
  onState(state: ClientState): void;
  /** The client's credentials: the Authorization header, and the in-band auth frame for platforms that cannot send it. */
  auth?: { header: string; frame: AuthFrame };
}

/** api.md's in-band auth frame (ZooKeeper's addAuth), without its id. */
export type AuthFrame = { op: 'auth'; scheme: 'digest'; auth: string } | { op: 'auth'; scheme: 'bearer'; token: string };

/** The close code of a refused credential (api.md "Errors (additions)"). */
const AUTH_CLOSE = 4401;

const OPEN = 1;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The error of an error frame. */
export function frameError(f: ErrorFrame, member: string, what: string): ZgateError {
  const err: Partial<ErrorFrame['error']> = f.error ?? {};
  const code = err.code ?? (typeof f.code === 'string' ? f.code : 'SystemError');
  const details: ConstructorParameters<typeof ZgateError>[2] = { member };
  if (err.path !== undefined) details.path = err.path;
  if (err.opIndex !== undefined) details.opIndex = err.opIndex;
  if (typeof f.zxid === 'string') details.zxid = f.zxid;
  return new ZgateError(code, `${what}: ${err.message ?? code}`, details);
}

export class Socket {
  private ws: WebSocketLike | undefined;
  private member = '';
  private gen = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly regs = new Set<WatchReg>();
  private readonly byWatchId = new Map<string, WatchReg>();
  private connected = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private waiters: { resolve: () => void; reject: (e: ZgateError) => void }[] = [];
  private factory: PlatformWebSocket | undefined;
  /** A credential the cluster refused: the socket stops reconnecting, every wait fails with it. */
  private authError: ZgateError | undefined;
  private wantSession = false;
  private session: { id: string; timeoutMs: number } | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastError: ZgateError | undefined;
  private binding: Promise<void> | undefined;

  constructor(
    private readonly members: Members,
    private readonly opts: SocketOptions,
  ) {}

  get sessionId(): string | undefined {
    return this.session?.id;
  }

  get sessionTimeoutMs(): number | undefined {
    return this.session?.timeoutMs;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Opens the socket (and binds a session when `session`), waiting up to `timeoutMs`. */
  async open(session: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (session) this.wantSession = true;
    for (;;) {
      if (!this.connected) {
        this.start();
        await this.waitConnected(Math.max(1, deadline - Date.now()));
      }
      if (!session || this.session !== undefined) return;
      // Connected without a session so far (the socket was opened for watches): bind one.
      try {
        await this.bindOnce();
        return;
      } catch (e) {
        // The socket dropped meanwhile: the reconnect binds the session; wait for it.
        if (this.closed || !(e instanceof ZgateError) || e.code !== 'ConnectionLoss' || Date.now() >= deadline) throw e;
      }
    }
  }

  /** The session was reported gone by an HTTP answer: replace it (the socket stays). */
  async sessionExpired(id: string): Promise<void> {
    if (this.session?.id !== id || this.closed) return;
    this.session = undefined;
    this.opts.onState('lost');
    if (this.connected) {
      try {
        await this.bindOnce();
        this.opts.onState('connected');
      } catch {
        this.drop();
      }
    }
  }

  /** One session binding at a time on the current socket (two would make two sessions). */
  private bindOnce(): Promise<void> {
    this.binding ??= this.bindSession(this.gen).finally(() => (this.binding = undefined));
    return this.binding;
  }

  addWatch(reg: WatchReg): void {
    this.regs.add(reg);
    if (this.connected) void this.registerOrDrop(reg, this.gen);
    else this.start();
  }

  removeWatch(reg: WatchReg): void {
    reg.active = false;
    this.regs.delete(reg);
    if (reg.watchId !== undefined) {
      this.byWatchId.delete(reg.watchId);
      if (this.connected && reg.armedGen === this.gen) {
        // Best effort: a watch the member already dropped answers NoWatcher, which is fine.
        this.request({ op: 'unwatch', watchId: reg.watchId }, 5000, 'unwatch').catch(() => undefined);
      }
    }
  }

  get activeWatches(): number {
    return this.regs.size;
  }

  /**
   * Waits until every event up to `zxid` has reached the watches of this socket (a pong at
   * or past it: every frame queued before a pong has been sent), then until each watch has
   * handled them. Bounded by `timeoutMs`; does nothing while disconnected.
   */
  async flushTo(zxid: number, timeoutMs: number): Promise<void> {
    if (this.regs.size === 0 || !this.connected) return;
    const deadline = Date.now() + timeoutMs;
    while (this.connected && Date.now() < deadline) {
      let pong: ReplyTo<PingRequest>;
      try {
        pong = await this.request({ op: 'ping' }, Math.max(1, deadline - Date.now()), 'ping');
      } catch {
        return;
      }
      if (zxidNum(pong.zxid) >= zxid) break;
      await sleep(10);
    }
    const settling = [...this.regs].map((r) => r.handler.settled?.());
    await Promise.race([Promise.all(settling), sleep(Math.max(0, deadline - Date.now()))]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPing();
    const err = new ZgateError('ClientClosed', 'the client is closed (close() was called)');
    this.failPending(err);
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    for (const reg of this.regs) reg.rejectReady(err);
    this.regs.clear();
    this.connected = false;
    const ws = this.ws;
    this.ws = undefined;
    try {
      ws?.close(1000, 'client closed');
    } catch {
      // already closing
    }
  }

  // ---------------------------------------------------------------- connecting

  /** The credential was refused (401 at the upgrade, or a close 4401): no reconnect loop; waits fail with AuthFailed. */
  private refused(e: ZgateError): void {
    this.authError = e;
    this.opts.onState('suspended');
    for (const w of this.waiters) w.reject(e);
    this.waiters = [];
    for (const reg of this.regs) reg.rejectReady(e);
  }

  private start(): void {
    if (this.running !== undefined || this.closed || this.authError !== undefined) return;
    this.running = this.run().finally(() => (this.running = undefined));
  }

  private waitConnected(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new ZgateError('ClientClosed', 'the client is closed (close() was called)'));
    if (this.authError !== undefined) return Promise.reject(this.authError);
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: ZgateError) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const why = this.lastError === undefined ? '' : ` (last: ${this.lastError.message})`;
        reject(new ZgateError('ConnectionLoss', `could not open a WebSocket to any member within ${timeoutMs} ms${why}`, this.lastError?.member === undefined ? {} : { member: this.lastError.member }));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Connects, and reconnects whenever the socket drops, until close(). */
  private async run(): Promise<void> {
    let failures = 0;
    this.opts.onState('connecting');
    while (!this.closed) {
      const member = this.members.preferred;
      const gen = ++this.gen;
      let dropped: Promise<void>;
      try {
        ({ dropped } = await this.connectOnce(member, gen));
      } catch (e) {
        this.lastError = e instanceof ZgateError ? e : new ZgateError('ConnectionLoss', `${member}: ${String(e)}`, { member });
        this.teardown();
        if (this.closed) return;
        if (this.lastError.code === 'AuthFailed') return this.refused(this.lastError);
        this.members.failed(member);
        failures++;
        // Back off only once every member has failed in a row (a leader election, a restart).
        if (failures % this.members.urls.length === 0) await sleep(Math.min(1000, 50 * 2 ** Math.min(5, failures / this.members.urls.length)));
        continue;
      }
      failures = 0;
      this.connected = true;
      // Watches added after connectOnce's last look (they waited for this socket) register now.
      for (const reg of this.regs) if (reg.gen !== gen) void this.registerOrDrop(reg, gen);
      this.startPing(gen);
      this.opts.onState('connected');
      for (const w of this.waiters) w.resolve();
      this.waiters = [];
      await dropped;
      this.connected = false;
      this.stopPing();
      this.teardown();
      if (this.closed) return;
      if (this.lastError?.code === 'AuthFailed') return this.refused(this.lastError);
      this.members.failed(member);
      this.opts.onState('suspended');
    }
  }

  /** Opens one socket, binds the session, re-registers the watches; resolves with a promise of its close. */
  private async connectOnce(member: string, gen: number): Promise<{ dropped: Promise<void> }> {
    this.factory ??= await this.opts.factory();
    const url = member.replace(/^http/, 'ws') + '/v1/ws';
    const auth = this.opts.auth;
    const inHeader = auth !== undefined && this.factory.withHeaders !== undefined;
    const ws = inHeader ? this.factory.withHeaders!(url, { authorization: auth.header }) : this.factory.factory(url);
    this.ws = ws;
    this.member = member;
    let onDrop!: () => void;
    const dropped = new Promise<void>((r) => (onDrop = r));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ZgateError('ConnectionLoss', `${url}: not open within ${this.opts.connectTimeoutMs} ms`, { member }));
        try {
          ws.close();
        } catch {
          // never opened
        }
      }, this.opts.connectTimeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      let upgradeError = '';
      ws.onerror = (ev) => {
        // Node's `ws` reports a refused upgrade as "Unexpected server response: 401".
        upgradeError = String((ev as { message?: unknown } | undefined)?.message ?? '');
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        if (ev.code === AUTH_CLOSE || /\b401\b/.test(upgradeError)) reject(new ZgateError('AuthFailed', `${url}: the member refused the client's credentials`, { member, status: 401 }));
        else reject(new ZgateError('ConnectionLoss', `${url}: closed before it opened (${ev.code})`, { member }));
      };
    });
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onFrame(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) {
        const why = `${url}: closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`;
        this.lastError = ev.code === AUTH_CLOSE ? new ZgateError('AuthFailed', `${why}: the member refused the client's credentials`, { member, status: 401 }) : new ZgateError('ConnectionLoss', why, { member });
        this.failPending(this.lastError);
      }
      onDrop();
    };
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    // A platform that cannot send the header at the upgrade authenticates in-band, first.
    if (auth !== undefined && !inHeader) {
      // (src/wire/frames.ts has no auth frame yet: the reply is `{"type":"auth","ids":[...]}`.)
      try {
        await this.request(auth.frame as unknown as PingRequest, this.opts.connectTimeoutMs, 'auth');
      } catch (e) {
        if (e instanceof ZgateError && (e.code === 'AuthFailed' || this.lastError?.code === 'AuthFailed')) throw this.lastError?.code === 'AuthFailed' ? this.lastError : e;
        throw e;
      }
    }
    if (this.wantSession) await this.bindSession(gen);
    // Register every watch; new ones may be added meanwhile, so go round until all are.
    for (;;) {
      const todo = [...this.regs].filter((r) => r.gen !== gen);
      if (todo.length === 0) break;
      await Promise.all(todo.map((r) => this.register(r, gen, Math.max(1000, deadline - Date.now()))));
    }
    if (this.ws !== ws || ws.readyState !== OPEN) throw this.lastError ?? new ZgateError('ConnectionLoss', `${url}: closed while connecting`, { member });
    return { dropped };
  }

  private async bindSession(gen: number): Promise<void> {
    const frame: SessionRequest = { op: 'session', timeoutMs: this.opts.sessionTimeoutMs };
    const had = this.session;
    if (had !== undefined) frame.sessionId = had.id;
    let reply: ReplyTo<SessionRequest>;
    try {
      reply = await this.request(frame, this.opts.connectTimeoutMs, 'session');
    } catch (e) {
      if (!(e instanceof ZgateError) || e.code !== 'SessionExpired' || had === undefined) throw e;
      // The cluster expired it while we were away: its ephemerals are gone. Go on with a new one.
      this.session = undefined;
      this.opts.onState('lost');
      reply = await this.request({ op: 'session', timeoutMs: this.opts.sessionTimeoutMs }, this.opts.connectTimeoutMs, 'session');
    }
    if (gen !== this.gen) throw new ZgateError('ConnectionLoss', 'the socket was replaced while binding the session');
    this.session = { id: String(reply.sessionId), timeoutMs: Number(reply.timeoutMs) };
  }

  // ---------------------------------------------------------------- watches

  private registerOrDrop(reg: WatchReg, gen: number): Promise<void> {
    return this.register(reg, gen, this.opts.connectTimeoutMs).catch(() => {
      // The member could not take the watch (behind, shutting down): try another member.
      if (gen === this.gen) this.drop();
    });
  }

  /**
   * Registers `reg` on socket `gen`: resumed from its zxid when it has one, else fresh (its
   * handler gets the state). Refusals that mean "your resume point is gone" turn into a
   * resync; a path the member refuses fails the watch; anything else is the socket's problem
   * (thrown, so that the caller moves to another member).
   */
  private async register(reg: WatchReg, gen: number, timeoutMs: number, atLeastSeen = true): Promise<void> {
    reg.gen = gen;
    const from = reg.resumeZxid;
    const frame: WatchRequest = { op: 'watch', path: reg.spec.path, kind: reg.spec.kind, withData: reg.spec.withData };
    if (from !== undefined) frame.fromZxid = String(from);
    // A fresh registration (first, or after Compacted) on a member behind what this client has
    // seen would hand the handler an older state than it already showed: ask for at least that.
    else if (atLeastSeen && this.members.lastZxid > 0) frame.minZxid = String(this.members.lastZxid);
    try {
      await this.request(frame, timeoutMs, `watch ${reg.spec.path}`, (f) => {
        // Synchronously with the reply frame: the watch's events may be in the very next frame.
        if (f.type !== 'watching' || !reg.active || gen !== this.gen) return;
        reg.watchId = String(f.watchId);
        reg.armedGen = gen;
        this.byWatchId.set(reg.watchId, reg);
        if (from === undefined) {
          reg.resumeZxid = zxidNum(f.zxid);
          this.deliver(() => reg.handler.armed(f.state ?? null, String(f.zxid)));
        }
        reg.resolveReady();
      });
    } catch (e) {
      if (!(e instanceof ZgateError) || !reg.active || gen !== this.gen) throw e;
      if (from !== undefined && (e.code === 'Compacted' || e.code === 'BadArguments')) {
        // Compacted: the member keeps no events that old. BadArguments: the resume point is
        // ahead of the member's log (a member that lost its state). Either way, read anew;
        // after a lost state, from what the member has (waiting for more would never end).
        reg.resumeZxid = undefined;
        this.deliver(() => reg.handler.resync());
        return this.register(reg, gen, timeoutMs, e.code === 'Compacted');
      }
      if (frame.minZxid !== undefined && e.code === 'BadArguments') {
        // The member's log ends before what this client has seen (its state was lost): take
        // what it has rather than fail the watch.
        return this.register(reg, gen, timeoutMs, false);
      }
      if (e.code === 'BadArguments' || e.code === 'NoNode' || e.code === 'PayloadTooLarge') {
        this.regs.delete(reg);
        reg.active = false;
        reg.rejectReady(e);
        this.deliver(() => reg.handler.failed(e));
        return;
      }
      throw e;
    }
  }

  private deliver(fn: () => void): void {
    try {
      fn();
    } catch {
      // The handlers report their callbacks' errors themselves; never let one break the socket.
    }
  }

  // ---------------------------------------------------------------- frames

  private onFrame(data: unknown): void {
    let f: ServerFrame;
    try {
      f = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer)) as ServerFrame;
    } catch {
      return;
    }
    if (typeof f !== 'object' || f === null) return;
    const id = 'id' in f ? f.id : undefined;
    if (typeof id === 'number' && this.pending.has(id)) {
      const p = this.pending.get(id)!;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.onFrame(f);
      return;
    }
    switch (f.type) {
      case 'event':
        this.onEvents([f], String(f.zxid));
        return;
      case 'events':
        this.onEvents(f.events ?? [], String(f.zxid));
        return;
      case 'heartbeat':
        this.bookmark(String(f.zxid));
        return;
      case 'error':
        if (f.code === 'Compacted' && typeof f.watchId === 'string') this.onCompacted(f.watchId);
        return;
    }
  }

  private onEvents(events: EventFrame[], zxid: string): void {
    this.members.observeZxid(zxid);
    const touched = new Set<WatchReg>();
    for (const e of events) {
      const reg = this.byWatchId.get(e.watchId);
      if (reg === undefined || !reg.active) continue;
      // A replay may start at the resume point's own zxid: never hand over an event twice.
      if (reg.resumeZxid !== undefined && zxidNum(e.zxid) <= reg.resumeZxid) continue;
      touched.add(reg);
      this.deliver(() => reg.handler.event(e));
    }
    const z = zxidNum(zxid);
    for (const reg of touched) if (reg.resumeZxid === undefined || z > reg.resumeZxid) reg.resumeZxid = z;
  }

  /** Heartbeats and pongs carry the member's applied zxid: every armed watch is complete up to it. */
  private bookmark(zxid: string): void {
    this.members.observeZxid(zxid);
    const z = zxidNum(zxid);
    for (const reg of this.regs) {
      if (reg.armedGen === this.gen && reg.resumeZxid !== undefined && z > reg.resumeZxid) reg.resumeZxid = z;
    }
  }

  private onCompacted(watchId: string): void {
    // The member jumped past events (it installed a snapshot) and dropped the watch: read anew.
    const reg = this.byWatchId.get(watchId);
    if (reg === undefined || !reg.active) return;
    this.byWatchId.delete(watchId);
    reg.watchId = undefined;
    reg.resumeZxid = undefined;
    this.deliver(() => reg.handler.resync());
    void this.registerOrDrop(reg, this.gen);
  }

  // ---------------------------------------------------------------- requests

  /**
   * Sends a request frame and resolves with its reply (rejects with the error frame's
   * ZgateError). `onReply` runs synchronously with the reply frame, before later frames.
   */
  private request<R extends Request>(frame: R, timeoutMs: number, what: string, onReply?: (f: ReplyTo<R>) => void): Promise<ReplyTo<R>> {
    const ws = this.ws;
    const member = this.member;
    if (ws === undefined || ws.readyState !== OPEN) return Promise.reject(new ZgateError('ConnectionLoss', `${what}: the socket is not open`, { member }));
    const id = this.nextId++;
    return new Promise<ReplyTo<R>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ZgateError('ConnectionLoss', `${what}: ${member} did not answer within ${timeoutMs} ms`, { member }));
      }, timeoutMs);
      this.pending.set(id, {
        timer,
        fail: reject,
        onFrame: (f) => {
          if (f.type === 'error') {
            reject(frameError(f, member, what));
            return;
          }
          if (f.type === 'pong' || f.type === 'watching') this.bookmarkFrom(f);
          // The frame that echoes this request's id is its reply.
          const reply = f as ReplyTo<R>;
          onReply?.(reply);
          resolve(reply);
        },
      });
      try {
        const out: RequestFrame<R> = { id, ...frame };
        ws.send(JSON.stringify(out));
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ZgateError('ConnectionLoss', `${what}: ${member}: ${String(e)}`, { member }));
      }
    });
  }

  private bookmarkFrom(f: ReplyTo<PingRequest | WatchRequest>): void {
    if (f.type === 'pong') this.bookmark(String(f.zxid));
    else this.members.observeZxid(f.zxid);
  }

  private failPending(err: ZgateError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.fail(err);
    }
  }

  // ---------------------------------------------------------------- liveness

  private startPing(gen: number): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (gen !== this.gen || !this.connected) return;
      this.request({ op: 'ping' }, this.opts.pingTimeoutMs, 'ping').catch(() => {
        // No pong in time: the member is gone or stuck. Leave it for another one.
        if (gen === this.gen) this.drop();
      });
    }, this.opts.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  /** Closes the current socket so that run() moves to another member. */
  private drop(): void {
    const ws = this.ws;
    if (ws === undefined) return;
    try {
      ws.close(4000, 'client: member unresponsive');
    } catch {
      // not open
    }
    // A member that does not complete the close handshake must not hold us: act as closed now.
    const onclose = ws.onclose;
    this.ws = undefined;
    this.failPending(new ZgateError('ConnectionLoss', `${this.member}: dropped by the client`, { member: this.member }));
    onclose?.({ code: 4000, reason: 'dropped' });
  }

  private teardown(): void {
    const ws = this.ws;
    this.ws = undefined;
    this.connected = false;
    this.byWatchId.clear();
    for (const reg of this.regs) reg.watchId = undefined;
    if (ws !== undefined) {
      ws.onmessage = null;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        // closed
      }
    }
  }
}
