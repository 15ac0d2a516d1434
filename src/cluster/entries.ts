/**
 * How Raft entries are stored and what the member is handed.
 *
 * Storage keeps {index, term, data} with opaque data, while Raft entries also have a type:
 * a confChange entry is stored with a two-byte tag in front of its data. Member entries (an
 * encoded EntryPayload: a msgpack map) and the leader's empty entries are stored as they
 * are. The tag's first byte is 0xc1, which msgpack never uses, so no member entry starts
 * with it. Cluster records (a new member's addresses, see membership.ts) are normal Raft
 * entries with their own tag.
 *
 * The member applies every index in order; entries that are not its own (empty, conf change,
 * cluster record) reach it as a noop EntryPayload from origin 0.
 */
import type { EntryPayload } from '../log/replicated-log.js';
import type { Entry } from '../raft/index.js';
import type { LogEntry } from '../storage/index.js';
import { assert } from '../util/assert.js';
import { decode, encode } from '../util/codec.js';
import { isMemberId } from './peers.js';

const TAG = 0xc1;
const CONF = 0x43; // 'C'
const RECORD = 0x52; // 'R'

export function toStorageEntry(e: Entry): LogEntry {
  if (e.type === 'normal') return { index: e.index, term: e.term, data: e.data };
  const data = new Uint8Array(e.data.length + 2);
  data[0] = TAG;
  data[1] = CONF;
  data.set(e.data, 2);
  return { index: e.index, term: e.term, data };
}

export function fromStorageEntry(e: LogEntry): Entry {
  const d = e.data;
  if (d.length >= 2 && d[0] === TAG && d[1] === CONF) return { index: e.index, term: e.term, type: 'confChange', data: d.subarray(2) };
  return { index: e.index, term: e.term, type: 'normal', data: d };
}

/** A new member's addresses, replicated before the conf change that adds it. */
export interface MemberRecord {
  kind: 'member';
  id: number;
  peer: string;
  http: string;
}

export function encodeRecord(r: MemberRecord): Uint8Array {
  const body = encode({ kind: r.kind, id: r.id, peer: r.peer, http: r.http });
  const out = new Uint8Array(body.length + 2);
  out[0] = TAG;
  out[1] = RECORD;
  out.set(body, 2);
  return out;
}

/** The record in a normal entry's data, or undefined when the entry is not a cluster record. */
export function decodeRecord(data: Uint8Array): MemberRecord | undefined {
  if (data.length < 2 || data[0] !== TAG || data[1] !== RECORD) return undefined;
  const v = decode(data.subarray(2)) as Partial<MemberRecord> | null;
  // We wrote it through the log: malformed means the log is broken.
  assert(v !== null && typeof v === 'object' && v.kind === 'member' && isMemberId(v.id) && typeof v.peer === 'string' && typeof v.http === 'string', 'malformed cluster record in the log');
  return { kind: 'member', id: v.id, peer: v.peer, http: v.http };
}

const NOOP: EntryPayload = { op: { op: 'noop' }, timeMs: 0, origin: 0, reqId: 0 };
/** What the member applies for an index that carries none of its writes. */
export const NOOP_PAYLOAD: Uint8Array = encode(NOOP);

/** True when a normal entry's data is a member write (not empty, not a cluster record). */
export function isMemberPayload(data: Uint8Array): boolean {
  return data.length > 0 && data[0] !== TAG;
}
