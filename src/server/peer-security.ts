/**
 * How a cluster member's peer links are protected, decided at start: mutual TLS, loopback
 * only (nobody else can reach the peer port), or neither, when anyone who reaches a peer port
 * can speak as a member (ZooKeeper's CVE-2018-8012). The last one is warned about at every
 * start, shown by /readyz, and refused under --auth-required unless --insecure-peers.
 */
import type { Logger } from 'pino';
import type { PeerTransport } from '../api/http/context.js';
import { isLoopbackHost, parseHostPort } from '../cluster/peers.js';
import { ZgateError } from '../core/errors.js';
import type { ServeConfig } from './config.js';

/** undefined for a member alone (it has no peer port). */
export function peerTransportOf(config: ServeConfig, peers: ReadonlyMap<number, string>): PeerTransport | undefined {
  if (peers.size === 0) return undefined;
  if (config.peerTls !== undefined) return 'tls';
  return [...peers.values()].every((a) => isLoopbackHost(parseHostPort(a).host)) ? 'loopback' : 'insecure';
}

/** Refuses (throws) or warns about plain TCP peer links that other machines can reach. */
export function checkPeerTransport(config: ServeConfig, peers: ReadonlyMap<number, string>, logger: Logger): PeerTransport | undefined {
  const mode = peerTransportOf(config, peers);
  if (mode !== 'insecure') return mode;
  const open = [...peers.entries()].filter(([, a]) => !isLoopbackHost(parseHostPort(a).host)).map(([id, a]) => `${id}=${a}`);
  if (config.authRequired && !config.insecurePeers) {
    throw new ZgateError(
      'BadArguments',
      `--auth-required with non-loopback --peers (${open.join(',')}) and no peer TLS: anyone who reaches a peer port could join the cluster and write without credentials. Give --peer-tls-cert, --peer-tls-key and --peer-tls-ca, or --insecure-peers to start anyway`,
    );
  }
  logger.warn(
    { peers: open, peerTransport: mode },
    'peer links are plain TCP: the peer port is open to anyone who reaches it, who can then act as a member (give --peer-tls-cert, --peer-tls-key and --peer-tls-ca for mutual TLS)',
  );
  return mode;
}
