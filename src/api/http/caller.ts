/** Who an HTTP request writes as: its Zgate-Session and Idempotency-Key headers. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Access } from '../../core/acl.js';
import { ZgateError } from '../../core/errors.js';
import type { Caller } from '../../coordination/service.js';
import { HTTP_SESSION_HINT } from './context.js';
import { parseSessionHeader } from './sessions-header.js';

/** The request's ids, as the identity hook (app.ts) found them. */
export function accessOf(request: FastifyRequest): Access {
  const id = request.identity;
  if (id === null) throw new ZgateError('SystemError', `no identity for ${request.method} ${request.url.split('?')[0]}`);
  return id.access;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const h = request.headers[name];
  if (h === undefined) return undefined;
  return Array.isArray(h) ? h.join(',') : h;
}

export function callerOf(request: FastifyRequest): Caller {
  const caller: Caller = { sessionHint: HTTP_SESSION_HINT, access: accessOf(request) };
  const session = parseSessionHeader(request.headers['zgate-session']);
  if (session === null) caller.sessionError = 'Zgate-Session must be a session id (decimal, 1..2^64-1)';
  else if (session !== undefined) caller.session = session;
  const key = header(request, 'idempotency-key');
  if (key !== undefined) caller.idempotencyKey = key;
  return caller;
}

/** A write's own zxid, and whether it replays an earlier application of the same Idempotency-Key. */
export function markWritten(reply: FastifyReply, w: { zxid: number; replayed: boolean }): void {
  // The member that applied it audits the entry: the face does not record its answer again.
  reply.request.reachedLog = true;
  reply.header('zgate-zxid', String(w.zxid));
  if (w.replayed) reply.header('idempotent-replayed', 'true');
}
