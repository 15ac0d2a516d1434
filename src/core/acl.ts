/**
 * ZooKeeper's ACL model, exactly (zookeeper-semantics.md, "ACLs and authentication"): the
 * permission bits, ids and ACL entries, the validation and `auth` expansion of an ACL given
 * on input (PrepRequestProcessor.fixupACL), and the check (ZooKeeperServer.checkACL) with each
 * scheme's matching rule. Pure: every face and the tree decide with these same functions.
 */

export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** An identity, as ZooKeeper's Id: `digest` ids are `user:base64(sha1(user:password))`. */
export interface Id {
  scheme: string;
  id: string;
}

/** One ACL entry: the permission bits it grants to the ids its scheme's rule matches. */
export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

/**
 * Who a request acts as: its ids (ip always; digest, x509, a token's), whether one of them is
 * super, and a token's scope. Carried in every write's log entry (never a secret), so that the
 * check happens when the entry applies, on every member alike.
 */
export interface Access {
  ids: readonly Id[];
  /** Skips ACL checks (never a path, size or version rule, nor a token's scope). */
  super: boolean;
  /** A token's scope: only requests whose every check is READ. */
  readOnly?: boolean;
  /** A token's scope: only this path and paths under `prefix + "/"`. */
  prefix?: string;
  /** The accessor of the token the request presented: a write applies only while it is live. */
  token?: string;
}

export const WORLD_ANYONE: Id = { scheme: 'world', id: 'anyone' };
export const OPEN_ACL_UNSAFE: readonly Acl[] = Object.freeze([{ perms: Perms.ALL, scheme: 'world', id: 'anyone' }]);
export const READ_ACL_UNSAFE: readonly Acl[] = Object.freeze([{ perms: Perms.READ, scheme: 'world', id: 'anyone' }]);
export const CREATOR_ALL_ACL: readonly Acl[] = Object.freeze([{ perms: Perms.ALL, scheme: 'auth', id: '' }]);

/** A caller with no ids at all (its face said nothing): only world:anyone grants it anything. */
export const ANONYMOUS: Access = Object.freeze({ ids: Object.freeze([]) as readonly Id[], super: false });

/** The most entries one ACL may hold. */
export const MAX_ACL_ENTRIES = 256;

/** Schemes an ACL entry may name. */
export const ACL_SCHEMES = ['world', 'auth', 'digest', 'ip', 'x509', 'sasl'] as const;

/** zkCli's order of the permission letters. */
const LETTERS: readonly [string, number][] = [
  ['c', Perms.CREATE],
  ['d', Perms.DELETE],
  ['r', Perms.READ],
  ['w', Perms.WRITE],
  ['a', Perms.ADMIN],
];

/** The letters of the set bits in `cdrwa` order (bits above 31, which ZooKeeper stores, are not letters). */
export function formatPerms(perms: number): string {
  let s = '';
  for (const [letter, bit] of LETTERS) if ((perms & bit) !== 0) s += letter;
  return s;
}

/** Letters of `cdrwa` (any order, each once) or an integer 0..31; undefined otherwise. */
export function parsePerms(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= Perms.ALL ? v : undefined;
  if (typeof v !== 'string') return undefined;
  let perms = 0;
  for (const ch of v) {
    const bit = LETTERS.find(([letter]) => letter === ch)?.[1];
    if (bit === undefined || (perms & bit) !== 0) return undefined;
    perms |= bit;
  }
  return perms;
}

/** A scheme whose ids are proven by credentials (ZooKeeper's provider.isAuthenticated()). */
export function isAuthenticatedScheme(scheme: string): boolean {
  return scheme === 'digest' || scheme === 'x509' || scheme === 'sasl';
}

/**
 * Who a caller is, apart from where it calls from: its authenticated ids (never ip), distinct,
 * sorted by scheme then id. What a session belongs to, what a token's creator is, the namespace
 * of Idempotency-Keys.
 */
