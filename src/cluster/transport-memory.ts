/**
 * An in-process Transport for tests of the Raft loop and for the simulator: members of one
 * MemoryNetwork reach each other through it, frames go through the same msgpack encoding as
 * on TCP, and the network can cut links (one way or both) to simulate partitions and dead
 * members. How a frame travels is the network's MemoryLinks: by default it arrives on the
 * next turn of the event loop; the simulator (tools/sim) passes links of its own that delay,
 * drop, duplicate and partition on virtual time, so that a run is deterministic.
 */
import type { Message, NodeId } from '../raft/index.js';
import { assert } from '../util/assert.js';
import { systemClock, type Clock } from '../util/clock.js';
import { decode, encode } from '../util/codec.js';
import type { PeerLinkStatus, Transport, TransportHandler } from './transport.js';
import { frameProblem, type ControlFrame } from './wire.js';

/** How frames travel between the members of a MemoryNetwork. */
export interface MemoryLinks {
  /**
   * Carries one frame from → to: calls `arrive` once (or more: a duplicate) when it arrives,
   * or `lost` if it is lost on the way. False when it is lost at once (then neither is called).
   */
  carry(from: NodeId, to: NodeId, arrive: () => void, lost: () => void): boolean;
  /** Whether the link from → to is up (a transport's links().connected). */
  up(from: NodeId, to: NodeId): boolean;
}

/** Every frame arrives on the next turn of the clock's event loop, in send order. */
export function nextTurnLinks(clock: Clock): MemoryLinks {
  return {
    carry(_from, _to, arrive) {
      void clock.yieldTurn().then(arrive);
      return true;
    },
    up: () => true,
  };
}

export interface MemoryNetworkOptions {
  clock?: Clock;
  links?: MemoryLinks;
}

export class MemoryNetwork {
  readonly clock: Clock;
  private readonly links: MemoryLinks;
  private readonly members = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();

  constructor(opts: MemoryNetworkOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.links = opts.links ?? nextTurnLinks(this.clock);
  }

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
    return this.members.has(to) && !this.cut.has(`${from}>${to}`) && this.links.up(from, to);
  }

  /**
   * Sends through the codec; false when `to` is not reachable now. `lost`: told when the frame
   * is lost on the way (by the links, or because `to` became unreachable meanwhile).
   */
  deliver(from: NodeId, to: NodeId, frame: unknown, lost: () => void = () => undefined): boolean {
    if (!this.reachable(from, to)) return false;
    const bytes = encode(frame);
    const arrive = (): void => {
      const target = this.members.get(to);
      if (target === undefined || !this.reachable(from, to)) {
        lost();
        return;
      }
      target.receive(from, decode(bytes));
    };
    return this.links.carry(from, to, arrive, lost);
  }

  hello(from: MemoryTransport, to: NodeId): void {
    this.members.get(to)?.helloFrom(from.id, from.http);
  }

  /** `dead`'s address refuses connections (its process is gone), as `to` finds out when it calls. */
  refused(dead: NodeId, to: NodeId): void {
    this.members.get(to)?.peerRefused(dead);
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

  peerRefused(from: NodeId): void {
    if (!this.closed) this.handler?.refused(from);
  }

  receive(from: NodeId, v: unknown): void {
    if (this.closed || this.handler === undefined) return;
    this.heard.set(from, this.net.clock.monoMs());
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
    const lost = (): void => {
      if (!this.closed) this.handler?.unreachable(m.to);
    };
    if (!this.peers.has(m.to) || !this.net.deliver(this.id, m.to, { t: 'raft', m }, lost)) this.handler?.unreachable(m.to);
  }

  /** The whole snapshot in one frame; the sender hears ok once it left (as TCP: fully written), not ok when it could not leave or was lost first. */
  sendSnapshot(m: Message, data: Uint8Array, config: Uint8Array): void {
    const full: Message = { ...m, snapshot: { meta: m.snapshot!.meta, data } };
    let reported = false;
    const status = (ok: boolean): void => {
      if (reported || this.closed) return;
      reported = true;
      this.handler?.snapshotStatus(m.to, ok);
    };
    const frame = { t: 'snapWhole', m: full, config };
    const sent = !this.closed && this.peers.has(m.to) && this.net.deliver(this.id, m.to, frame, () => status(false));
    if (sent) void this.net.clock.yieldTurn().then(() => status(true));
    else void this.net.clock.yieldTurn().then(() => status(false));
  }

  sendControl(to: NodeId, f: ControlFrame): boolean {
    if (this.closed || !this.peers.has(to)) return false;
    return this.net.deliver(this.id, to, f);
  }

  links(): PeerLinkStatus[] {
    const now = this.net.clock.monoMs();
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
