/** The Idempotency-Key header of writes (node/idempotency.ts): schema and parsing. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_MAX_AGE_MS, IDEMPOTENCY_MAX_KEYS } from '../../node/idempotency.js';
import type { WriteAnswer } from '../../node/member.js';

export const idempotencyHeaderProperty = {
  'idempotency-key': {
    type: 'string',
    description:
      `retry-safe write: 1..128 visible ASCII characters chosen by the client (e.g. a UUID). A write with a key ` +
      `already applied is not applied again and answers the original outcome and zxid, with Idempotent-Replayed: true; ` +
      `the same key with a different request is 400 BadArguments. Keys are kept for ${IDEMPOTENCY_MAX_AGE_MS / 60_000} min ` +
      `(the newest ${IDEMPOTENCY_MAX_KEYS} keys at most).`,
  },
} as const;

/** undefined when absent; BadArguments when malformed. */
export function idempotencyKey(request: FastifyRequest): string | undefined {
  const h = request.headers['idempotency-key'];
  if (h === undefined) return undefined;
  const v = Array.isArray(h) ? h.join(',') : h;
  if (!IDEMPOTENCY_KEY_PATTERN.test(v)) throw new ZgateError('BadArguments', `Idempotency-Key must be 1..128 visible ASCII characters, got '${v.slice(0, 140)}'`);
  return v;
}

/** Marks an answer that replays an earlier application of the same key. */
export function markReplay(reply: FastifyReply, answer: WriteAnswer): void {
  if (answer.replayed === true) reply.header('idempotent-replayed', 'true');
}
