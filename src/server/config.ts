/** The member's configuration: every flag, its environment variable, default and help line. */
import { fixupAcl, isValidAclId, parseAclText, type Acl } from '../core/acl.js';
import { ZgateError } from '../core/errors.js';
import { resolveClientTls, resolvePeerTls, TLS_FLAGS, type ClientTlsConfig, type PeerTlsConfig } from './tls-config.js';

export interface ServeConfig {
  httpHost: string;
  httpPort: number;
  dataDir: string;
  id: number;
  peers: string;
  peerPort: number | undefined;
  join: boolean;
  advertiseHttp: string;
  tickMs: number;
  electionTicks: number;
  maxDataBytes: number;
  maxDeleteNodes: number;
  minZxidWaitMs: number;
  requestTimeoutMs: number;
  corsOrigins: string[];
  logLevel: string;
  snapshotEntries: number;
  snapshotBytes: number;
  keepSnapshots: number;
  segmentBytes: number;
  repair: boolean;
  watchHistoryEntries: number;
  watchHistoryBytes: number;
  heartbeatMs: number;
  watchQueueBytes: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  reaperIntervalMs: number;
  reaperMaxPerMinute: number;
  /** HTTPS and WSS on --http; absent: plain HTTP. */
  tls: ClientTlsConfig | undefined;
  /** Mutual TLS on every peer link; absent: plain TCP. */
  peerTls: PeerTlsConfig | undefined;
  /** Every request, socket and session needs an authenticated identity (ZooKeeper's enforce.auth). */
  authRequired: boolean;
  /** As given; undefined: world:anyone:cdrwa, or auth::cdrwa with --auth-required. */
  defaultAcl: string | undefined;
  /** The ACL of / in a new tree, fixed up (no `auth`: there is no caller). */
  rootAcl: Acl[] | undefined;
  superDigest: string | undefined;
  x509SuperUser: string | undefined;
  digestUsers: string | undefined;
  trustProxy: string[];
  maxTokenTtlMs: number;
  maxTokens: number;
  authRate: number;
  auditLog: string | undefined;
  /** Starts with --auth-required although --peers has non-loopback hosts and no peer TLS. */
  insecurePeers: boolean;
}

interface FlagSpec {
  /** A switch: `--repair` alone means true. */
  kind?: 'boolean';
  flag: string;
  env: string;
  default: string;
  help: string;
}

