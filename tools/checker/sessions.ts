/**
 * Sessions and ephemerals (reliability.md section 6), from the session workload's records
 * (tools/faults/sessions.ts, harness clock in µs) and the final tree:
 *
 * - closing a session deletes its ephemerals in the same transaction: no linearizable read
 *   after the close was acknowledged finds one, and an ephemeral create naming the closed
 *   session answers 410;
 * - an ephemeral never survives its session's expiry by more than the bound: gone within
 *   timeout + `expiryBoundMs` of the last acknowledged keepalive, judged only when no fault
 *   (plus a margin) touched that window (a new leader restarts every session's clock);
 * - a session kept alive (no gap between acknowledged keepalives near its timeout) in a window
 *   without faults never expires;
 * - no leaked ephemerals: every ephemeral of the final tree belongs to a session still open.
 * Pure: no I/O.
 */
import type { TreeDump } from './history.js';
import type { CheckReport } from './invariants.js';

export interface SessionRecord {
  worker: number;
  session: string;
  timeoutMs: number;
  openedAt: number;
  /** Completion time of the last keepalive answered 200 (or of the create). */
  lastKeepaliveOk: number;
  /** The longest time between two acknowledged keepalives (µs). */
  maxKeepaliveGap: number;
  ephemerals: string[];
  end: 'running' | 'closed' | 'abandoned' | 'expired';
  endAt?: number;
  /** All its ephemerals observed absent (linearizable reads). */
  goneAt?: number;
  /** The run ended before the ephemerals were seen gone. */
  cutShort?: boolean;
  /** Status of an ephemeral create with the session after it was closed. */
  createAfterClose?: number;
  /** An ephemeral a linearizable read found after the close was acknowledged. */
  presentAfterClose?: string;
}

export interface SessionCheckOptions {
  /** Allowed on top of the timeout between the last keepalive and the ephemerals gone, ms. */
  expiryBoundMs: number;
  /** After a fault heals, its effects are allowed this long, ms. */
  quietMarginMs: number;
}

export interface SessionReport extends CheckReport {
  sessions: number;
  ephemerals: number;
  expired: number;
  closed: number;
  /** Longest (goneAt - lastKeepaliveOk - timeout) among sessions judged, ms. */
  worstExpiryOverrunMs: number | null;
}

export function checkSessions(records: readonly SessionRecord[], faults: readonly { start: number; end: number }[], final: TreeDump | undefined, openAtEnd: ReadonlySet<string> | undefined, o: SessionCheckOptions): SessionReport {
  const violations: string[] = [];
  const margin = o.quietMarginMs * 1000;
  const quiet = (a: number, b: number): boolean => faults.every((f) => b < f.start || a > (Number.isFinite(f.end) ? f.end : Infinity) + margin);
  let worst: number | null = null;
  for (const r of records) {
    const tag = `session ${r.session} (worker ${r.worker})`;
    if (r.end === 'closed') {
      if (r.presentAfterClose !== undefined) violations.push(`${tag}: ${r.presentAfterClose} still there after the close was acknowledged`);
      if (r.createAfterClose !== undefined && r.createAfterClose !== 410) violations.push(`${tag}: an ephemeral create after the close answered ${r.createAfterClose}, not 410`);
    }
    if (r.end === 'expired' && r.maxKeepaliveGap < (r.timeoutMs - 500) * 1000 && r.endAt !== undefined && quiet(r.openedAt, r.endAt)) {
      violations.push(`${tag}: expired while kept alive (longest gap between keepalives ${(r.maxKeepaliveGap / 1000).toFixed(0)} ms, timeout ${r.timeoutMs} ms) with no fault`);
    }
    if ((r.end === 'abandoned' || r.end === 'expired') && r.ephemerals.length > 0 && !r.cutShort) {
      const limit = r.lastKeepaliveOk + (r.timeoutMs + o.expiryBoundMs) * 1000;
      if (!quiet(r.lastKeepaliveOk, limit)) continue;
      if (r.goneAt === undefined) violations.push(`${tag}: its ephemerals ${r.ephemerals.join(', ')} were never seen gone after its expiry (timeout ${r.timeoutMs} ms)`);
      else {
        const overrun = (r.goneAt - r.lastKeepaliveOk) / 1000 - r.timeoutMs;
        worst = worst === null ? overrun : Math.max(worst, overrun);
        if (r.goneAt > limit) violations.push(`${tag}: ephemerals gone ${(overrun + r.timeoutMs).toFixed(0)} ms after the last keepalive, over timeout ${r.timeoutMs} + ${o.expiryBoundMs} ms`);
      }
    }
  }
  let ephemerals = 0;
  if (final !== undefined && openAtEnd !== undefined) {
    for (const [path, n] of final) {
      if (n.ephemeralOwner === '0') continue;
      ephemerals++;
      if (!openAtEnd.has(n.ephemeralOwner)) violations.push(`leaked ephemeral: ${path} owned by session ${n.ephemeralOwner}, which is not open`);
    }
  }
  return {
    name: 'sessions and ephemerals',
    checked: records.length + ephemerals,
    violations,
    sessions: records.length,
    ephemerals: records.reduce((n, r) => n + r.ephemerals.length, 0),
    expired: records.filter((r) => r.end === 'expired' || r.end === 'abandoned').length,
    closed: records.filter((r) => r.end === 'closed').length,
    worstExpiryOverrunMs: worst === null ? null : Math.round(worst),
  };
}
