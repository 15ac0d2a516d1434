/**
 * Who is in the cluster and where to reach them, as of every applied index.
 *
 * The Raft core's ConfChange carries only {type, id}, so a member's addresses travel as a
 * cluster record (entries.ts) proposed just before the conf change that adds it; a remove
 * drops them. Both apply at their index on every member, so every member knows every
 * member's address, and so will a member that restarts or joins later: the state as of a
 * snapshot's index is written into the snapshot's meta (`config`) and travels with MsgSnap.
 * Addresses given in this member's own --peers win for dialing (an operator's explicit
 * choice, e.g. a proxy in between); the replicated ones fill in the rest.
 *
 * Versions are kept back to the latest snapshot so that `asOf(index)` answers for a snapshot
 * taken at an index the loop has already applied past.
 */
import type { ConfChange } from '../raft/index.js';
import { assert } from '../util/assert.js';
import { decode, encode } from '../util/codec.js';
import type { MemberRecord } from './entries.js';
import { isMemberId } from './peers.js';

export interface MemberAddress {
  peer: string;
  http: string;
}

export interface ClusterConfig {
  voters: number[];
  addresses: Map<number, MemberAddress>;
  /** Members removed at some point (never dialed again unless re-added). */
  removed: Set<number>;
}

interface Version {
  index: number;
  config: ClusterConfig;
}

function clone(c: ClusterConfig): ClusterConfig {
  return { voters: [...c.voters], addresses: new Map(c.addresses), removed: new Set(c.removed) };
}

export function emptyConfig(): ClusterConfig {
  return { voters: [], addresses: new Map(), removed: new Set() };
}

export function encodeConfig(c: ClusterConfig): Uint8Array {
  return encode({
    voters: [...c.voters].sort((a, b) => a - b),
    addresses: [...c.addresses].sort((a, b) => a[0] - b[0]).map(([id, a]) => [id, a.peer, a.http]),
    removed: [...c.removed].sort((a, b) => a - b),
  });
}

/** The config in a snapshot's meta; an empty one for a snapshot without (none was written). */
export function decodeConfig(bytes: Uint8Array): ClusterConfig {
  if (bytes.length === 0) return emptyConfig();
  const v = decode(bytes) as { voters?: unknown; addresses?: unknown; removed?: unknown } | null;
  assert(v !== null && typeof v === 'object' && Array.isArray(v.voters) && Array.isArray(v.addresses), 'malformed cluster config in a snapshot');
  const c = emptyConfig();
  for (const id of v.voters) {
    assert(isMemberId(id), 'bad voter in a snapshot config');
    c.voters.push(id);
  }
  for (const a of v.addresses as unknown[]) {
    assert(Array.isArray(a) && isMemberId(a[0]) && typeof a[1] === 'string' && typeof a[2] === 'string', 'bad address in a snapshot config');
    c.addresses.set(a[0], { peer: a[1], http: a[2] });
  }
  if (Array.isArray(v.removed)) for (const id of v.removed) if (isMemberId(id)) c.removed.add(id);
  return c;
}

export class Membership {
  private versions: Version[];

  constructor(index: number, config: ClusterConfig) {
    this.versions = [{ index, config: clone(config) }];
  }

  get current(): ClusterConfig {
    return this.versions[this.versions.length - 1]!.config;
  }

  get index(): number {
    return this.versions[this.versions.length - 1]!.index;
  }

  private next(index: number): ClusterConfig {
    assert(index > this.index, () => `membership change at ${index} after ${this.index}`);
    const c = clone(this.current);
    this.versions.push({ index, config: c });
    return c;
  }

  applyRecord(index: number, r: MemberRecord): void {
    const c = this.next(index);
    c.addresses.set(r.id, { peer: r.peer, http: r.http });
  }

  applyConfChange(index: number, cc: ConfChange): void {
    const c = this.next(index);
    if (cc.type === 'add') {
      if (!c.voters.includes(cc.id)) c.voters.push(cc.id);
      c.voters.sort((a, b) => a - b);
      c.removed.delete(cc.id);
    } else {
      c.voters = c.voters.filter((v) => v !== cc.id);
      c.addresses.delete(cc.id);
      c.removed.add(cc.id);
    }
  }

  /** A snapshot from the leader replaced the state: its config as of `index`. */
  restore(index: number, config: ClusterConfig): void {
    this.versions = [{ index, config: clone(config) }];
  }

  /** The config in effect after applying `index`. */
  asOf(index: number): ClusterConfig {
    for (let i = this.versions.length - 1; i >= 0; i--) if (this.versions[i]!.index <= index) return this.versions[i]!.config;
    // Older than anything kept: the oldest version is the best knowledge (it predates every kept change).
    return this.versions[0]!.config;
  }

  /** Versions superseded before `index` are no longer needed (a snapshot at `index` was taken). */
  prune(index: number): void {
    let keep = 0;
    for (let i = 0; i < this.versions.length; i++) if (this.versions[i]!.index <= index) keep = i;
    if (keep > 0) this.versions = this.versions.slice(keep);
  }
}
