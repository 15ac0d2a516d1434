/** The Zgate-Session header that ephemeral creates carry. */
import type { SessionId } from '../../core/types.js';

export const sessionHeaderSchema = {
  type: 'object',
  properties: { 'zgate-session': { type: 'string', description: 'session id (decimal) owning ephemeral znodes' } },
} as const;

const MAX_SESSION_ID = (1n << 64n) - 1n;

/** undefined when absent; BadArguments when malformed (not a decimal 64-bit id, or 0). */
export function parseSessionHeader(header: string | string[] | undefined): SessionId | null | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!/^[1-9][0-9]{0,19}$/.test(value.trim())) return null;
  const id = BigInt(value.trim());
  return id > MAX_SESSION_ID ? null : id;
}
