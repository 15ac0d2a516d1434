/** The bounds of Idempotency-Keys: part of the contract, read by the faces and by the replicated table (node/idempotency.ts). */

/** Keys kept at most (the oldest go first). */
export const IDEMPOTENCY_MAX_KEYS = 10_000;
/** A key is forgotten this long after the entry that stored it (entry timestamps). */
export const IDEMPOTENCY_MAX_AGE_MS = 10 * 60 * 1000;
/** Keys are 1..128 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

