/**
 * One Apache ZooKeeper session over node:net, speaking the jute wire protocol (./jute.ts): the
 * part that the benchmark's client (tools/bench/zk/client.ts) and the conformance tests' client
 * (test/support/zk-client.ts) share; each adds its own requests on top with call().
 *
 * - handshake: ConnectRequest{protocolVersion, lastZxidSeen, timeOut, sessionId, passwd}
 *   followed by a `readOnly` boolean; the answer is ConnectResponse{protocolVersion, timeOut,
 *   sessionId, passwd} (+ an optional readOnly byte), with no ReplyHeader. A new session, or
 *   one resumed by id and password on another server, as ZooKeeper's own client does after
 *   a connection loss;
 * - requests: RequestHeader{xid, type} + the op's record; replies: ReplyHeader{xid, zxid, err}
 *   + the response record (absent when err != 0). xid -2 is a ping, -1 a watch event.
 *   Pipelined: any number of requests may be in flight; ZooKeeper answers them in order;
 * - pings at a third of the session timeout while idle, as ClientCnxn does.
 *
 * No watches, no auth, no reconnection: a lost connection rejects every pending call with
 * ConnectionLoss and the connection stays closed.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { errorName, frame, JuteReader, JuteWriter, OpCode, XID_PING, XID_WATCH_EVENT } from './jute.js';

export class ZkError extends Error {
  readonly codeName: string;
  constructor(
    readonly code: number,
    readonly op: string,
    readonly path?: string,
    /** The zxid of the reply header, when the server answered. */
    readonly zxid?: bigint,
  ) {
    super(`${op}${path !== undefined ? ` ${path}` : ''}: ${errorName(code)} (${code})`);
    this.name = 'ZkError';
    this.codeName = errorName(code);
  }
}

/** What it takes to resume a session on another server. */
export interface ZkSessionRef {
  sessionId: bigint;
  passwd: Buffer;
}

export interface ZkConnectOptions {
  host?: string;
  port: number;
  /** Asked for in the handshake; the server may negotiate another. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Until the handshake is answered. Default 10 s. */
  connectTimeoutMs?: number;
  /** Per-request timeout; a request with no answer by then rejects with OperationTimeout. Default 15 s. */
  requestTimeoutMs?: number;
  /** Resume this session (after a connection loss) instead of opening a new one. */
  resume?: ZkSessionRef;
}

/** An answer: the reply header's zxid and err, and a reader at the response record. */
export interface ZkReply {
  zxid: bigint;
  err: number;
  body: JuteReader;
}

