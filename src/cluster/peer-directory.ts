/**
 * Who this member dials and who may call it: its own --peers (they win for dialing: an
 * operator's explicit choice, e.g. a proxy in between) and the addresses replicated through
 * the log (membership.ts), less the members removed. Also the HTTP URL each peer gave in its
 * hello, for the cluster view.
 */
import type { NodeId } from '../raft/index.js';
import type { ClusterLogger } from './logger.js';
import type { Membership } from './membership.js';
import type { Transport } from './transport.js';

export class PeerDirectory {
  /** The HTTP URL each peer announced in its hello. */
  readonly peerHttp = new Map<NodeId, string>();

  constructor(
    private readonly id: NodeId,
    private readonly flagPeers: ReadonlyMap<NodeId, string>,
    private readonly membership: Membership,
    private readonly transport: Transport,
    private readonly logger: ClusterLogger,
  ) {}

  addressOf(id: NodeId): string | undefined {
    return this.flagPeers.get(id) ?? this.membership.current.addresses.get(id)?.peer;
  }

  /** Dial the members we know of: our --peers and the replicated addresses, less the removed. */
  update(): void {
    const cfg = this.membership.current;
    const peers = new Map<NodeId, string>();
    for (const id of new Set([...this.flagPeers.keys(), ...cfg.addresses.keys(), ...cfg.voters])) {
      if (id === this.id || (cfg.removed.has(id) && !cfg.voters.includes(id))) continue;
      const a = this.addressOf(id);
      if (a === undefined) {
        this.logger.warn({ member: id }, 'no address known for a member: add it to --peers');
        continue;
      }
      peers.set(id, a);
    }
    this.transport.setPeers(peers);
  }

  /** This member was removed: it dials nobody any more. */
  forgetAll(): void {
    this.transport.setPeers(new Map());
  }

  /** May `id` call us? A member we know of (configured, replicated, or in --peers). */
  accepts(id: NodeId): boolean {
    const cfg = this.membership.current;
    if (cfg.voters.includes(id) || cfg.addresses.has(id)) return true;
    return this.flagPeers.has(id) && !cfg.removed.has(id);
  }

  hello(from: NodeId, http: string | undefined): void {
    if (http !== undefined && http !== '') this.peerHttp.set(from, http);
  }

  httpOf(id: NodeId): string {
    return this.peerHttp.get(id) ?? this.membership.current.addresses.get(id)?.http ?? '';
  }
}