export const SERVE_FLAGS: FlagSpec[] = [
  { flag: 'http', env: 'ZGATE_HTTP', default: '127.0.0.1:8080', help: 'host:port the HTTP API listens on (0.0.0.0:8080 for all interfaces)' },
  { flag: 'data-dir', env: 'ZGATE_DATA_DIR', default: './data', help: 'directory of the member\'s data' },
  { flag: 'id', env: 'ZGATE_ID', default: '1', help: 'this member\'s id in the cluster (1..254)' },
  { flag: 'peers', env: 'ZGATE_PEERS', default: '', help: 'cluster members as id=host:port,... where the others reach each one, this member included (empty: a single member)' },
  { flag: 'peer-port', env: 'ZGATE_PEER_PORT', default: '', help: 'port this member listens on for peers, if not the one of its --peers entry' },
  { kind: 'boolean', flag: 'join', env: 'ZGATE_JOIN', default: 'false', help: 'true: this member is being added to a running cluster (empty data dir; add it with POST /v1/cluster/members)' },
  { flag: 'advertise-http', env: 'ZGATE_ADVERTISE_HTTP', default: '', help: 'the HTTP URL clients reach this member at, shown by /v1/cluster (default: http://<--http>)' },
  { flag: 'tick-ms', env: 'ZGATE_TICK_MS', default: '100', help: 'Raft tick: heartbeats every tick, elections after --election-ticks..2x ticks without a leader' },
  { flag: 'election-ticks', env: 'ZGATE_ELECTION_TICKS', default: '10', help: 'ticks without hearing from a leader before a member campaigns (randomized up to twice that)' },
  { flag: 'max-data-bytes', env: 'ZGATE_MAX_DATA_BYTES', default: '1048576', help: 'largest znode data, and largest total data of a txn' },
  { flag: 'max-delete-nodes', env: 'ZGATE_MAX_DELETE_NODES', default: '100000', help: 'largest subtree one recursive delete may remove' },
  { flag: 'min-zxid-wait-ms', env: 'ZGATE_MIN_ZXID_WAIT_MS', default: '5000', help: 'how long ?minZxid= and linearizable reads wait before 503' },
  { flag: 'request-timeout-ms', env: 'ZGATE_REQUEST_TIMEOUT_MS', default: '10000', help: 'how long a write waits to apply before 503' },
  { flag: 'cors-origins', env: 'ZGATE_CORS_ORIGINS', default: '', help: 'comma-separated origins allowed by CORS (empty: none)' },
  { flag: 'snapshot-entries', env: 'ZGATE_SNAPSHOT_ENTRIES', default: '100000', help: 'snapshot the tree (and compact the log) after this many entries' },
  { flag: 'snapshot-bytes', env: 'ZGATE_SNAPSHOT_BYTES', default: '67108864', help: '... or after this many bytes of log entries, whichever comes first' },
  { flag: 'keep-snapshots', env: 'ZGATE_KEEP_SNAPSHOTS', default: '2', help: 'snapshot files kept (log segments are kept back to the oldest)' },
  { flag: 'segment-bytes', env: 'ZGATE_SEGMENT_BYTES', default: '67108864', help: 'size at which the write-ahead log rolls to a new segment file' },
  { kind: 'boolean', flag: 'repair', env: 'ZGATE_REPAIR', default: 'false', help: 'true: cut a corrupt write-ahead log at the first bad record instead of refusing to start (copies kept aside)' },
  { flag: 'watch-history', env: 'ZGATE_WATCH_HISTORY', default: '10000', help: 'watch resume history: zxids with events retained (older fromZxid answers Compacted)' },
  { flag: 'watch-history-bytes', env: 'ZGATE_WATCH_HISTORY_BYTES', default: '67108864', help: '... and at most this many bytes of events (with their data)' },
  { flag: 'heartbeat-ms', env: 'ZGATE_HEARTBEAT_MS', default: '10000', help: 'heartbeat interval of WebSocket and SSE watchers, carrying the applied zxid (0: none)' },
  { flag: 'watch-queue-bytes', env: 'ZGATE_WATCH_QUEUE_BYTES', default: '4194304', help: 'send queue bound of one WebSocket or SSE stream; a slower reader is closed (4008)' },
  { flag: 'min-session-timeout-ms', env: 'ZGATE_MIN_SESSION_TIMEOUT_MS', default: '1000', help: 'a session timeout asked for is clamped to at least this' },
  { flag: 'max-session-timeout-ms', env: 'ZGATE_MAX_SESSION_TIMEOUT_MS', default: '60000', help: '... and to at most this' },
  { flag: 'reaper-interval-ms', env: 'ZGATE_REAPER_INTERVAL_MS', default: '60000', help: 'the leader\'s sweep of empty container and expired TTL znodes runs this often' },
  { flag: 'reaper-max-per-minute', env: 'ZGATE_REAPER_MAX_PER_MINUTE', default: '10000', help: 'throttle of that sweep: znodes deleted per minute at most (its share per sweep)' },
  ...TLS_FLAGS,
  { kind: 'boolean', flag: 'auth-required', env: 'ZGATE_AUTH_REQUIRED', default: 'false', help: 'true: every request, socket and session needs a digest, x509 or token identity' },
  { flag: 'default-acl', env: 'ZGATE_DEFAULT_ACL', default: '', help: 'ACL of a create that names none, as scheme:id:perms,... (default world:anyone:cdrwa; auth::cdrwa with --auth-required)' },
  { flag: 'root-acl', env: 'ZGATE_ROOT_ACL', default: '', help: 'ACL of / in a new tree, as scheme:id:perms,... (default world:anyone:cdrwa; set once by the first leader, then only by setACL)' },
  { flag: 'super-digest', env: 'ZGATE_SUPER_DIGEST', default: '', help: 'user:base64(sha1(user:password)) of a super user, who passes every ACL (ZooKeeper\'s superDigest)' },
  { flag: 'x509-super-user', env: 'ZGATE_X509_SUPER_USER', default: '', help: 'client certificate subject DN (RFC 2253, as Java writes it) of a super user' },
  { flag: 'digest-users', env: 'ZGATE_DIGEST_USERS', default: '', help: 'file of user:base64(sha1(user:password)) lines: only these digests may authenticate (others 401)' },
  { flag: 'trust-proxy', env: 'ZGATE_TRUST_PROXY', default: '', help: 'comma-separated addresses or CIDR ranges of proxies whose X-Forwarded-For gives the client address' },
  { flag: 'max-token-ttl-ms', env: 'ZGATE_MAX_TOKEN_TTL_MS', default: '604800000', help: 'longest lifetime a token may be created with (7 days)' },
  { flag: 'max-tokens', env: 'ZGATE_MAX_TOKENS', default: '10000', help: 'live tokens in all (100 per identity); past it 409 QuotaExceeded' },
  { flag: 'auth-rate', env: 'ZGATE_AUTH_RATE', default: '10', help: 'failed authentications per second and address before 429 Throttled' },
  { flag: 'audit-log', env: 'ZGATE_AUDIT_LOG', default: '', help: 'file of the audit log, one JSON object per line (- for stdout; empty: none)' },
  { kind: 'boolean', flag: 'insecure-peers', env: 'ZGATE_INSECURE_PEERS', default: 'false', help: 'true: start with --auth-required although non-loopback --peers have no peer TLS (anyone reaching a peer port can join)' },
  { flag: 'log-level', env: 'ZGATE_LOG_LEVEL', default: 'info', help: 'pino log level: fatal, error, warn, info, debug, trace, silent' },
];

