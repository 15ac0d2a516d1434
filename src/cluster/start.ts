/**
 * Wiring of one cluster member's replicated log: identity checks on the data dir, bootstrap
 * of a new cluster from --peers (or an empty start with --join), the TCP transport and the
 * RaftNode. The caller (cli/) then restores the member from the snapshot and starts the log.
 */
import type { SecureContextOptions } from 'node:tls';
import { ZgateError } from '../core/errors.js';
import type { Recovered, Storage } from '../storage/index.js';
import { readIdentity, writeIdentity, type Identity } from './identity.js';
import type { ClusterLogger } from './logger.js';
import { deriveClusterId, formatPeers, parseHostPort } from './peers.js';
import { RaftNode } from './raft-node.js';
import { TcpTransport } from './transport-tcp.js';

export interface ClusterMemberOptions {
  id: number;
  /** --peers, parsed. */
  peers: ReadonlyMap<number, string>;
  /** --peer-port: listen there instead of the port of this member's --peers entry. */
  peerPort?: number;
  /** --join: a member added to a running cluster (starts empty, learns everything from the leader). */
  join: boolean;
  /** This member's HTTP URL, as clients reach it. */
  http: string;
  dataDir: string;
  storage: Storage;
  recovered: Recovered;
  tickMs: number;
  electionTicks: number;
  requestTimeoutMs: number;
  readTimeoutMs: number;
  log: ClusterLogger;
  onFatal(e: Error): void;
  /** Mutual TLS on the peer links (the transport calls `load` at start and on reload). */
  tls?: { load(): SecureContextOptions };
}

export async function openClusterLog(o: ClusterMemberOptions): Promise<{ raftNode: RaftNode; transport: TcpTransport; identity: Identity | undefined }> {
  const own = o.peers.get(o.id);
  if (own === undefined) throw new ZgateError('BadArguments', `--id ${o.id} is not in --peers (${formatPeers(o.peers)}): list this member's own address there too`);
  const listen = parseHostPort(own, `member ${o.id}'s --peers address`);
  if (o.peerPort !== undefined) listen.port = o.peerPort;

  const r = o.recovered;
  const empty = r.hardState.term === 0 && r.entries.length === 0 && r.snapshot === undefined;
  let identity = await readIdentity(o.dataDir);
  let bootstrap: number[] | undefined;
  if (identity !== undefined) {
    if (identity.memberId !== o.id) {
      throw new ZgateError('BadArguments', `data dir ${o.dataDir} belongs to member ${identity.memberId} of cluster ${identity.clusterId}, not to member ${o.id}: check --id and --data-dir`);
    }
    if (empty && identity.mode === 'bootstrap') bootstrap = [...o.peers.keys()]; // a crash right after the identity was written
  } else if (!empty) {
    throw new ZgateError(
      'BadArguments',
      `data dir ${o.dataDir} holds the log of a single member (started without --peers): a cluster member needs a data dir of its own (or start it without --peers)`,
    );
  } else if (o.join) {
    o.log.info({ peers: formatPeers(o.peers) }, 'joining a running cluster: waiting for its leader to call (add this member with POST /v1/cluster/members on any member)');
  } else {
    identity = { clusterId: deriveClusterId(o.peers), memberId: o.id, mode: 'bootstrap' };
    await writeIdentity(o.dataDir, identity);
    bootstrap = [...o.peers.keys()];
  }

  const ref: { log?: RaftNode } = {};
  const transport = new TcpTransport({
    id: o.id,
    listen,
    clusterId: identity?.clusterId,
    advertisedPeer: own,
    http: o.http,
    log: o.log,
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
    accepts: (id) => (ref.log !== undefined ? ref.log.accepts(id) : o.peers.has(id)),
    adoptClusterId: async (clusterId) => {
      identity = { clusterId, memberId: o.id, mode: 'join' };
      await writeIdentity(o.dataDir, identity);
    },
  });
  const state = { hardState: r.hardState, entries: r.entries, ...(r.snapshot ? { snapshot: r.snapshot } : {}) };
  const raftNode = await RaftNode.create(
    {
      id: o.id,
      storage: o.storage,
      transport,
      flagPeers: o.peers,
      http: o.http,
      logger: o.log,
      onFatal: o.onFatal,
      tickMs: o.tickMs,
      electionTicks: o.electionTicks,
      requestTimeoutMs: o.requestTimeoutMs,
      readTimeoutMs: o.readTimeoutMs,
    },
    state,
    bootstrap,
  );
  ref.log = raftNode;
  return { raftNode, transport, identity };
}