interface Pending {
  op: string;
  path?: string;
  resolve: (r: ZkReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ZkConnection {
  private xid = 1;
  private readonly pending = new Map<number, Pending>();
  private inbuf: Buffer = Buffer.alloc(0);
  private readonly pingTimer: NodeJS.Timeout;
  private closed = false;
  private closeReason: Error | undefined;
  private lastSend = Date.now();
  /** The highest zxid seen in any reply. */
  lastZxid = 0n;

  private constructor(
    private readonly socket: Socket,
    readonly session: ZkSessionRef,
    /** The negotiated session timeout. */
    readonly sessionTimeoutMs: number,
    private readonly requestTimeoutMs: number,
    leftover: Buffer,
  ) {
    this.inbuf = leftover;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.shutdown(new ZkError(-4, `connection error: ${e.message}`)));
    socket.on('close', () => this.shutdown(new ZkError(-4, 'connection closed')));
    // Ping at a third of the session timeout when idle, as ClientCnxn does.
    const every = Math.max(100, Math.floor(sessionTimeoutMs / 3));
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastSend >= every) this.sendPing();
    }, Math.max(50, Math.floor(every / 2)));
    this.pingTimer.unref();
    if (this.inbuf.length > 0) this.drain();
  }

  /** Opens a TCP connection and a session (new, or `opts.resume`). */
  static connect(opts: ZkConnectOptions): Promise<ZkConnection> {
    const host = opts.host ?? '127.0.0.1';
    const timeout = opts.sessionTimeoutMs ?? 30000;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10000;
    return new Promise<ZkConnection>((resolve, reject) => {
      const socket = netConnect({ host, port: opts.port });
      socket.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (e: Error | null, conn?: ZkConnection): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (e) {
          socket.destroy();
          reject(e);
        } else {
          resolve(conn!);
        }
      };
      const timer = setTimeout(() => finish(new ZkError(-4, `connect to ${host}:${opts.port}: no handshake within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const onError = (e: Error): void => finish(new ZkError(-4, `connect to ${host}:${opts.port}: ${e.message}`));
      const onClose = (): void => finish(new ZkError(-4, `connect to ${host}:${opts.port}: closed during handshake`));
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 4) return;
        const len = buf.readInt32BE(0);
        if (buf.length < 4 + len) return;
        try {
          const r = new JuteReader(buf.subarray(4, 4 + len));
          r.int(); // protocolVersion
          const negotiated = r.int();
          const sessionId = r.long();
          const passwd = r.buffer() ?? Buffer.alloc(0);
          if (negotiated <= 0) {
            // A resumed session that expired meanwhile is answered this way too.
            finish(new ZkError(-112, 'connect: session refused (negotiated timeout <= 0)'));
            return;
          }
          const rest = Buffer.from(buf.subarray(4 + len));
          finish(null, new ZkConnection(socket, { sessionId, passwd }, negotiated, opts.requestTimeoutMs ?? 15000, rest));
        } catch (e) {
          finish(e as Error);
        }
      };
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.once('connect', () => {
        const body = new JuteWriter()
          .int(0) // protocolVersion
          .long(0n) // lastZxidSeen
          .int(timeout)
          .long(opts.resume?.sessionId ?? 0n) // 0: a new session
          .buffer(opts.resume?.passwd ?? Buffer.alloc(16))
          .bool(false) // readOnly
          .toBuffer();
        socket.write(frame(body));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends one request and resolves with its answer. An answer with err != 0 rejects with a
   * ZkError, unless `allowErrBody` (multi answers a failed transaction with a body).
   */
  call(type: number, body: JuteWriter, op: string, path?: string, allowErrBody = false): Promise<ZkReply> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(this.closeReason ?? new ZkError(-4, op, path));
        return;
      }
      const xid = this.xid++;
      const timer = setTimeout(() => {
        if (this.pending.delete(xid)) reject(new ZkError(-7, op, path));
      }, this.requestTimeoutMs);
      this.pending.set(xid, {
        op,
        path,
        timer,
        reject,
        resolve: (r) => {
          if (r.err !== 0 && !allowErrBody) reject(new ZkError(r.err, op, path, r.zxid));
          else resolve(r);
        },
      });
      const payload = Buffer.concat([new JuteWriter().int(xid).int(type).toBuffer(), body.toBuffer()]);
      this.lastSend = Date.now();
      this.socket.write(frame(payload));
    });
  }

  /** One ping round trip. */
  async ping(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.closed) {
        reject(this.closeReason ?? new ZkError(-4, 'ping: client closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(XID_PING);
        reject(new ZkError(-7, 'ping'));
      }, this.requestTimeoutMs);
      this.pending.set(XID_PING, { op: 'ping', resolve: () => resolve(), reject, timer });
      this.sendPing();
    });
  }

  /**
   * Closes the session (its ephemerals go) and then the socket. Waits for the server's answer
   * at most `maxWaitMs` (default: the request timeout).
   */
  async close(maxWaitMs?: number): Promise<void> {
    if (this.closed) return;
    const closing = this.call(OpCode.closeSession, new JuteWriter(), 'closeSession');
    let timer: NodeJS.Timeout | undefined;
    try {
      if (maxWaitMs === undefined) await closing;
      else await Promise.race([closing, new Promise((r) => (timer = setTimeout(r, maxWaitMs)))]);
    } catch {
      // The server may drop the connection right after answering; the session is gone either way.
    } finally {
      clearTimeout(timer);
    }
    this.shutdown(new ZkError(-112, 'client closed'));
  }

  /** Drops the TCP connection without closing the session (it expires on the server). */
  destroy(): void {
    this.shutdown(new ZkError(-4, 'client destroyed'));
  }

  private sendPing(): void {
    if (this.closed) return;
    this.lastSend = Date.now();
    this.socket.write(frame(new JuteWriter().int(XID_PING).int(OpCode.ping).toBuffer()));
  }

  private onData(chunk: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
    this.drain();
  }

  private drain(): void {
    while (this.inbuf.length >= 4) {
      const len = this.inbuf.readInt32BE(0);
      if (this.inbuf.length < 4 + len) return;
      const packet = this.inbuf.subarray(4, 4 + len);
      this.inbuf = this.inbuf.subarray(4 + len);
      const r = new JuteReader(packet);
      const xid = r.int();
      const zxid = r.long();
      const err = r.int();
      if (zxid > this.lastZxid) this.lastZxid = zxid;
      if (xid === XID_WATCH_EVENT) continue; // no watches are ever set
      const p = this.pending.get(xid);
      if (p === undefined) continue; // an unsolicited ping reply, or an answer after timeout
      this.pending.delete(xid);
      clearTimeout(p.timer);
      try {
        p.resolve({ zxid, err, body: r });
      } catch (e) {
        p.reject(e as Error);
      }
    }
  }

  private shutdown(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    clearInterval(this.pingTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ZkError(-4, `${p.op} (${reason.message})`, p.path));
    }
    this.pending.clear();
    this.socket.destroy();
  }
}
