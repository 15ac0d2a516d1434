/**
 * Peer links over TCP. Each member listens on its peer port and dials every peer; a link
 * carries frames one way (wire.ts), so each member sends on its own outbound connections and
 * receives on the ones its peers opened. Outbound links reconnect with exponential backoff
 * (bounded, with jitter); frames for a peer that is down or too far behind (its queue over
 * `maxQueueBytes`) are dropped and reported, and Raft retries. Inbound connections must say
 * hello first: wrong cluster, wrong addressee or an unknown member is refused with a reason
 * (sent to the caller, and logged on both sides).
 *
 * With peer TLS every link is mutual TLS against the peer CA, and a hello claiming member N is
 * accepted only when the caller's certificate also matches the host of N's address (IP SAN for
 * an IP, DNS SAN for a name), so a certificate of the cluster's CA speaks only for its own host.
 * The dialing side checks the listener's certificate against the host it dials.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { checkServerIdentity, connect as connectTls, createServer as createTlsServer, Server as TlsServer, TLSSocket, type SecureContextOptions } from 'node:tls';
import type { Message, NodeId } from '../raft/index.js';
import { assert } from '../util/assert.js';
import { Throttle, type ClusterLogger } from './logger.js';
import { parseHostPort, type HostPort } from './peers.js';
import { DEFAULT_LIMITS, type PeerLinkStatus, type Transport, type TransportHandler, type TransportLimits } from './transport.js';
import { encodeFrame, frameProblem, FrameDecoder, MAX_FRAME_BYTES, MAX_HELLO_BYTES, PROTOCOL_VERSION, type ControlFrame, type Frame, type HelloFrame, type SnapFrame } from './wire.js';

export interface TcpTransportOptions {
  id: NodeId;
  /** Where to listen: the host of this member's --peers entry, and its port (or --peer-port). */
  listen: HostPort;
  /** undefined: a joining member, which adopts the cluster id of the first known member that calls it. */
  clusterId: string | undefined;
  /** This member's own --peers address, sent in hellos. */
  advertisedPeer: string;
  /** This member's HTTP URL, sent in hellos. */
  http: string;
  log: ClusterLogger;
  /** May member `id` talk to us (a member, or one being added)? */
  accepts(id: NodeId): boolean;
  /** A joining member learned its cluster id: persist it (resolve when durable). */
  adoptClusterId?(clusterId: string): Promise<void>;
  limits?: Partial<TransportLimits>;
  /** Mutual TLS on every link: `load` gives the certificate, key and CA (at start, and again on reloadTls). */
  tls?: { load(): SecureContextOptions };
}

const HELLO_TIMEOUT_MS = 10_000;
/** An idle outbound link sends a ping this often; an inbound link silent for 3 of them is presumed dead. */
const PING_MS = 1000;
const CONNECT_TIMEOUT_MS = 3_000;

interface Inbound {
  socket: Socket;
  from: NodeId | undefined;
  decoder: FrameDecoder;
  snap: { sid: number; next: number; head: NonNullable<SnapFrame['head']>; parts: Uint8Array[]; got: number } | undefined;
  /** Frames that arrived behind a hello while the cluster id was being persisted. */
  backlog: unknown[] | undefined;
  /** The caller's process id (hello.inc) and when it last sent anything. */
  inc: string;
  lastRecv: number;
}

export class TcpTransport implements Transport {
  readonly id: NodeId;
  private readonly opts: TcpTransportOptions;
  readonly limits: TransportLimits;
  private handler: TransportHandler | undefined;
  private server: Server | undefined;
  private readonly out = new Map<NodeId, OutLink>();
  private readonly inbound = new Set<Inbound>();
  private readonly lastHeard = new Map<NodeId, number>();
  private readonly helloInfo = new Map<NodeId, { http: string; peer: string }>();
  private clusterId: string | undefined;
  private adopting: Promise<void> | undefined;
  private nextSid = 1;
  private closed = false;
  private pinger: NodeJS.Timeout | undefined;
  private readonly inc = randomBytes(8).toString('hex');
  private tlsMaterial: SecureContextOptions | undefined;
  readonly throttle = new Throttle(30_000);

