/**
 * Invariants. A broken invariant means this member's state can no longer be trusted:
 * it throws an AssertionFailure, which the member treats as fatal (it stops loudly
 * rather than serve or persist corrupt data). Never used for bad input: that is a ZgateError.
 */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'AssertionFailure';
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionFailure(typeof message === 'function' ? message() : message);
}

export function unreachable(value: never, what = 'value'): never {
  throw new AssertionFailure(`unexpected ${what}: ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}
