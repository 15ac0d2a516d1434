/**
 * The composition root: starts one member from its configuration and owns its parts — the
 * logger, the member and its log (alone: the durable local log; in a cluster: Raft's), the
 * session service, the watch hub, the coordination service and the HTTP server — and stops
 * them in order. The HTTP face listens first (answering /readyz 503 and every request
 * Unavailable) while storage opens and the state is recovered.
 */
import { requestForLog } from '../api/http/log-redaction.js';
import { loadDigestUsers } from '../auth/digest-users.js';
import { systemClock } from '../util/clock.js';
import { AuthThrottle } from '../auth/throttle.js';
import { openAuditLog } from './audit-log.js';
import { auditMember } from './audit-wiring.js';
import type { FastifyInstance } from 'fastify';
import { Server as TlsServer } from 'node:tls';
import { pino, type Logger } from 'pino';
import { buildApp } from '../api/http/app.js';
import { IDENTITY_FILE, identityExists } from '../cluster/identity.js';
import { parsePeers } from '../cluster/peers.js';
import type { RaftNode } from '../cluster/raft-node.js';
import { openClusterLog } from '../cluster/start.js';
import type { TcpTransport } from '../cluster/transport-tcp.js';
import { ZgateError } from '../core/errors.js';
import { DurableLocalLog } from '../log/durable-local-log.js';
import { LateLog } from '../log/local-log.js';
import type { ReplicationControl } from '../node/member-service.js';
import { Member, type RecoveredState } from '../node/member.js';
import { FileStorage, type Recovered, type Storage } from '../storage/index.js';
import type { ServeConfig } from './config.js';
import { assembleMember, type MemberParts } from './parts.js';
import { checkPeerTransport } from './peer-security.js';
import { httpsOptions, peerTlsMaterial, reloadClientTls } from './tls.js';

export interface RunningMember {
  readonly parts: MemberParts;
  readonly app: FastifyInstance;
  readonly logger: Logger;
  /** Resolves once storage is open and the state recovered (the member serves); rejects when it cannot start. */
  readonly started: Promise<void>;
  /** Hands leadership over (a leader), closes the HTTP face, the session duties and the member. */
  stop(): Promise<void>;
  /** Reads the TLS certificate files again (SIGHUP); a file that does not load is logged and the old one kept. */
  reloadTls(): void;
}

export interface StartOptions {
  /** Persistence failed and the log's state is unknown: the process must stop (fail-stop). */
  onFatal(e: Error): void;
}

function advertisedUrl(config: ServeConfig): string {
  if (config.advertiseHttp !== '') return config.advertiseHttp;
  const host = config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost;
  return `${config.tls !== undefined ? 'https' : 'http'}://${host}:${config.httpPort}`;
}

/** The replicated log's controls before the log exists (storage still opening): Unavailable, zeros. */
class LateReplication implements ReplicationControl {
  private node: RaftNode | undefined;
  private latency: ((seconds: number) => void) | undefined;

  constructor(private readonly id: number) {}

  attach(node: RaftNode): void {
    this.node = node;
    if (this.latency !== undefined) node.onProposalLatency(this.latency);
  }

  get attached(): RaftNode | undefined {
    return this.node;
  }

  private need(): RaftNode {
    if (this.node === undefined) throw new ZgateError('Unavailable', 'the member is still opening its storage');
    return this.node;
  }

  cluster() {
    return this.node?.cluster() ?? { id: this.id, leaderId: null, term: 0, commitIndex: 0, members: [] };
  }

  addMember(id: number, peer: string, http: string) {
    return this.need().addMember(id, peer, http);
  }

  removeMember(id: number) {
    return this.need().removeMember(id);
  }

  metrics() {
    return this.node?.metrics() ?? { term: 0, commitIndex: 0, isLeader: false, leaderChanges: 0, forwarded: 0, followerLag: [] };
  }

  onProposalLatency(fn: (seconds: number) => void): void {
    this.latency = fn;
    this.node?.onProposalLatency(fn);
  }
}

