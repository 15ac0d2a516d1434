/**
 * Member-level safety, on top of the Raft checker (checker.ts): what the real Member
 * (src/node/member.ts) did with the entries it applied.
 *
 * - Same entries: every member applies the same entry bytes at each zxid.
 * - Same sessions: the session tables agree at equal applied zxids.
 * - Same watch events: the events a member's apply emits (Member.onApply, what the watch
 *   registry hears) are identical on every member, for every zxid both applied; and what each
 *   member's real WatchHub delivers to a recursive watch on '/' (watch-recorder.ts) is exactly
 *   those events, in zxid order, so the watch streams are identical on every member.
 * - Same trees: members that end at the same applied zxid have equal tree digests.
 */
import type { ApplyOutcome, TreeEvent } from '../../src/core/types.js';
import type { SessionTable } from '../../src/session/index.js';
import { SafetyViolation } from './checker.js';

/** FNV-1a 32 over bytes. */
export function hashBytes(b: Uint8Array, h = 0x811c9dc5): number {
  let x = h >>> 0;
  for (let i = 0; i < b.length; i++) {
    x ^= b[i]!;
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

/** FNV-1a 32 over UTF-16 code units. */
function hashText(s: string): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

function sessionsText(t: SessionTable): string {
  return t
    .list()
    .map((s) => `${s.id}:${s.timeoutMs}:${s.czxid}`)
    .join(',');
}

function applyText(events: TreeEvent[], outcome: ApplyOutcome): string {
  const ev = events.map((e) => `${e.type}@${e.path}`).join(',');
  return `${outcome.ok ? 'ok' : `fail:${outcome.failure.code}`}|${ev}`;
}

interface AtZxid {
  entry?: number;
  sessions?: number;
  apply?: number;
  /** The zxid's events as a recursive watch on '/' gets them (type@path, no NodeChildrenChanged). */
  events?: number;
}

export class MemberChecker {
  private readonly at = new Map<number, AtZxid>();
  checks = 0;

  private slot(zxid: number): AtZxid {
    let s = this.at.get(zxid);
    if (s === undefined) {
      s = {};
      this.at.set(zxid, s);
    }
    return s;
  }

  private agree(id: number, zxid: number, what: keyof AtZxid, h: number): void {
    this.checks++;
    const s = this.slot(zxid);
    const known = s[what];
    if (known === undefined) s[what] = h;
    else if (known !== h) throw new SafetyViolation(`member ${id} disagrees at zxid ${zxid} on its ${what}: ${h} here, ${known} elsewhere`);
  }

  /** Member `id` is handed entry `zxid` with these bytes. */
  entry(id: number, zxid: number, data: Uint8Array): void {
    this.agree(id, zxid, 'entry', hashBytes(data));
  }

  /** Member `id` applied `zxid` (Member.onApply): its events and its session table as of it. */
  applied(id: number, zxid: number, events: TreeEvent[], outcome: ApplyOutcome, sessions: SessionTable): void {
    this.agree(id, zxid, 'apply', hashText(applyText(events, outcome)));
    // What a recursive watch on '/' must receive: every event but NodeChildrenChanged, as
    // ZooKeeper's PERSISTENT_RECURSIVE watches do (stated here, not taken from watch/kinds.ts).
    const watched = events.filter((e) => e.type !== 'NodeChildrenChanged');
    if (watched.length > 0) this.agree(id, zxid, 'events', hashText(watched.map((e) => `${e.type}@${e.path}`).join(',')));
    this.agree(id, zxid, 'sessions', hashText(sessionsText(sessions)));
  }

  /** Member `id`'s watch hub delivered these events (type@path, in order) to its recursive watch on '/'. */
  delivered(id: number, zxid: number, events: string): void {
    this.agree(id, zxid, 'events', hashText(events));
  }

  /** At the end: members at the same applied zxid hold equal trees and session tables. */
  sameState(members: { id: number; zxid: number; digest: string; sessions: SessionTable }[]): void {
    const seen = new Map<number, { id: number; digest: string; sessions: string }>();
    for (const m of members) {
      const s = sessionsText(m.sessions);
      const o = seen.get(m.zxid);
      if (o === undefined) seen.set(m.zxid, { id: m.id, digest: m.digest, sessions: s });
      else if (o.digest !== m.digest || o.sessions !== s) throw new SafetyViolation(`members ${o.id} and ${m.id} both applied ${m.zxid} but hold different ${o.digest !== m.digest ? 'trees' : 'session tables'}`);
    }
  }
}
