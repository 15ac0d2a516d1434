/**
 * The peer protocol's frames: a u32 big-endian length, then one msgpack value (util/codec).
 * Every connection starts with a hello from the dialer; connections carry traffic one way
 * (each member dials each peer and sends on its own link), so an answer travels on the
 * answering member's own link.
 *
 *   hello     dialer → listener: protocol version, cluster id, who is calling whom, the
 *             caller's peer address and HTTP URL (GET /v1/cluster shows every member's URL),
 *             and a random id of the calling process (two live processes claiming one member
 *             id are told apart by it)
 *   ping      sent on an idle link every second, so the listener knows the caller is alive
 *   refuse    listener → dialer, then close: why the hello was refused (logged by the dialer)
 *   raft      one Raft message (never a MsgSnap)
 *   snap      one chunk of a MsgSnap: the first carries the message (without its data), the
 *             membership config and the total size; the receiver reassembles, then steps
 *   fwd / fwdResp      a follower's proposal forwarded to the leader, and the leader's verdict
 *   admin / adminResp  a membership change asked on a follower, run by the leader
 *   ka        a follower's batch of session keepalives for the leader's expiry clock
 */
import { ZgateError } from '../core/errors.js';
import { validateMessage, type Message } from '../raft/index.js';
import { decode, encode } from '../util/codec.js';
import { MAX_ENTRY_DATA } from '../storage/index.js';
import { isMemberId } from './peers.js';

export const PROTOCOL_VERSION = 1;

/** No frame is larger: the largest log entry (a MsgApp always carries one) plus headroom. */
export const MAX_FRAME_BYTES = MAX_ENTRY_DATA + (1 << 20);
/** A hello is small; a connection that sends more before saying who it is is dropped. */
export const MAX_HELLO_BYTES = 4096;

export interface HelloFrame {
  t: 'hello';
  v: number;
  cluster: string;
  from: number;
  to: number;
  peer: string;
  http: string;
  /** Random per process: a reconnect of the same process, or another process with the same id. */
  inc: string;
}
export interface PingFrame {
  t: 'ping';
}
export interface RefuseFrame {
  t: 'refuse';
  reason: string;
}
export interface RaftFrame {
  t: 'raft';
  m: Message;
}
export interface SnapFrame {
  t: 'snap';
  /** Stream id (per sender), so a broken stream's chunks never mix with the next one's. */
  sid: number;
  seq: number;
  /** First chunk only: the MsgSnap (snapshot.data empty), the membership config, the data size. */
  head?: { m: Message; config: Uint8Array; size: number };
  chunk: Uint8Array;
  last: boolean;
}
export interface FwdFrame {
  t: 'fwd';
  rid: number;
  data: Uint8Array;
}
export interface FwdRespFrame {
  t: 'fwdResp';
  rid: number;
  ok: boolean;
  /** A refusal's reason (the core's, or 'closed'); `leader` is the leader as the answerer knows it. */
  reason: string;
  leader: number;
}
export interface AdminFrame {
  t: 'admin';
  rid: number;
  op: 'add' | 'remove';
  id: number;
  peer: string;
  http: string;
}
export interface AdminRespFrame {
  t: 'adminResp';
  rid: number;
  ok: boolean;
  /** A ZkCode when !ok. */
  code: string;
  message: string;
  /** The index at which the change applied (ok). */
  index: number;
  /** Not ok, and nothing was done: the asker may retry (e.g. at the next leader). */
  retry: boolean;
}

export interface KeepaliveFrame {
  t: 'ka';
  /** Session ids (64-bit). */
  ids: bigint[];
}

/** Bound on one keepalive batch. */
export const MAX_KEEPALIVE_IDS = 100_000;

export type ControlFrame = FwdFrame | FwdRespFrame | AdminFrame | AdminRespFrame | KeepaliveFrame;
export type Frame = HelloFrame | PingFrame | RefuseFrame | RaftFrame | SnapFrame | ControlFrame;