export async function startMember(config: ServeConfig, o: StartOptions): Promise<RunningMember> {
  const logger = pino({ level: config.logLevel, serializers: { req: requestForLog } });
  const peers = parsePeers(config.peers);
  const peerTransport = checkPeerTransport(config, peers, logger);
  // Read now, so that a missing file or a key that does not fit stops the start before anything listens.
  const https = config.tls !== undefined ? httpsOptions(config.tls) : undefined;
  if (config.peerTls !== undefined) peerTlsMaterial(config.peerTls);
  const replication = peers.size > 0 ? new LateReplication(config.id) : undefined;
  const lateLog = new LateLog(config.id);
  const digestUsers = config.digestUsers !== undefined ? await loadDigestUsers(config.digestUsers) : undefined;
  const audit = config.auditLog !== undefined ? await openAuditLog({ dest: config.auditLog, member: config.id, clock: systemClock, onError: (err) => logger.error({ err }, 'audit log write failed') }) : undefined;
  const member = new Member(lateLog, {
    id: config.id,
    tree: { maxDataBytes: config.maxDataBytes },
    tokenBounds: { perIdentity: 100, total: config.maxTokens },
    requestTimeoutMs: config.requestTimeoutMs,
    snapshotEntries: config.snapshotEntries,
    snapshotBytes: config.snapshotBytes,
  });
  member.markRecovering();
  if (audit !== undefined) auditMember(member, audit);
  const parts = assembleMember(member, {
    config: config,
    ...(digestUsers !== undefined ? { digestUsers } : {}),
    advertisedHttp: advertisedUrl(config),
    isReady: () => member.ready && (replication === undefined || replication.attached?.isReady() === true),
    ...(replication !== undefined ? { replication } : {}),
    sessionOptions: {
      minTimeoutMs: config.minSessionTimeoutMs,
      maxTimeoutMs: config.maxSessionTimeoutMs,
      reaperIntervalMs: config.reaperIntervalMs,
      reaperMaxPerMinute: config.reaperMaxPerMinute,
      rootAcl: config.rootAcl,
    },
    onError: (err, what) => logger.warn({ err }, `${what} failed`),
  });
  const app = await buildApp({
    service: parts.service,
    logger,
    processMetrics: true,
    config: { corsOrigins: config.corsOrigins, heartbeatMs: config.heartbeatMs, watchQueueBytes: config.watchQueueBytes, trustProxy: config.trustProxy, ...(peerTransport !== undefined ? { peerTransport } : {}) },
    throttle: new AuthThrottle(systemClock, { rate: config.authRate }),
    ...(audit !== undefined ? { audit } : {}),
    ...(https !== undefined ? { https } : {}),
  });
  parts.start();
  const stop = async (): Promise<void> => {
    const raftNode = replication?.attached;
    if (raftNode !== undefined) {
      // A leader hands over first, so that the cluster does not wait an election timeout.
      const to = await raftNode.transferLeadership(2000).catch(() => 0);
      if (to !== 0) logger.info({ newLeader: to }, 'leadership transferred');
    }
    await app.close();
    parts.stop();
    await member.close();
    await audit?.close();
  };
  await app.listen({ host: config.httpHost, port: config.httpPort });
  logger.info({ http: app.server.address(), dataDir: config.dataDir }, 'zgate member listening; recovering its state (/readyz answers 503 until done)');

  const onFatal = (e: Error): void => {
    logger.fatal({ err: e }, 'the write-ahead log is in an unknown state after a failed write; stopping (a restart recovers every acknowledged write)');
    o.onFatal(e);
  };
  const peerLinks: PeerLinks = {};
  const started = (async () => {
    const { storage, recovered } = await openStorage(config, logger);
    if (replication === undefined) return startLocalLog(config, member, lateLog, storage, recovered, logger, onFatal);
    await startClusterLog(config, peers, parts, lateLog, replication, peerLinks, storage, recovered, logger, onFatal).catch(async (e: unknown) => {
      logger.fatal({ err: e }, `cannot start the cluster member: ${e instanceof Error ? e.message : String(e)}`);
      await storage.close().catch(() => undefined);
      throw e;
    });
  })();
  const reloadTls = (): void => {
    if (config.tls !== undefined && app.server instanceof TlsServer) reloadClientTls(app.server, config.tls, logger);
    peerLinks.transport?.reloadTls();
    if (config.tls === undefined && config.peerTls === undefined) logger.info('SIGHUP: no TLS certificates to reload');
  };
  return { parts, app, logger, started, stop, reloadTls };
}

