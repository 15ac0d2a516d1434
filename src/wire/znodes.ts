/**
 * The JSON of znodes as api.md fixes it ("Znode data and stat"): what REST answers and the
 * WebSocket's result frames carry, and what txn requests send. Declared once for the server
 * (api/http, api/ws) and the client (src/client): types, and a stat's field list.
 * Nothing here may import server code: the client's browser build bundles this folder.
 */
import type { CreateMode, SubOp } from '../core/types.js';
import type { Assert, Same } from './check.js';

/**
 * ZooKeeper's Stat on the wire: 64-bit ids (zxids, ephemeralOwner) are decimal strings,
 * times are milliseconds since the epoch.
 */
export interface StatJson {
  /** zxid of the create. */
  czxid: string;
  /** zxid of the last data change. */
  mzxid: string;
  /** zxid of the last child create or delete. */
  pzxid: string;
  ctime: number;
  mtime: number;
  /** Data version. */
  version: number;
  /** Child creates + child deletes. */
  cversion: number;
  aversion: number;
  /** The owning session's id; "0" unless ephemeral. */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

/** A stat's fields, in api.md's order (the order the server writes them). */
export const STAT_FIELDS = [
  'czxid',
  'mzxid',
  'pzxid',
  'ctime',
  'mtime',
  'version',
  'cversion',
  'aversion',
  'ephemeralOwner',
  'dataLength',
  'numChildren',
] as const satisfies readonly (keyof StatJson)[];

// Every field, and (the `satisfies` above) nothing else.
type _StatFieldsComplete = Assert<Same<(typeof STAT_FIELDS)[number], keyof StatJson>>;

/** How `data` travels in JSON: UTF-8 text when the bytes are valid UTF-8, else base64. */
export type DataEncoding = 'utf8' | 'base64';

/** A read znode (GET /v1/znodes/{path}; the WebSocket's get result). */
export interface ZnodeJson {
  path: string;
  data: string;
  encoding: DataEncoding;
  stat: StatJson;
  /** With `children=true`: sorted child names. */
  children?: string[];
  /** With `children=true&limit=N`: more children follow the last one. */
  more?: boolean;
}

/** What create and set answer: the path (with a sequential suffix) and the stat. */
export interface WriteResultJson {
  path: string;
  stat: StatJson;
}

/** One op of a txn (POST /v1/txn's `ops`, the WebSocket's txn request). */
export interface TxnOpJson {
  op: SubOp['op'];
  path: string;
  /** create/set: the data, in `encoding`. */
  data?: string;
  encoding?: DataEncoding;
  /** create only. */
  mode?: CreateMode;
  /** create with a *_with_ttl mode only. */
  ttl?: number;
  /** set/delete/check; -1 = any. */
  version?: number;
  /** create only: create missing parents. */
  parents?: boolean;
  /** create only: the ACL, entries {perms: "cdrwa" | 0..31, scheme, id} (default: the member's default ACL). */
  acl?: AclEntryJson[];
}

/** An ACL entry on the wire (a create's `acl`, getACL's answer). */
export interface AclEntryJson {
  perms: string | number;
  scheme: string;
  id: string;
}

/** POST /v1/txn's body. */
export interface TxnBodyJson {
  ops: TxnOpJson[];
}

/** One op's result in a txn's answer; `stat` for create and set. */
export interface TxnResultJson {
  op: SubOp['op'];
  path: string;
  stat?: StatJson;
}

/** A txn's answer: the one zxid every op shares, and each op's result. */
export interface TxnAnswerJson {
  zxid: string;
  results: TxnResultJson[];
}
