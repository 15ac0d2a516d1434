/** Znode data and Stat as JSON; the shapes are the wire's (src/wire/znodes.ts), shared with the client. */
import { isUtf8 } from 'node:buffer';
import { ZgateError } from '../../core/errors.js';
import type { Stat } from '../../core/types.js';
import type { Assert, SchemaFits, Same } from '../../wire/check.js';
import type { DataEncoding, StatJson, TxnOpJson as WireTxnOpJson, TxnResultJson, WriteResultJson, ZnodeJson } from '../../wire/znodes.js';
import type { statSchema, writeResultSchema, znodeSchema } from './schemas.js';
import type { TxnOpJson, txnOpSchema, txnResultsJson } from './txn.js';

export type { DataEncoding, StatJson };

// The routes' schemas (which serialize the answers and make the OpenAPI document) and the
// txn conversion name the wire's fields: checked here, at compile time.
type _StatSchema = Assert<SchemaFits<typeof statSchema, StatJson>>;
type _ZnodeSchema = Assert<SchemaFits<typeof znodeSchema, ZnodeJson>>;
type _WriteResultSchema = Assert<SchemaFits<typeof writeResultSchema, WriteResultJson>>;
type _TxnOp = Assert<Same<TxnOpJson, WireTxnOpJson>>;
type _TxnOpSchema = Assert<Same<keyof (typeof txnOpSchema)['properties'], keyof WireTxnOpJson>>;
type _TxnResult = Assert<Same<keyof ReturnType<typeof txnResultsJson>[number], keyof TxnResultJson>>;

export function statJson(s: Stat): StatJson {
  return {
    czxid: String(s.czxid),
    mzxid: String(s.mzxid),
    pzxid: String(s.pzxid),
    ctime: s.ctime,
    mtime: s.mtime,
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: s.ephemeralOwner.toString(),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

export function encodeData(data: Uint8Array, forced?: DataEncoding): { data: string; encoding: DataEncoding } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (forced !== 'base64' && isUtf8(buf)) return { data: buf.toString('utf8'), encoding: 'utf8' };
  return { data: buf.toString('base64'), encoding: 'base64' };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes JSON-carried data; malformed base64 is refused rather than silently mangled. */
export function decodeData(data: string, encoding: DataEncoding, where: string): Uint8Array {
  if (encoding === 'utf8') return Buffer.from(data, 'utf8');
  if (!BASE64.test(data)) throw new ZgateError('BadArguments', `${where}: data is not valid base64`);
  return Buffer.from(data, 'base64');
}

/** ETag of a znode: its data version, as a strong validator. */
export function etagOf(stat: Stat): string {
  return `"${stat.version}"`;
}

