/**
 * What the audit log hears: every entry this member proposed, once it applied (writes, the
 * sessions it closed or expired, the znodes it reaped, tokens created, revoked and expired),
 * and the faces' 401s and 403s. An entry's record shows its access (never a secret: the entry
 * has none) and its outcome.
 */
import type { AuditCode, AuditEvent, AuditLog } from '../coordination/audit.js';
import type { Op } from '../core/types.js';
import type { EntryPayload } from '../log/replicated-log.js';
import type { Member, WriteAnswer } from '../node/member.js';

const AUDITED: ReadonlySet<Op['op']> = new Set(['create', 'set', 'delete', 'deleteTree', 'multi', 'setAcl', 'closeSession', 'reap', 'createToken', 'revokeToken', 'expireTokens']);

/** The path an op is about, if it has one. */
function pathOf(op: Op): string | null {
  return 'path' in op && typeof op.path === 'string' ? op.path : null;
}

function ipOf(payload: EntryPayload): string | null {
  return payload.access?.ids.find((i) => i.scheme === 'ip')?.id ?? null;
}

export function auditEntry(payload: EntryPayload, answer: WriteAnswer): AuditEvent | undefined {
  const op = payload.op;
  if (!AUDITED.has(op.op)) return undefined;
  const outcome = answer.outcome;
  const session = op.op === 'closeSession' ? op.id : op.op === 'create' && op.owner !== undefined ? op.owner : null;
  const failed = !outcome.ok;
  const code = failed ? (outcome.failure.code as AuditCode) : null;
  return {
    zxid: answer.zxid,
    session,
    ids: payload.access?.ids ?? [],
    token: op.op === 'createToken' ? op.record.accessor : op.op === 'revokeToken' ? op.accessor : (payload.access?.token ?? null),
    ip: ipOf(payload),
    op: op.op === 'setAcl' ? 'setACL' : op.op === 'closeSession' && op.reason === 'expired' ? 'expireSession' : op.op,
    path: pathOf(op),
    result: !failed ? 'success' : code === 'NoAuth' ? 'denied' : code === 'AuthFailed' ? 'unauthenticated' : 'failure',
    code,
  };
}

export function auditMember(member: Member, audit: AuditLog): void {
  member.onOwnEntry((payload, answer) => {
    const ev = auditEntry(payload, answer);
    if (ev !== undefined) audit.record(ev);
    // Each expired token gets its own record.
    if (payload.op.op === 'expireTokens' && answer.outcome.ok && answer.outcome.result.op === 'expireTokens') {
      for (const t of answer.outcome.result.expired) audit.record({ zxid: answer.zxid, session: null, ids: t.createdBy, token: t.accessor, ip: null, op: 'expireToken', path: null, result: 'success', code: null });
    }
  });
}
