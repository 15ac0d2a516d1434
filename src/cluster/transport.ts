/**
 * How members reach each other: the Transport interface the Raft loop drives, with a TCP
 * implementation (transport-tcp.ts) and an in-memory one for in-process tests
 * (transport-memory.ts).
 *
 * Delivery is best effort and per-peer FIFO: a frame to a peer that is not connected, or
 * whose outbound queue is over its bound, is dropped and the loop told (`unreachable`), and
 * Raft retries. A MsgSnap is streamed in chunks and reassembled by the receiver before it
 * reaches the core; the sender hears `snapshotStatus(to, ok)` when the stream ended.
 */
import type { Message, NodeId } from '../raft/index.js';
import type { ControlFrame } from './wire.js';

export interface PeerInfo {
  /** What the peer said in its hello (undefined until it has called us). */
  http?: string;
  peer?: string;
}

export interface TransportHandler {
  /** A Raft message from a peer (a MsgSnap arrives whole, with the membership config its sender attached). */
  raft(m: Message, snapConfig?: Uint8Array): void;
  /** A forwarding or admin frame from peer `from`. */
  control(from: NodeId, f: ControlFrame): void;
  /** A message to `to` was dropped (not connected, queue full, stream broke). */
  unreachable(to: NodeId): void;
  /** Our link to `to` broke: frames sent on it may or may not have arrived. */
  linkDown(to: NodeId): void;
  /**
   * A connection attempt to `to` was refused outright (ECONNREFUSED): nothing listens at its
   * address, so its process is gone (killed, crashed, stopped), not merely slow or cut off.
   */
  refused(to: NodeId): void;
  /** A MsgSnap stream to `to` ended: fully written (ok) or broken. */
  snapshotStatus(to: NodeId, ok: boolean): void;
  /** A peer introduced itself (a hello was accepted). */
  hello(from: NodeId, info: PeerInfo): void;
}

export interface PeerLinkStatus {
  id: NodeId;
  address: string;
  /** Our link to it is up. */
  connected: boolean;
  /** ms since we last received anything from it (undefined: never). */
  lastHeardMs?: number;
  http?: string;
  lastError?: string;
}

export interface Transport {
  readonly id: NodeId;
  /** Starts listening (TCP) or registering (memory); calls the handler from then on. */
  start(handler: TransportHandler): Promise<void>;
  /** The peers to dial, id → address (host:port); links to ids no longer listed are closed. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void;
  /** Sends a Raft message (not a MsgSnap). */
  send(m: Message): void;
  /** Streams a MsgSnap whose snapshot data is `data`, with the membership `config` attached. */
  sendSnapshot(m: Message, data: Uint8Array, config: Uint8Array): void;
  /** Sends a control frame; false when it was dropped at once (not connected, queue full). */
  sendControl(to: NodeId, f: ControlFrame): boolean;
  links(): PeerLinkStatus[];
  close(): Promise<void>;
}

/** Bounds and timings shared by the implementations. */
export interface TransportLimits {
  /** Bytes queued for one peer beyond which frames are dropped. Default 32 MiB. */
  maxQueueBytes: number;
  /** Size of one snapshot chunk. Default 1 MiB. */
  snapshotChunkBytes: number;
  /** Largest snapshot accepted from a peer. Default 4 GiB. */
  maxSnapshotBytes: number;
  /** Reconnect backoff: first delay, doubled per failure up to the max (with jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_LIMITS: TransportLimits = {
  maxQueueBytes: 32 << 20,
  snapshotChunkBytes: 1 << 20,
  maxSnapshotBytes: 4 * 1024 * 1024 * 1024,
  backoffMinMs: 50,
  backoffMaxMs: 2000,
};