/** Length prefix + msgpack. */
export function encodeFrame(f: Frame): Buffer {
  const body = encode(f);
  if (body.length > MAX_FRAME_BYTES) throw new ZgateError('PayloadTooLarge', `peer frame of ${body.length} bytes (max ${MAX_FRAME_BYTES})`);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/**
 * Splits a byte stream into frames. `limit` bounds one frame (a larger length prefix is a
 * protocol error: the connection is dropped). Returns the decoded values, unchecked. Chunks
 * of a large frame are kept as they come and joined once, when the frame is complete.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Body length of the frame being read, once its prefix is in. */
  private need = -1;

  constructor(public limit: number) {}

  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.size < 4) break;
        if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
        const len = this.chunks[0]!.readUInt32BE(0);
        if (len > this.limit) throw new ZgateError('BadArguments', `peer frame of ${len} bytes over the bound of ${this.limit}`);
        this.need = len;
      }
      if (this.size < 4 + this.need) break;
      const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const end = 4 + this.need;
      out.push(decode(buf.subarray(4, end)));
      const rest = buf.subarray(end);
      // Don't pin a large buffer for a small leftover.
      this.chunks = rest.length === 0 ? [] : [rest.length * 4 < buf.length && buf.length > 65536 ? Buffer.from(rest) : rest];
      this.size = rest.length;
      this.need = -1;
    }
    return out;
  }

  get buffered(): number {
    return this.size;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length <= max;

/** Why `v` is not a well-formed frame, or undefined. Raft messages are checked with the core's own validator. */
export function frameProblem(v: unknown): string | undefined {
  if (!isRecord(v)) return 'not an object';
  switch (v.t) {
    case 'hello':
      if (!isCount(v.v) || !isStr(v.cluster, 64) || !isMemberId(v.from) || !isMemberId(v.to) || !isStr(v.peer) || !isStr(v.http) || !isStr(v.inc, 64)) return 'bad hello';
      return undefined;
    case 'ping':
      return undefined;
    case 'refuse':
      return isStr(v.reason, 4096) ? undefined : 'bad refuse';
    case 'raft': {
      const why = validateMessage(v.m as Message);
      if (why !== undefined) return `raft: ${why}`;
      return (v.m as Message).type === 'MsgSnap' ? 'raft: a MsgSnap must be streamed' : undefined;
    }
    case 'snap': {
      if (!isCount(v.sid) || !isCount(v.seq) || !(v.chunk instanceof Uint8Array) || typeof v.last !== 'boolean') return 'bad snap chunk';
      if (v.seq === 0) {
        const h = v.head;
        if (!isRecord(h) || !isCount(h.size) || !(h.config instanceof Uint8Array)) return 'bad snap head';
        const why = validateMessage(h.m as Message);
        if (why !== undefined) return `snap: ${why}`;
        if ((h.m as Message).type !== 'MsgSnap') return 'snap head is not a MsgSnap';
      } else if (v.head !== undefined) return 'snap head on a later chunk';
      return undefined;
    }
    case 'fwd':
      return isCount(v.rid) && v.data instanceof Uint8Array ? undefined : 'bad fwd';
    case 'fwdResp':
      return isCount(v.rid) && typeof v.ok === 'boolean' && isStr(v.reason) && isCount(v.leader) ? undefined : 'bad fwdResp';
    case 'admin':
      return isCount(v.rid) && (v.op === 'add' || v.op === 'remove') && isMemberId(v.id) && isStr(v.peer) && isStr(v.http) ? undefined : 'bad admin';
    case 'adminResp':
      return isCount(v.rid) && typeof v.ok === 'boolean' && isStr(v.code) && isStr(v.message, 4096) && isCount(v.index) && typeof v.retry === 'boolean' ? undefined : 'bad adminResp';
    case 'ka':
      return Array.isArray(v.ids) && v.ids.length <= MAX_KEEPALIVE_IDS && v.ids.every((x) => typeof x === 'bigint') ? undefined : 'bad ka';
    default:
      return `unknown frame type ${JSON.stringify(v.t)}`;
  }
}
