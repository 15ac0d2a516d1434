/** The Idempotency-Key header of writes (node/idempotency.ts has the rule): its schema. */
import { IDEMPOTENCY_MAX_AGE_MS, IDEMPOTENCY_MAX_KEYS } from '../../core/idempotency.js';

export const IDEMPOTENCY_DESCRIPTION =
  `retry-safe write: 1..128 visible ASCII characters chosen by the client (e.g. a UUID). A write with a key ` +
  `already applied is not applied again and answers the original outcome and zxid, with Idempotent-Replayed: true; ` +
  `the same key with a different request is 400 BadArguments. Keys are kept for ${IDEMPOTENCY_MAX_AGE_MS / 60_000} min ` +
  `(the newest ${IDEMPOTENCY_MAX_KEYS} keys at most).`;

export const idempotencyHeaderProperty = {
  'idempotency-key': { type: 'string', description: IDEMPOTENCY_DESCRIPTION },
} as const;