export function authenticatedIds(ids: readonly Id[]): Id[] {
  const seen = new Set<string>();
  const out: Id[] = [];
  for (const c of ids) {
    // Schemes hold no ':': the pair is unambiguous.
    const k = `${c.scheme}:${c.id}`;
    if (!isAuthenticatedScheme(c.scheme) || seen.has(k)) continue;
    seen.add(k);
    out.push({ scheme: c.scheme, id: c.id });
  }
  return out.sort((a, b) => (a.scheme < b.scheme ? -1 : a.scheme > b.scheme ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** An id as it may be shown (whoami, token views, the audit log): a digest's user, never its hash. */
export function shownId(i: Id): Id {
  return { scheme: i.scheme, id: i.scheme === 'digest' ? userOfDigest(i.id) : i.id };
}

/** The user of a digest id `user:hash`. */
export function userOfDigest(id: string): string {
  const colon = id.indexOf(':');
  return colon < 0 ? id : id.slice(0, colon);
}

// ---------------------------------------------------------------- ip addresses

/** An IPv4 or IPv6 address as bytes (4 or 16); undefined when it is not one. */
export function parseIp(s: string): Uint8Array | undefined {
  if (s.includes(':')) return parseIpv6(s);
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  let tail: Uint8Array | undefined;
  let text = s;
  // An embedded IPv4 address in the last 32 bits (::ffff:10.0.0.1).
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

/** `addr` or `addr/bits` as an ip ACL id: the address bytes and the prefix length. */
function parseIpAcl(id: string): { addr: Uint8Array; bits: number } | undefined {
  const slash = id.indexOf('/');
  const addr = parseIp(slash < 0 ? id : id.slice(0, slash));
  if (addr === undefined) return undefined;
  if (slash < 0) return { addr, bits: addr.length * 8 };
  const b = id.slice(slash + 1);
  if (!/^\d{1,3}$/.test(b)) return undefined;
  const bits = Number(b);
  return bits <= addr.length * 8 ? { addr, bits } : undefined;
}

/** IPAuthenticationProvider.matches: both masked to the ACL's bits; v4 never matches v6 (also --trust-proxy's ranges). */
export function ipMatches(callerId: string, aclId: string): boolean {
  const acl = parseIpAcl(aclId);
  const caller = parseIp(callerId);
  if (acl === undefined || caller === undefined || caller.length !== acl.addr.length) return false;
  let bits = acl.bits;
  for (let i = 0; i < caller.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((caller[i]! & mask) !== (acl.addr[i]! & mask)) return false;
  }
  return true;
}

/**
 * The textual form of a remote address as an ip id: an IPv4-mapped IPv6 address (how a dual
 * stack socket reports an IPv4 peer) is written as IPv4.
 */
export function ipIdOf(address: string): string {
  // Asked on every request: the common case (a plain address) without a regular expression.
  if (address.charCodeAt(0) !== 0x3a || address.charCodeAt(1) !== 0x3a) return address;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

// ---------------------------------------------------------------- validation

/** Java's `String.split(":")`: trailing empty strings are dropped. */
function javaSplitColon(s: string): string[] {
  const parts = s.split(':');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The scheme's provider.isValid(id); `auth` is valid here only before expansion. */
export function isValidAclId(scheme: string, id: string): boolean {
  switch (scheme) {
    case 'world':
      return id === 'anyone';
    case 'digest':
      return javaSplitColon(id).length === 2;
    case 'ip':
      return parseIpAcl(id) !== undefined;
    case 'x509':
    case 'sasl':
      return id.length > 0;
    default:
      return false;
  }
}

export type AclInput = { ok: true; acl: Acl[] } | { ok: false; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The canonical text of one entry and of a list (interning, deduplication, digests): JSON, so
 * that distinct lists never share a key whatever their ids hold (an x509 or sasl id may hold
 * any character; joining fields with separators let a crafted id make one list's key another's,
 * and the cache then handed out the crafted list).
 */
export function aclEntryKey(a: Acl): string {
  return JSON.stringify([a.perms, a.scheme, a.id]);
}
export function aclKey(list: readonly Acl[]): string {
  return JSON.stringify(list.map((a) => [a.perms, a.scheme, a.id]));
}

/**
 * An ACL given on input, as ZooKeeper's fixupACL decides it: entries `{perms, scheme, id}`
 * (perms as letters or 0..31); `auth` becomes one entry with its perms per authenticated id of
 * the caller; duplicates dropped, first kept, order kept. Refused (InvalidACL): not a list, an
 * empty list, more than MAX_ACL_ENTRIES, an unknown scheme, a malformed id, `auth` with no
 * authenticated id.
 */
export function fixupAcl(input: unknown, callerIds: readonly Id[]): AclInput {
  if (!Array.isArray(input)) return { ok: false, message: 'an ACL must be a JSON array of {perms, scheme, id}' };
  if (input.length === 0) return { ok: false, message: 'an ACL must have at least one entry' };
  if (input.length > MAX_ACL_ENTRIES) return { ok: false, message: `an ACL may have at most ${MAX_ACL_ENTRIES} entries, got ${input.length}` };
  const out: Acl[] = [];
  const seen = new Set<string>();
  const add = (a: Acl): void => {
    const k = aclEntryKey(a);
    if (seen.has(k)) return;
    seen.add(k);
    out.push(a);
  };
  for (let i = 0; i < input.length; i++) {
    const e: unknown = input[i];
    if (!isRecord(e)) return { ok: false, message: `ACL entry ${i} must be an object {perms, scheme, id}` };
    const perms = parsePerms(e.perms);
    if (perms === undefined) return { ok: false, message: `ACL entry ${i}: perms must be letters of "cdrwa" or an integer 0..31` };
    const { scheme, id } = e;
    if (typeof scheme !== 'string' || typeof id !== 'string') return { ok: false, message: `ACL entry ${i}: scheme and id must be strings` };
    if (scheme === 'auth') {
      const authenticated = callerIds.filter((c) => isAuthenticatedScheme(c.scheme));
      if (authenticated.length === 0) return { ok: false, message: `ACL entry ${i}: scheme "auth" needs an authenticated caller (digest, x509 or a token)` };
      for (const c of authenticated) add({ perms, scheme: c.scheme, id: c.id });
      continue;
    }
    if (!(ACL_SCHEMES as readonly string[]).includes(scheme)) return { ok: false, message: `ACL entry ${i}: unknown scheme ${JSON.stringify(scheme)}` };
    if (!isValidAclId(scheme, id)) return { ok: false, message: `ACL entry ${i}: ${JSON.stringify(id)} is not a valid ${scheme} id` };
    add({ perms, scheme, id });
  }
  return { ok: true, acl: out };
}

/** An ACL already fixed up (from a log entry or a snapshot): every entry well-formed, no `auth`. */
export function isStoredAcl(v: unknown): v is Acl[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_ACL_ENTRIES) return false;
  return v.every(
    (e: unknown) =>
      isRecord(e) &&
      typeof e.perms === 'number' &&
      // A Java int, as ZooKeeper stores it (bits above 31 included): a wider number would be
      // another list to the cache but the same bits to the check (ToInt32).
      (e.perms | 0) === e.perms &&
      typeof e.scheme === 'string' &&
      typeof e.id === 'string' &&
      e.scheme !== 'auth' &&
      isValidAclId(e.scheme, e.id),
  );
}

// ---------------------------------------------------------------- the check

/** The scheme's provider.matches(callerId, aclId). */
function matches(scheme: string, callerId: string, aclId: string): boolean {
  return scheme === 'ip' ? ipMatches(callerId, aclId) : callerId === aclId;
}

/**
 * ZooKeeper's checkACL: super passes; otherwise some entry with any bit of `perm` that is
 * world:anyone or matches one of the caller's ids of its scheme. An empty list passes (only
 * possible for state written before ACLs; input never yields one).
 */
export function aclGrants(acl: readonly Acl[], perm: number, access: Access): boolean {
  if (access.super || acl.length === 0) return true;
  for (const e of acl) {
    if ((e.perms & perm) === 0) continue;
    if (e.scheme === 'world' && e.id === 'anyone') return true;
    for (const c of access.ids) if (c.scheme === e.scheme && matches(e.scheme, c.id, e.id)) return true;
  }
  return false;
}

/** Whether a token's scope admits a check of `perm` on `path` (no token: always). */
export function scopeAdmits(access: Access, perm: number, path: string): boolean {
  if (access.readOnly === true && perm !== Perms.READ) return false;
  const p = access.prefix;
  if (p === undefined || p === '/' || path === p) return true;
  return path.startsWith(`${p}/`);
}

/** The effective permission: the ACL's grant and the token's scope. */
export function permits(acl: readonly Acl[], perm: number, access: Access, path: string): boolean {
  return scopeAdmits(access, perm, path) && aclGrants(acl, perm, access);
}

/** getACL's answer to a caller without ADMIN: every digest id reads `user:x`. */
export function maskDigests(acl: readonly Acl[]): Acl[] {
  return acl.map((e) => (e.scheme === 'digest' ? { ...e, id: e.id.replace(/:.*/s, ':x') } : { ...e }));
}

/** The JSON form of an entry: perms as letters. */
export interface AclJson {
  perms: string;
  scheme: string;
  id: string;
}
export function aclToJson(acl: readonly Acl[]): AclJson[] {
  return acl.map((e) => ({ perms: formatPerms(e.perms), scheme: e.scheme, id: e.id }));
}

/**
 * zkCli's ACL text, as flags take it: comma-separated `scheme:id:perms` (the id may hold ':',
 * as digest and IPv6 ids do; `auth::cdrwa` has an empty id). The entries as given: fixupAcl
 * decides them. Undefined when an entry lacks its two colons.
 */
export function parseAclText(text: string): { perms: string; scheme: string; id: string }[] | undefined {
  const out: { perms: string; scheme: string; id: string }[] = [];
  for (const part of text.split(',')) {
    const first = part.indexOf(':');
    const last = part.lastIndexOf(':');
    if (first < 0 || last === first) return undefined;
    out.push({ scheme: part.slice(0, first).trim(), id: part.slice(first + 1, last).trim(), perms: part.slice(last + 1).trim() });
  }
  return out;
}
