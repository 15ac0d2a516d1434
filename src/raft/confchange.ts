/**
 * Membership change, one voter at a time (Raft thesis section 4.1, "single-server changes").
 *
 * Why one at a time is safe: any majority of {C} and any majority of {C plus or minus one
 * member} share at least one member, so the old and the new configuration cannot elect two
 * leaders in one term or commit conflicting entries, as long as at most these two adjacent
 * configurations are in use at once. The core enforces that:
 *
 * - a configuration change travels as a log entry of type 'confChange' and takes effect on
 *   each member when that member hands it to the application as committed (at advance()),
 *   like etcd-io/raft; the thesis switches on append instead, either works with the rule
 *   below;
 * - a leader accepts a new change only when every change in its log has been applied
 *   (`pendingConfIndex <= applied`), and a new leader sets pendingConfIndex to its last index
 *   at election, so it must first commit an entry of its own term (its empty entry) — the fix
 *   to the single-server-change bug Ongaro described on raft-dev in 2015;
 * - a member with committed but unapplied changes does not campaign (it would count votes
 *   with a stale configuration).
 *
 * Learners (catch up before voting, thesis 4.2.1) and joint consensus are not implemented:
 * an added member votes at once, so adding a member to a 3-member cluster while another is
 * down stalls commits until the new one catches up. The runtime can wait for a new member
 * to catch up (status().progress) before proposing a further change.
 */
import { assert } from '../util/assert.js';
import { decode, encode } from '../util/codec.js';
import type { ConfState, NodeId } from './types.js';

export interface ConfChange {
  type: 'add' | 'remove';
  id: NodeId;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  assert(isNodeId(cc.id), `conf change id ${cc.id}`);
  return encode({ type: cc.type, id: cc.id });
}

/** Decodes the data of a confChange entry; a malformed entry is a broken invariant (we wrote it). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = decode(data) as { type?: unknown; id?: unknown } | null;
  assert(v !== null && typeof v === 'object', 'conf change entry is not an object');
  assert(v.type === 'add' || v.type === 'remove', `conf change type ${String(v.type)}`);
  assert(typeof v.id === 'number' && isNodeId(v.id), `conf change id ${String(v.id)}`);
  return { type: v.type, id: v.id };
}

export function isNodeId(id: unknown): id is NodeId {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

/** Why `cc` cannot apply to `cs`, or undefined when it can. */
export function validateConfChange(cs: ConfState, cc: ConfChange): string | undefined {
  if (!isNodeId(cc.id)) return `bad member id ${String(cc.id)}`;
  const member = cs.voters.includes(cc.id);
  if (cc.type === 'add' && member) return `${cc.id} is already a member`;
  if (cc.type === 'remove' && !member) return `${cc.id} is not a member`;
  if (cc.type === 'remove' && cs.voters.length === 1) return `cannot remove the last member ${cc.id}`;
  return undefined;
}

/** The configuration after `cc` (validated: an invalid change here is a broken invariant). */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState {
  const why = validateConfChange(cs, cc);
  assert(why === undefined, () => `conf change ${cc.type} ${cc.id} at apply: ${why}`);
  const voters = cc.type === 'add' ? [...cs.voters, cc.id] : cs.voters.filter((v) => v !== cc.id);
  return normalizeConfState({ voters });
}

export function normalizeConfState(cs: ConfState): ConfState {
  const voters = [...cs.voters].sort((a, b) => a - b);
  for (let i = 0; i < voters.length; i++) {
    assert(isNodeId(voters[i]), `bad voter ${voters[i]}`);
    assert(i === 0 || voters[i - 1] !== voters[i], `duplicate voter ${voters[i]}`);
  }
  return { voters };
}

export function confStatesEqual(a: ConfState, b: ConfState): boolean {
  const x = normalizeConfState(a).voters;
  const y = normalizeConfState(b).voters;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