export function serveHelp(): string {
  const lines = ['Usage: zgate serve [options]', '', 'Runs one zgate member. Every option may also come from its environment variable.', ''];
  for (const f of SERVE_FLAGS) {
    lines.push(`  --${f.flag.padEnd(24)} ${f.help}`);
    lines.push(`  ${''.padEnd(26)} env ${f.env}${f.default ? `, default ${f.default}` : ''}`);
  }
  lines.push(`  --${'help'.padEnd(24)} this text`);
  return lines.join('\n');
}

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^-?[0-9]+$/.test(text)) throw new ZgateError('BadArguments', `--${name} must be an integer, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new ZgateError('BadArguments', `--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function boolean(name: string, text: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0' || text === '') return false;
  throw new ZgateError('BadArguments', `--${name} must be true or false, got '${text}'`);
}

/** Flags win over environment variables, which win over defaults. */
export function resolveServeConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): ServeConfig {
  const value = (flag: string): string => {
    const spec = SERVE_FLAGS.find((f) => f.flag === flag);
    if (!spec) throw new Error(`no flag ${flag}`);
    return flags[flag] ?? env[spec.env] ?? spec.default;
  };
  const http = value('http');
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):([0-9]{1,5})$/.exec(http);
  if (!m) throw new ZgateError('BadArguments', `--http must be host:port, got '${http}'`);
  const peerPort = value('peer-port');
  return {
    httpHost: m[1]!.replace(/^\[|\]$/g, ''),
    httpPort: integer('http', m[2]!, 0, 65535),
    dataDir: value('data-dir'),
    id: integer('id', value('id'), 1, 254),
    peers: value('peers'),
    peerPort: peerPort === '' ? undefined : integer('peer-port', peerPort, 1, 65535),
    join: boolean('join', value('join')),
    advertiseHttp: value('advertise-http'),
    tickMs: integer('tick-ms', value('tick-ms'), 1, 10_000),
    electionTicks: integer('election-ticks', value('election-ticks'), 2, 1000),
    maxDataBytes: integer('max-data-bytes', value('max-data-bytes'), 1, 64 * 1024 * 1024),
    maxDeleteNodes: integer('max-delete-nodes', value('max-delete-nodes'), 1, 100_000_000),
    minZxidWaitMs: integer('min-zxid-wait-ms', value('min-zxid-wait-ms'), 0, 600_000),
    requestTimeoutMs: integer('request-timeout-ms', value('request-timeout-ms'), 1, 600_000),
    corsOrigins: value('cors-origins').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    logLevel: value('log-level'),
    snapshotEntries: integer('snapshot-entries', value('snapshot-entries'), 1, 1_000_000_000),
    snapshotBytes: integer('snapshot-bytes', value('snapshot-bytes'), 1024, 2 ** 40),
    keepSnapshots: integer('keep-snapshots', value('keep-snapshots'), 1, 1000),
    segmentBytes: integer('segment-bytes', value('segment-bytes'), 1024, 2 ** 32),
    repair: boolean('repair', value('repair')),
    watchHistoryEntries: integer('watch-history', value('watch-history'), 1, 100_000_000),
    watchHistoryBytes: integer('watch-history-bytes', value('watch-history-bytes'), 1024, 2 ** 40),
    heartbeatMs: integer('heartbeat-ms', value('heartbeat-ms'), 0, 3_600_000),
    watchQueueBytes: integer('watch-queue-bytes', value('watch-queue-bytes'), 1024, 2 ** 32),
    ...sessionBounds(integer('min-session-timeout-ms', value('min-session-timeout-ms'), 1, 2 ** 31 - 1), integer('max-session-timeout-ms', value('max-session-timeout-ms'), 1, 2 ** 31 - 1)),
    reaperIntervalMs: integer('reaper-interval-ms', value('reaper-interval-ms'), 1, 86_400_000),
    reaperMaxPerMinute: integer('reaper-max-per-minute', value('reaper-max-per-minute'), 1, 100_000_000),
    tls: resolveClientTls(value, integer('tls-handshake-timeout-ms', value('tls-handshake-timeout-ms'), 1, 600_000)),
    peerTls: resolvePeerTls(value),
    authRequired: boolean('auth-required', value('auth-required')),
    insecurePeers: boolean('insecure-peers', value('insecure-peers')),
    defaultAcl: optional(value('default-acl')),
    rootAcl: rootAclFlag(value('root-acl')),
    superDigest: digestFlag('super-digest', value('super-digest')),
    x509SuperUser: optional(value('x509-super-user')),
    digestUsers: optional(value('digest-users')),
    trustProxy: trustProxyFlag(value('trust-proxy')),
    maxTokenTtlMs: integer('max-token-ttl-ms', value('max-token-ttl-ms'), 60_000, 365 * 86_400_000),
    maxTokens: integer('max-tokens', value('max-tokens'), 1, 10_000_000),
    authRate: integer('auth-rate', value('auth-rate'), 1, 1_000_000),
    auditLog: optional(value('audit-log')),
  };
}