/** The peer transport, once the cluster log made it (SIGHUP reloads its certificates). */
interface PeerLinks {
  transport?: TcpTransport;
}

/** Storage first (it takes the data dir's lock), with progress while the log is read. */
async function openStorage(config: ServeConfig, logger: Logger): Promise<{ storage: Storage; recovered: Recovered }> {
  const opened = await FileStorage.open(config.dataDir, {
    segmentBytes: config.segmentBytes,
    keepSnapshots: config.keepSnapshots,
    repair: config.repair,
    onProgress: (p) => {
      if (p.elapsedMs >= 1000 || p.phase === 'done') logger.info({ phase: p.phase, records: p.records, bytes: p.bytes, bytesTotal: p.bytesTotal, elapsedMs: p.elapsedMs }, 'recovery: reading the write-ahead log');
    },
  }).catch((e: unknown) => {
    logger.fatal({ err: e }, `cannot open the data dir: ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  });
  if (opened.recovered.repaired) logger.warn({ repaired: opened.recovered.repaired }, 'the write-ahead log was repaired');
  return opened;
}

/** A member running alone: the durable local log, then the tree from the snapshot and the log. */
async function startLocalLog(config: ServeConfig, member: Member, lateLog: LateLog, storage: Storage, recovered: Recovered, logger: Logger, onFatal: (e: Error) => void): Promise<void> {
  if (identityExists(config.dataDir)) {
    await storage.close();
    throw new ZgateError('BadArguments', `data dir ${config.dataDir} belongs to a cluster member (it has a '${IDENTITY_FILE}' file): start it with its --id and --peers`);
  }
  const durable = new DurableLocalLog(storage, config.id, onFatal);
  await durable.init();
  lateLog.attach(durable);
  const state: RecoveredState = { entries: recovered.entries.map((e) => ({ index: e.index, data: e.data })) };
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state, (p) => logger.info(p, 'recovery: applying the log'));
  logger.info({ appliedZxid: member.appliedZxid, znodes: member.tree.nodeCount, snapshotIndex: recovered.snapshot?.meta.index ?? 0, entries: recovered.entries.length }, 'zgate member ready');
}

/**
 * A member of a replicated cluster: the Raft log over the storage, the snapshot restored into
 * the member, then the loop started (it hands the committed entries after the snapshot over).
 */
async function startClusterLog(
  config: ServeConfig,
  peers: Map<number, string>,
  parts: MemberParts,
  lateLog: LateLog,
  replication: LateReplication,
  peerLinks: PeerLinks,
  storage: Storage,
  recovered: Recovered,
  logger: Logger,
  onFatal: (e: Error) => void,
): Promise<void> {
  const { member, sessions } = parts;
  const peerTls = config.peerTls;
  const { raftNode, transport } = await openClusterLog({
    id: config.id,
    peers,
    ...(config.peerPort !== undefined ? { peerPort: config.peerPort } : {}),
    join: config.join,
    http: advertisedUrl(config),
    dataDir: config.dataDir,
    storage,
    recovered,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    requestTimeoutMs: config.requestTimeoutMs,
    readTimeoutMs: config.minZxidWaitMs,
    log: logger,
    onFatal,
    ...(peerTls !== undefined ? { tls: { load: () => peerTlsMaterial(peerTls) } } : {}),
  });
  peerLinks.transport = transport;
  raftNode.setSnapshotInstaller((index, data) => member.installSnapshot(index, data));
  lateLog.attach(raftNode);
  replication.attach(raftNode);
  // Session keepalives taken here go to the leader's expiry clock in batches.
  sessions.setForwarder({ forward: (ids) => raftNode.forwardKeepalives(ids) });
  raftNode.setKeepaliveReceiver((ids) => sessions.receiveKeepalives(ids));
  const state: RecoveredState = { entries: [] };
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state);
  await raftNode.start();
  logger.info(
    { id: config.id, peers: config.peers, snapshotIndex: recovered.snapshot?.meta.index ?? 0, entries: recovered.entries.length, commit: recovered.hardState.commit },
    'zgate cluster member started: the log after the snapshot is applied as it is confirmed committed; /readyz answers 200 once there is a leader and this member caught up',
  );
}