  constructor(opts: TcpTransportOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.clusterId = opts.clusterId;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  get log(): ClusterLogger {
    return this.opts.log;
  }

  get cluster(): string | undefined {
    return this.clusterId;
  }

  /** The port actually listened on (useful with port 0 in tests). */
  get port(): number {
    const a = this.server?.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  async start(handler: TransportHandler): Promise<void> {
    assert(this.handler === undefined, 'transport started twice');
    this.handler = handler;
    this.tlsMaterial = this.opts.tls?.load();
    const server = this.tlsMaterial !== undefined ? this.tlsServer(this.tlsMaterial) : createServer((s) => this.onInbound(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.listen.host, port: this.opts.listen.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error({ err: e }, 'peer listener error'));
    this.pinger = setInterval(() => {
      for (const l of this.out.values()) l.pingIfIdle(PING_MS);
    }, PING_MS);
    this.pinger.unref();
    this.log.info({ peerListen: `${this.opts.listen.host}:${this.port}`, clusterId: this.clusterId ?? '(joining: learned from the first member that calls)' }, 'listening for peers');
    for (const l of this.out.values()) l.kick();
  }

  private tlsServer(material: SecureContextOptions): TlsServer {
    const server = createTlsServer({ ...material, requestCert: true, rejectUnauthorized: true, handshakeTimeout: HELLO_TIMEOUT_MS }, (s) => this.onInbound(s));
    server.on('tlsClientError', (err, socket) => {
      const reason = `TLS handshake failed: ${err.message}`;
      if (this.throttle.ok(`refuse:${reason}`)) this.log.warn({ remote: socket.remoteAddress }, `refused a peer connection: ${reason}`);
    });
    return server;
  }

  /** The TLS material of new links, as it is now (undefined: plain TCP). */
  get tls(): SecureContextOptions | undefined {
    return this.tlsMaterial;
  }

  /** Loads the peer certificate files again: new links use them; a failed load keeps the old ones. */
  reloadTls(): void {
    const tls = this.opts.tls;
    if (tls === undefined || this.closed) return;
    let material: SecureContextOptions;
    try {
      material = tls.load();
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'peer TLS reload failed: the certificate in use is kept');
      return;
    }
    this.tlsMaterial = material;
    if (this.server instanceof TlsServer) this.server.setSecureContext(material);
    this.log.info({}, 'peer TLS certificate reloaded');
  }

  get handlerOrThrow(): TransportHandler {
    assert(this.handler !== undefined, 'transport not started');
    return this.handler;
  }

  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    if (this.closed) return;
    for (const [id, link] of [...this.out]) {
      const addr = peers.get(id);
      if (addr === undefined || addr !== link.address) {
        link.close();
        this.out.delete(id);
        if (addr === undefined) this.log.info({ peer: id }, 'stopped dialing a member that left the configuration');
      }
    }
    for (const [id, addr] of peers) {
      if (id === this.id || this.out.has(id)) continue;
      const link = new OutLink(this, id, addr);
      this.out.set(id, link);
      if (this.handler !== undefined) link.kick();
    }
  }

  send(m: Message): void {
    const link = this.out.get(m.to);
    if (link === undefined || !link.write(encodeFrame({ t: 'raft', m }))) this.handler?.unreachable(m.to);
  }

  sendSnapshot(m: Message, data: Uint8Array, config: Uint8Array): void {
    const link = this.out.get(m.to);
    if (link === undefined) {
      this.handler?.snapshotStatus(m.to, false);
      return;
    }
    void link.streamSnapshot(this.nextSid++, m, data, config);
  }

  sendControl(to: NodeId, f: ControlFrame): boolean {
    const link = this.out.get(to);
    return link !== undefined && link.write(encodeFrame(f));
  }

  links(): PeerLinkStatus[] {
    const now = Date.now();
    const out: PeerLinkStatus[] = [];
    for (const [id, l] of this.out) {
      const s: PeerLinkStatus = { id, address: l.address, connected: l.connected };
      const heard = this.lastHeard.get(id);
      if (heard !== undefined) s.lastHeardMs = now - heard;
      const info = this.helloInfo.get(id);
      if (info !== undefined) s.http = info.http;
      if (l.lastError !== undefined) s.lastError = l.lastError;
      out.push(s);
    }
    return out.sort((a, b) => a.id - b.id);
  }

  hello(to: NodeId): HelloFrame | undefined {
    if (this.clusterId === undefined) return undefined;
    return { t: 'hello', v: PROTOCOL_VERSION, cluster: this.clusterId, from: this.id, to, peer: this.opts.advertisedPeer, http: this.opts.http, inc: this.inc };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pinger !== undefined) clearInterval(this.pinger);
    for (const l of this.out.values()) l.close();
    this.out.clear();
    for (const i of this.inbound) i.socket.destroy();
    this.inbound.clear();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  // ---- inbound ----------------------------------------------------------------------------

  private onInbound(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn: Inbound = { socket, from: undefined, decoder: new FrameDecoder(MAX_HELLO_BYTES), snap: undefined, backlog: undefined, inc: '', lastRecv: Date.now() };
    this.inbound.add(conn);
    socket.setTimeout(HELLO_TIMEOUT_MS, () => {
      if (conn.from === undefined) {
        this.log.warn({ remote: socket.remoteAddress }, 'peer connection said no hello in time: closed');
        socket.destroy();
      }
    });
    socket.on('data', (chunk: Buffer) => this.onInboundData(conn, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.inbound.delete(conn);
    });
  }

  private onInboundData(conn: Inbound, chunk: Buffer): void {
    conn.lastRecv = Date.now();
    let values: unknown[];
    try {
      values = conn.decoder.push(chunk);
    } catch (e) {
      this.log.warn({ peer: conn.from, remote: conn.socket.remoteAddress, err: (e as Error).message }, 'dropped a peer connection that sent a malformed frame');
      conn.socket.destroy();
      return;
    }
    this.onValues(conn, values);
  }

  private onValues(conn: Inbound, values: unknown[]): void {
    for (const v of values) {
      if (conn.socket.destroyed) return;
      if (conn.backlog !== undefined) {
        conn.backlog.push(v);
        continue;
      }
      const why = frameProblem(v);
      if (why !== undefined) {
        this.log.warn({ peer: conn.from, remote: conn.socket.remoteAddress, problem: why }, 'dropped a malformed peer frame');
        continue;
      }
      const f = v as Frame;
      if (conn.from === undefined) {
        this.onHello(conn, f);
        continue;
      }
      this.lastHeard.set(conn.from, Date.now());
      this.onFrame(conn, conn.from, f);
    }
  }

  private refuse(conn: Inbound, reason: string, fields: object): void {
    if (this.throttle.ok(`refuse:${reason}`)) this.log.warn({ ...fields, remote: conn.socket.remoteAddress }, `refused a peer connection: ${reason}`);
    conn.socket.end(encodeFrame({ t: 'refuse', reason: `member ${this.id}: ${reason}` }));
    conn.socket.destroySoon();
  }

  private onHello(conn: Inbound, f: Frame): void {
    if (f.t !== 'hello') {
      this.refuse(conn, `expected a hello first, got '${f.t}'`, {});
      return;
    }
    if (f.v !== PROTOCOL_VERSION) return this.refuse(conn, `peer protocol version ${f.v} (this member speaks ${PROTOCOL_VERSION})`, { from: f.from });
    if (f.to !== this.id) {
      return this.refuse(conn, `member ${f.from} called member ${f.to} at this address, but member ${this.id} listens here: check --peers on member ${f.from}`, { from: f.from });
    }
    if (f.from === this.id) return this.refuse(conn, `a member calls itself member ${this.id}: two members have the same --id`, { from: f.from });
    if (!this.opts.accepts(f.from)) return this.refuse(conn, `member ${f.from} is not a member of this cluster (as member ${this.id} knows it)`, { from: f.from });
    const forged = this.certificateProblem(conn, f.from);
    if (forged !== undefined) return this.refuse(conn, forged, { from: f.from });
    if (this.clusterId === undefined) {
      // A joining member adopts the id of the first member of its --peers list that calls it.
      if (this.opts.adoptClusterId === undefined) return this.refuse(conn, 'this member has no cluster id', { from: f.from });
      conn.socket.pause();
      conn.backlog = [];
      this.adopting ??= this.opts.adoptClusterId(f.cluster).then(() => {
        this.clusterId = f.cluster;
        this.log.info({ clusterId: f.cluster, from: f.from }, 'joined: adopted the cluster id of the member that called');
        for (const l of this.out.values()) l.kick();
      });
      this.adopting.then(
        () => {
          const backlog = conn.backlog ?? [];
          conn.backlog = undefined;
          this.acceptHello(conn, f);
          if (conn.from !== undefined) this.onValues(conn, backlog);
          conn.socket.resume();
        },
        (e: unknown) => {
          this.log.error({ err: e }, 'could not persist the cluster id');
          conn.socket.destroy();
        },
      );
      return;
    }
    if (f.cluster !== this.clusterId) {
      return this.refuse(
        conn,
        `member ${f.from} belongs to cluster ${f.cluster}, this member to cluster ${this.clusterId}: their initial --peers lists disagree, or a data dir comes from another cluster`,
        { from: f.from },
      );
    }
    this.acceptHello(conn, f);
  }

  /** Under peer TLS: why the caller's certificate may not speak for member `from` (undefined: it may). */
  private certificateProblem(conn: Inbound, from: NodeId): string | undefined {
    if (this.tlsMaterial === undefined) return undefined;
    const socket = conn.socket;
    if (!(socket instanceof TLSSocket) || !socket.authorized) return `member ${from} did not present a certificate of the peer CA`;
    // The configured address, never the one the caller's hello claims.
    const address = this.out.get(from)?.address;
    if (address === undefined) return `member ${from} has no known address to check its certificate against`;
    const host = parseHostPort(address).host;
    const mismatch = checkServerIdentity(host, socket.getPeerCertificate());
    if (mismatch === undefined) return undefined;
    return `member ${from}'s certificate does not match ${host}, the host of its --peers entry (${mismatch.message})`;
  }

  private acceptHello(conn: Inbound, f: HelloFrame): void {
    if (f.cluster !== this.clusterId) {
      this.refuse(conn, `member ${f.from} belongs to cluster ${f.cluster}, this member to cluster ${this.clusterId}`, { from: f.from });
      return;
    }
    const now = Date.now();
    for (const other of this.inbound) {
      if (other === conn || other.from !== f.from || other.socket.destroyed) continue;
      if (other.inc !== f.inc && now - other.lastRecv < 3 * PING_MS) {
        // Another live process already speaks as this member: two members share an --id.
        this.refuse(conn, `member ${f.from} is already connected from another live process (${other.socket.remoteAddress}:${other.socket.remotePort}): two members started with --id ${f.from}?`, { from: f.from });
        return;
      }
    }
    for (const other of this.inbound) {
      if (other !== conn && other.from === f.from) other.socket.destroy(); // the peer reconnected: the old link is dead
    }
    conn.from = f.from;
    conn.inc = f.inc;
    conn.decoder.limit = MAX_FRAME_BYTES;
    conn.socket.setTimeout(0);
    this.lastHeard.set(f.from, Date.now());
    this.helloInfo.set(f.from, { http: f.http, peer: f.peer });
    this.log.debug({ from: f.from, http: f.http }, 'peer connected');
    this.handlerOrThrow.hello(f.from, { http: f.http, peer: f.peer });
  }

  private onFrame(conn: Inbound, from: NodeId, f: Frame): void {
    const h = this.handlerOrThrow;
    switch (f.t) {
      case 'raft':
        if (f.m.from !== from) {
          if (this.throttle.ok(`spoof:${from}`)) this.log.warn({ from, claimed: f.m.from, type: f.m.type }, 'dropped a Raft message whose sender is not the member on the link');
          return;
        }
        h.raft(f.m);
        return;
      case 'snap':
        this.onSnapChunk(conn, from, f);
        return;
      case 'fwd':
      case 'fwdResp':
      case 'admin':
      case 'adminResp':
      case 'ka':
        h.control(from, f);
        return;
      case 'ping':
        return;
      default:
        this.log.warn({ from, type: f.t }, 'dropped an unexpected peer frame');
    }
  }

  private onSnapChunk(conn: Inbound, from: NodeId, f: SnapFrame): void {
    if (f.seq === 0) {
      const head = f.head!;
      if (conn.snap !== undefined) this.log.warn({ from }, 'a snapshot stream restarted before it ended: the partial one is dropped');
      if (head.m.from !== from || head.size > this.limits.maxSnapshotBytes) {
        this.log.warn({ from, size: head.size, bound: this.limits.maxSnapshotBytes }, 'refused a snapshot stream (wrong sender or too large)');
        conn.snap = undefined;
        return;
      }
      conn.snap = { sid: f.sid, next: 0, head, parts: [], got: 0 };
    }
    const s = conn.snap;
    if (s === undefined || s.sid !== f.sid || s.next !== f.seq) {
      if (this.throttle.ok(`snapseq:${from}`)) this.log.warn({ from, sid: f.sid, seq: f.seq }, 'dropped an out-of-sequence snapshot chunk');
      conn.snap = undefined;
      return;
    }
    s.next++;
    s.got += f.chunk.length;
    if (s.got > s.head.size) {
      this.log.warn({ from, got: s.got, size: s.head.size }, 'snapshot stream longer than announced: dropped');
      conn.snap = undefined;
      return;
    }
    s.parts.push(f.chunk);
    if (!f.last) return;
    conn.snap = undefined;
    if (s.got !== s.head.size) {
      this.log.warn({ from, got: s.got, size: s.head.size }, 'snapshot stream shorter than announced: dropped');
      return;
    }
    const data = s.parts.length === 1 ? s.parts[0]! : Buffer.concat(s.parts);
    const m = s.head.m;
    m.snapshot = { meta: m.snapshot!.meta, data };
    this.log.info({ from, index: m.snapshot.meta.index, bytes: data.length }, 'received a snapshot');
    this.handlerOrThrow.raft(m, s.head.config);
  }
}

const PING = encodeFrame({ t: 'ping' });

/** Our outbound connection to one peer. */
class OutLink {
  socket: Socket | undefined;
  connected = false;
  private connecting = false;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  lastError: string | undefined;
  private wasUp = false;
  private snapshotBusy = false;

