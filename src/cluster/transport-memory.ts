/**
 * An in-process Transport for tests of the Raft loop: members of one MemoryNetwork reach
 * each other through it, frames go through the same msgpack encoding as on TCP, and the
 * network can cut links (one way or both) to simulate partitions and dead members.
 */
import type { Message, NodeId } from '../raft/index.js';
import { assert } from '../util/assert.js';
import { decode, encode } from '../util/codec.js';
import type { PeerLinkStatus, Transport, TransportHandler } from './transport.js';
import { frameProblem, type ControlFrame } from './wire.js';

export class MemoryNetwork {
  private readonly members = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();

  transport(id: NodeId, http = `mem://${id}`): MemoryTransport {
    return new MemoryTransport(this, id, http);
  }

  register(t: MemoryTransport): void {
    this.members.set(t.id, t);
  }

  unregister(t: MemoryTransport): void {
    if (this.members.get(t.id) === t) this.members.delete(t.id);
  }

  /** Stops delivery from a to b (and b to a unless oneWay). */
  block(a: NodeId, b: NodeId, oneWay = false): void {
    this.cut.add(`${a}>${b}`);
    if (!oneWay) this.cut.add(`${b}>${a}`);
  }

  /** Cuts every link of `id`. */
  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.block(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  reachable(from: NodeId, to: NodeId): boolean {
    return this.members.has(to) && !this.cut.has(`${from}>${to}`);
  }

  /** Delivers after the current turn of the event loop, through the codec. */
  deliver(from: NodeId, to: NodeId, frame: unknown): boolean {
    if (!this.reachable(from, to)) return false;
    const bytes = encode(frame);
    setImmediate(() => {
      if (!this.reachable(from, to)) return;
      this.members.get(to)?.receive(from, decode(bytes));
    });
    return true;
  }

  hello(from: MemoryTransport, to: NodeId): void {
    this.members.get(to)?.helloFrom(from.id, from.http);
  }
}

export class MemoryTransport implements Transport {
  private handler: TransportHandler | undefined;
  private peers = new Map<NodeId, string>();
  private closed = false;
  private readonly heard = new Map<NodeId, number>();

  constructor(
    private readonly net: MemoryNetwork,
    readonly id: NodeId,
    readonly http: string,
  ) {}

  async start(handler: TransportHandler): Promise<void> {
    assert(this.handler === undefined, 'transport started twice');
    this.handler = handler;
    this.net.register(this);
    for (const id of this.peers.keys()) this.net.hello(this, id);
  }

  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    const before = this.peers;
    this.peers = new Map([...peers].filter(([id]) => id !== this.id));
    if (this.handler === undefined) return;
    for (const id of this.peers.keys()) if (!before.has(id)) this.net.hello(this, id);
  }

  helloFrom(from: NodeId, http: string): void {
    this.handler?.hello(from, { http });
  }

  receive(from: NodeId, v: unknown): void {
    if (this.closed || this.handler === undefined) return;
    this.heard.set(from, Date.now());
    const f = v as { t: string; m?: Message; config?: Uint8Array };
    if (f.t === 'snapWhole') {
      this.handler.raft(f.m!, f.config);
      return;
    }
    const why = frameProblem(v);
    assert(why === undefined, () => `memory transport: malformed frame ${why}`);
    if (f.t === 'raft') this.handler.raft(f.m!);
    else this.handler.control(from, v as ControlFrame);
  }

  send(m: Message): void {
    if (this.closed) return;
    if (!this.peers.has(m.to) || !this.net.deliver(this.id, m.to, { t: 'raft', m })) this.handler?.unreachable(m.to);
  }

  sendSnapshot(m: Message, data: Uint8Array, config: Uint8Array): void {
    const full: Message = { ...m, snapshot: { meta: m.snapshot!.meta, data } };
    const ok = !this.closed && this.peers.has(m.to) && this.net.deliver(this.id, m.to, { t: 'snapWhole', m: full, config });
    setImmediate(() => this.handler?.snapshotStatus(m.to, ok));
  }

  sendControl(to: NodeId, f: ControlFrame): boolean {
    if (this.closed || !this.peers.has(to)) return false;
    return this.net.deliver(this.id, to, f);
  }

  links(): PeerLinkStatus[] {
    const now = Date.now();
    return [...this.peers].map(([id, address]) => {
      const heard = this.heard.get(id);
      return { id, address, connected: this.net.reachable(this.id, id), ...(heard !== undefined ? { lastHeardMs: now - heard } : {}) };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.net.unregister(this);
  }
}
