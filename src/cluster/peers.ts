/**
 * Peer addresses: the `--peers` list (`1=127.0.0.1:9081,2=[::1]:9082`), host:port parsing,
 * and the cluster id a brand-new cluster derives from its initial list.
 */
import { createHash } from 'node:crypto';
import { ZgateError } from '../core/errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Member ids are 1..254 (as --id). */
export const MAX_MEMBER_ID = 254;

export function isMemberId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= MAX_MEMBER_ID;
}

/** `host:port`, `[v6]:port`. */
export function parseHostPort(text: string, what = 'address'): HostPort {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/.exec(text.trim());
  if (!m) throw new ZgateError('BadArguments', `${what} must be host:port, got '${text}'`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new ZgateError('BadArguments', `${what}: port must be 1..65535, got ${port}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** Parses `--peers`: ids unique, addresses unique. Empty text → empty map. */
export function parsePeers(text: string): Map<number, string> {
  const peers = new Map<number, string>();
  const seen = new Map<string, number>();
  if (text.trim() === '') return peers;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) throw new ZgateError('BadArguments', `--peers: '${item}' is not id=host:port`);
    const idText = item.slice(0, eq).trim();
    if (!/^[0-9]+$/.test(idText) || !isMemberId(Number(idText))) throw new ZgateError('BadArguments', `--peers: member id '${idText}' must be 1..${MAX_MEMBER_ID}`);
    const id = Number(idText);
    const addr = formatHostPort(parseHostPort(item.slice(eq + 1), `--peers: member ${id}'s address`));
    if (peers.has(id)) throw new ZgateError('BadArguments', `--peers: member ${id} is listed twice`);
    const other = seen.get(addr);
    if (other !== undefined) throw new ZgateError('BadArguments', `--peers: members ${other} and ${id} share the address ${addr}`);
    peers.set(id, addr);
    seen.set(addr, id);
  }
  return peers;
}

export function formatPeers(peers: ReadonlyMap<number, string>): string {
  return [...peers.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, a]) => `${id}=${a}`)
    .join(',');
}

/**
 * The id of a new cluster: a hash of its initial member list, so every initial member derives
 * the same one on its own and members started with disagreeing `--peers` lists refuse each
 * other (the id is written at first start and checked on every peer connection).
 */
export function deriveClusterId(peers: ReadonlyMap<number, string>): string {
  return createHash('sha256').update(`zgate-cluster:${formatPeers(peers)}`).digest('hex').slice(0, 16);
}

/** A host only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}