  constructor(
    private readonly t: TcpTransport,
    readonly id: NodeId,
    readonly address: string,
  ) {}

  /** Connects now if idle (also after the cluster id became known). */
  kick(): void {
    if (this.closed || this.connected || this.connecting || this.timer !== undefined) return;
    this.dial();
  }

  private dial(): void {
    this.timer = undefined;
    if (this.closed || this.t.isClosed) return;
    const hello = this.t.hello(this.id);
    if (hello === undefined) return; // joining: dial once the cluster id is known (kick)
    let hp: HostPort;
    try {
      hp = parseHostPort(this.address);
    } catch (e) {
      this.lastError = (e as Error).message;
      return;
    }
    this.connecting = true;
    const tls = this.t.tls;
    // Over TLS the link is up once the handshake verified the listener's certificate for hp.host.
    const socket = tls !== undefined ? connectTls({ ...tls, host: hp.host, port: hp.port }) : connect({ host: hp.host, port: hp.port });
    const up = tls !== undefined ? 'secureConnect' : 'connect';
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!this.connected) socket.destroy(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`));
    });
    const decoder = new FrameDecoder(MAX_HELLO_BYTES);
    socket.on(up, () => {
      this.connecting = false;
      this.connected = true;
      this.failures = 0;
      this.lastError = undefined;
      socket.setTimeout(0);
      socket.write(encodeFrame(hello));
      this.t.throttle.forget(`down:${this.id}`);
      if (!this.wasUp) this.t.log.info({ peer: this.id, address: this.address }, 'connected to peer');
      this.wasUp = true;
    });
    socket.on('data', (chunk: Buffer) => {
      // The listener only ever answers a refusal.
      try {
        for (const v of decoder.push(chunk)) {
          const f = v as Frame;
          if (frameProblem(v) === undefined && f.t === 'refuse') {
            this.lastError = f.reason;
            if (this.t.throttle.ok(`refused:${this.id}:${f.reason}`)) this.t.log.warn({ peer: this.id, address: this.address, reason: f.reason }, 'peer refused our connection');
          }
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', (e: Error) => {
      this.lastError ??= e.message;
      if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.t.handlerOrThrow.refused(this.id);
      if (this.t.throttle.ok(`down:${this.id}`)) {
        this.t.log.warn({ peer: this.id, address: this.address, err: e.message }, this.wasUp ? 'lost the connection to a peer; reconnecting with backoff' : 'cannot reach a peer yet; retrying with backoff');
      }
    });
    socket.on('close', () => {
      const was = this.connected;
      this.connected = false;
      this.connecting = false;
      if (this.socket === socket) this.socket = undefined;
      if (was) {
        this.t.handlerOrThrow.unreachable(this.id);
        this.t.handlerOrThrow.linkDown(this.id);
      }
      if (was && this.wasUp) this.wasUp = false;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.closed || this.t.isClosed || this.timer !== undefined) return;
    const { backoffMinMs, backoffMaxMs } = this.t.limits;
    const base = Math.min(backoffMaxMs, backoffMinMs * 2 ** Math.min(this.failures, 16));
    this.failures++;
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.timer = setTimeout(() => this.dial(), delay);
  }

  private lastWrite = 0;

  /** Queues a frame; false (dropped) when not connected or the queue is over its bound. */
  write(buf: Buffer): boolean {
    const s = this.socket;
    if (!this.connected || s === undefined || s.destroyed) return false;
    if (s.writableLength + buf.length > this.t.limits.maxQueueBytes) return false;
    s.write(buf);
    this.lastWrite = Date.now();
    return true;
  }

  pingIfIdle(idleMs: number): void {
    if (this.connected && Date.now() - this.lastWrite >= idleMs) this.write(PING);
  }

  async streamSnapshot(sid: number, m: Message, data: Uint8Array, config: Uint8Array): Promise<void> {
    const h = this.t.handlerOrThrow;
    if (this.snapshotBusy || !this.connected) {
      h.snapshotStatus(this.id, false);
      return;
    }
    this.snapshotBusy = true;
    const socket = this.socket!;
    const chunkBytes = this.t.limits.snapshotChunkBytes;
    let ok = true;
    try {
      const headMsg: Message = { ...m, snapshot: { meta: m.snapshot!.meta, data: new Uint8Array(0) } };
      let seq = 0;
      for (let off = 0; off === 0 || off < data.length; off += chunkBytes) {
        if (socket !== this.socket || !this.connected || this.closed) {
          ok = false;
          break;
        }
        const last = off + chunkBytes >= data.length;
        const f: SnapFrame = { t: 'snap', sid, seq, chunk: data.subarray(off, Math.min(data.length, off + chunkBytes)), last };
        if (seq === 0) f.head = { m: headMsg, config, size: data.length };
        seq++;
        const written = await new Promise<boolean>((resolve) => {
          const flushed = socket.write(encodeFrame(f), (err) => {
            if (last) resolve(err === undefined || err === null);
          });
          if (last) return;
          if (flushed) resolve(true);
          else {
            const onDrain = (): void => {
              socket.off('close', onClose);
              resolve(true);
            };
            const onClose = (): void => {
              socket.off('drain', onDrain);
              resolve(false);
            };
            socket.once('drain', onDrain);
            socket.once('close', onClose);
          }
        });
        if (!written) {
          ok = false;
          break;
        }
        if (last) break;
      }
    } catch (e) {
      this.t.log.warn({ peer: this.id, err: (e as Error).message }, 'snapshot stream failed');
      ok = false;
    } finally {
      this.snapshotBusy = false;
    }
    this.t.log.info({ peer: this.id, index: m.snapshot!.meta.index, bytes: data.length, ok }, ok ? 'sent a snapshot' : 'snapshot stream broke');
    h.snapshotStatus(this.id, ok);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.connected = false;
  }
}
