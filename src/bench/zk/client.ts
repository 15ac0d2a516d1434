/**
 * A compact Apache ZooKeeper client for the comparison benchmark (src/bench/compare.ts): the
 * jute wire protocol over node:net, with only what the benchmark needs: a session handshake
 * (new, or resuming an existing session id + password on another server, as ZooKeeper's own
 * client does after a connection loss), pings while idle, and create (persistent, OPEN_ACL_UNSAFE).
 * Pipelined: any number of requests may be in flight on one session; ZooKeeper answers them
 * in order. The fuller client used by the conformance tests is test/support/zk-client.ts.
 *
 * Framing: 4-byte big-endian length + payload. Handshake: ConnectRequest{protocolVersion,
 * lastZxidSeen, timeOut, sessionId, passwd, readOnly} -> ConnectResponse{protocolVersion,
 * timeOut, sessionId, passwd}. Requests: RequestHeader{xid, type} + record; replies:
 * ReplyHeader{xid, zxid, err} + record.
 */
import { connect as netConnect, type Socket } from 'node:net';

const OP_CREATE = 1;
const OP_PING = 11;
const OP_CLOSE = -11;
const XID_PING = -2;
const PERMS_ALL = 31;

export class ZkBenchError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ZkBenchError';
  }
}

function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}

function int(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}

function bytes(v: Uint8Array): Buffer {
  return Buffer.concat([int(v.length), Buffer.from(v)]);
}

const OPEN_ACL = Buffer.concat([int(1), int(PERMS_ALL), bytes(Buffer.from('world')), bytes(Buffer.from('anyone'))]);

export interface ZkSessionRef {
  sessionId: bigint;
  passwd: Buffer;
}

export interface ZkBenchConnectOptions {
  host?: string;
  port: number;
  sessionTimeoutMs?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Resume this session (after a connection loss) instead of opening a new one. */
  resume?: ZkSessionRef;
}

interface Pending {
  resolve: (zxid: bigint) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ZkBenchClient {
  private xid = 1;
  private readonly pending = new Map<number, Pending>();
  private inbuf: Buffer = Buffer.alloc(0);
  private closed = false;
  private lastSend = Date.now();
  private readonly pingTimer: NodeJS.Timeout;

  private constructor(
    private readonly socket: Socket,
    readonly session: ZkSessionRef,
    readonly sessionTimeoutMs: number,
    private readonly requestTimeoutMs: number,
    leftover: Buffer,
  ) {
    this.inbuf = leftover;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.shutdown(new ZkBenchError(-4, `connection error: ${e.message}`)));
    socket.on('close', () => this.shutdown(new ZkBenchError(-4, 'connection closed')));
    const every = Math.max(100, Math.floor(sessionTimeoutMs / 3));
    this.pingTimer = setInterval(() => {
      if (!this.closed && Date.now() - this.lastSend >= every) {
        this.lastSend = Date.now();
        this.socket.write(frame(Buffer.concat([int(XID_PING), int(OP_PING)])));
      }
    }, Math.max(50, Math.floor(every / 2)));
    this.pingTimer.unref();
    if (this.inbuf.length > 0) this.drain();
  }

  static connect(opts: ZkBenchConnectOptions): Promise<ZkBenchClient> {
    const host = opts.host ?? '127.0.0.1';
    const timeout = opts.sessionTimeoutMs ?? 30_000;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    return new Promise<ZkBenchClient>((resolve, reject) => {
      const socket = netConnect({ host, port: opts.port });
      socket.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (e: Error | null, client?: ZkBenchClient): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (e !== null) {
          socket.destroy();
          reject(e);
        } else resolve(client!);
      };
      const timer = setTimeout(() => finish(new ZkBenchError(-4, `connect ${host}:${opts.port}: no handshake within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const onError = (e: Error): void => finish(new ZkBenchError(-4, `connect ${host}:${opts.port}: ${e.message}`));
      const onClose = (): void => finish(new ZkBenchError(-4, `connect ${host}:${opts.port}: closed during handshake`));
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 4) return;
        const len = buf.readInt32BE(0);
        if (buf.length < 4 + len) return;
        const p = buf.subarray(4, 4 + len);
        const negotiated = p.readInt32BE(4);
        const sessionId = p.readBigInt64BE(8);
        const plen = p.readInt32BE(16);
        const passwd = Buffer.from(p.subarray(20, 20 + Math.max(0, plen)));
        if (negotiated <= 0) {
          finish(new ZkBenchError(-112, 'connect: session expired or refused'));
          return;
        }
        finish(null, new ZkBenchClient(socket, { sessionId, passwd }, negotiated, opts.requestTimeoutMs ?? 10_000, Buffer.from(buf.subarray(4 + len))));
      };
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.once('connect', () => {
        const body = Buffer.concat([
          int(0), // protocolVersion
          long(0n), // lastZxidSeen
          int(timeout),
          long(opts.resume?.sessionId ?? 0n),
          bytes(opts.resume?.passwd ?? Buffer.alloc(16)),
          Buffer.from([0]), // readOnly: false
        ]);
        socket.write(frame(body));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Creates a persistent znode; resolves with the txn zxid. */
  create(path: string, data: Uint8Array): Promise<bigint> {
    return this.call(OP_CREATE, Buffer.concat([bytes(Buffer.from(path, 'utf8')), bytes(data), OPEN_ACL, int(0)]));
  }

  /** Closes the session (best effort) and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await Promise.race([this.call(OP_CLOSE, Buffer.alloc(0)), new Promise((r) => setTimeout(r, 1000))]);
    } catch {
      // closing anyway
    }
    this.shutdown(new ZkBenchError(-4, 'closed'));
  }

  destroy(): void {
    this.shutdown(new ZkBenchError(-4, 'destroyed'));
  }

  private call(type: number, body: Buffer): Promise<bigint> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ZkBenchError(-4, 'connection closed'));
        return;
      }
      const xid = this.xid++;
      const timer = setTimeout(() => {
        if (this.pending.delete(xid)) reject(new ZkBenchError(-7, 'operation timeout'));
      }, this.requestTimeoutMs);
      this.pending.set(xid, { resolve, reject, timer });
      this.lastSend = Date.now();
      this.socket.write(frame(Buffer.concat([int(xid), int(type), body])));
    });
  }

  private onData(chunk: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
    this.drain();
  }

  private drain(): void {
    while (this.inbuf.length >= 4) {
      const len = this.inbuf.readInt32BE(0);
      if (this.inbuf.length < 4 + len) return;
      const xid = this.inbuf.readInt32BE(4);
      const zxid = this.inbuf.readBigInt64BE(8);
      const err = this.inbuf.readInt32BE(16);
      this.inbuf = this.inbuf.subarray(4 + len);
      const p = this.pending.get(xid);
      if (p === undefined) continue; // ping reply, watch event, or an answer after its timeout
      this.pending.delete(xid);
      clearTimeout(p.timer);
      if (err === 0) p.resolve(zxid);
      else p.reject(new ZkBenchError(err, `ZooKeeper error ${err}`));
    }
  }

  private shutdown(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ZkBenchError(-4, reason.message));
    }
    this.pending.clear();
    this.socket.destroy();
  }
}