function optional(text: string): string | undefined {
  return text === '' ? undefined : text;
}

function digestFlag(name: string, text: string): string | undefined {
  if (text === '') return undefined;
  if (!/^[^:]+:[A-Za-z0-9+/]{27}=$/.test(text)) throw new ZgateError('BadArguments', `--${name} must be user:base64(sha1(user:password)), as zkCli's DigestAuthenticationProvider prints it, got '${text}'`);
  return text;
}

function rootAclFlag(text: string): Acl[] | undefined {
  if (text === '') return undefined;
  const parsed = parseAclText(text);
  const fixed = parsed === undefined ? undefined : fixupAcl(parsed, []);
  if (fixed === undefined || !fixed.ok) throw new ZgateError('BadArguments', `--root-acl ${JSON.stringify(text)}: ${fixed?.ok === false ? fixed.message : 'entries are scheme:id:perms, comma-separated'}`);
  return fixed.acl;
}

function trustProxyFlag(text: string): string[] {
  const ranges = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const r of ranges) if (!isValidAclId('ip', r)) throw new ZgateError('BadArguments', `--trust-proxy: '${r}' is not an address or addr/bits range`);
  return ranges;
}

function sessionBounds(min: number, max: number): { minSessionTimeoutMs: number; maxSessionTimeoutMs: number } {
  if (min > max) throw new ZgateError('BadArguments', `--min-session-timeout-ms (${min}) is above --max-session-timeout-ms (${max})`);
  return { minSessionTimeoutMs: min, maxSessionTimeoutMs: max };
}
