/**
 * `--audit-log FILE` (`-` for stdout): the AuditLog of coordination/audit.ts as JSON lines,
 *
 *     {"ts","member","zxid","session","user","token","ip","op","path","result","code"}
 *
 * ts ISO-8601 (the clock's wall time); zxid a number or null; session the id in decimal (a
 * string: ids are 64-bit) or null; user the first digest id's user, else the first x509 DN,
 * else the first sasl id, else null; token an accessor or null. The log writes two records of
 * its own, `"op":"audit"` with a `"count"`: `"result":"suppressed"` when a client's window of
 * refusals closes with some left out (its `ip` is that client's), and `"result":"dropped"`
 * once the queue has room again after records were dropped.
 *
 * Nothing a client sends can break a line or bloat one: JSON escapes every control
 * character, this escapes the characters other readers also take for line ends (U+0085,
 * U+2028, U+2029), and each string is cut at MAX_FIELD characters.
 *
 * Bounded everywhere: 401/403/429 records per client address per second (a flood of failed
 * logins is summarised, not copied); the clients remembered for that; and the bytes queued for
 * the file, behind which record() drops rather than waits. Writing is sonic-boom's (pino's
 * destination), asynchronous, so record() never blocks the event loop on the disk.
 */
import { pino } from 'pino';
import { parseToken } from '../auth/token-secret.js';
import { isAccessor } from '../core/token-ops.js';
import type { AuditEvent, AuditLog, AuditResult } from '../coordination/audit.js';
import { userOfDigest, type Id } from '../core/acl.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export const MAX_FIELD = 1024;
export const DEFAULT_REFUSALS_PER_SECOND = 10;
export const DEFAULT_MAX_CLIENTS = 10_000;
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** How soon a dropped-records summary is retried when nothing else is written. */
const DROPPED_RETRY_MS = 100;
const WINDOW_MS = 1000;

export interface AuditLogOptions {
  /** A file (appended to, created if missing), or `-` for stdout. */
  dest: string;
  /** This member's id, in every record. */
  member: number;
  clock: Clock;
  /** 401, 403 and 429 records per client address per second; the rest are counted in a summary. */
  refusalsPerSecond?: number;
  /** Client addresses remembered for that bound. */
  maxClients?: number;
  /** Bytes waiting for the file at most; past it records are dropped and counted. */
  maxQueuedBytes?: number;
  /** A write that failed after the file opened (disk full, ...). */
  onError?: (err: Error) => void;
}

type Destination = ReturnType<typeof pino.destination>;

const LIMITED: ReadonlySet<AuditResult> = new Set(['denied', 'unauthenticated', 'throttled']);

/** A client's current window of refusals (monotonic start, records written, records left out). */
interface Window {
  start: number;
  written: number;
  suppressed: number;
}

/** At most MAX_FIELD characters, never half of a surrogate pair. */
function capped(s: string): string {
  if (s.length <= MAX_FIELD) return s;
  const code = s.charCodeAt(MAX_FIELD - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? MAX_FIELD - 1 : MAX_FIELD);
}

function text(s: string | null): string | null {
  return typeof s === 'string' ? capped(s) : null;
}

/** Who the record names: a digest id's user (never its hash), else an x509 DN, else a sasl id. */
function userOf(ids: readonly Id[]): string | null {
  for (const scheme of ['digest', 'x509', 'sasl']) {
    const id = ids.find((i) => i.scheme === scheme)?.id;
    if (id === undefined) continue;
    return scheme === 'digest' ? userOfDigest(id) : id;
  }
  return null;
}

/** An accessor, even when handed a whole token; nothing that could be a secret. */
function accessorOf(token: string | null): string | null {
  if (token === null) return null;
  if (isAccessor(token)) return token;
  return parseToken(token)?.accessor ?? null;
}

/** Line ends JSON leaves raw inside strings (U+0085, U+2028, U+2029). */
const OTHER_LINE_ENDS = /[\u0085\u2028\u2029]/g;

/** An event, or one of the log's own records (which carry a count). */
type LineEvent = Omit<AuditEvent, 'result'> & { result: AuditResult | 'suppressed' | 'dropped' };

function auditLine(member: number, tsMs: number, e: LineEvent, count?: number): string {
  const record: Record<string, unknown> = {
    ts: new Date(tsMs).toISOString(),
    member,
    zxid: typeof e.zxid === 'number' && Number.isSafeInteger(e.zxid) ? e.zxid : null,
    session: typeof e.session === 'bigint' ? e.session.toString(10) : null,
    user: text(userOf(e.ids)),
    token: accessorOf(e.token),
    ip: text(e.ip),
    op: text(e.op),
    path: text(e.path),
    result: text(e.result),
    code: text(e.code),
  };
  if (count !== undefined) record.count = count;
  return `${JSON.stringify(record).replace(OTHER_LINE_ENDS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

const OWN: Omit<LineEvent, 'result' | 'ip'> = { zxid: null, session: null, ids: [], token: null, op: 'audit', path: null, code: null };

class FileAuditLog implements AuditLog {
  private droppedTotal = 0;
  /** Dropped since the last summary that made it into the queue. */
  private unreported = 0;
  private droppedRetry: TimerHandle | undefined;
  /** Insertion order is window start order: a window that rolls is re-inserted. */
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: TimerHandle;
  private closed = false;
  private readonly refusalsPerSecond: number;
  private readonly maxClients: number;

  constructor(
    private readonly out: Destination,
    private readonly opts: AuditLogOptions,
  ) {
    this.refusalsPerSecond = opts.refusalsPerSecond ?? DEFAULT_REFUSALS_PER_SECOND;
    this.maxClients = opts.maxClients ?? DEFAULT_MAX_CLIENTS;
    out.on('drop', () => {
      this.droppedTotal++;
      this.unreported++;
    });
    this.sweeper = opts.clock.setInterval(() => this.sweep(false), WINDOW_MS);
  }

  get dropped(): number {
    return this.droppedTotal;
  }

  record(event: AuditEvent): void {
    if (this.closed) return;
    if (LIMITED.has(event.result) && !this.admit(event.ip ?? '')) return;
    this.write(auditLine(this.opts.member, this.opts.clock.nowMs(), event));
  }

  /** Whether a refusal from `ip` fits in its window; counts it out otherwise. */
  private admit(ip: string): boolean {
    const now = this.opts.clock.monoMs();
    let w = this.windows.get(ip);
    if (w !== undefined && now - w.start >= WINDOW_MS) {
      this.windows.delete(ip);
      this.summarise(ip, w);
      w = undefined;
    }
    if (w === undefined) {
      if (this.windows.size >= this.maxClients) {
        const [oldIp, oldest] = this.windows.entries().next().value!;
        this.windows.delete(oldIp);
        this.summarise(oldIp, oldest);
      }
      w = { start: now, written: 0, suppressed: 0 };
      this.windows.set(ip, w);
    }
    if (w.written < this.refusalsPerSecond) {
      w.written++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  private summarise(ip: string, w: Window): void {
    if (w.suppressed > 0) this.write(auditLine(this.opts.member, this.opts.clock.nowMs(), { ...OWN, ip: ip === '' ? null : ip, result: 'suppressed' }, w.suppressed));
  }

  /** Closes the windows that have ended (all of them at close), writing their summaries. */
  private sweep(all: boolean): void {
    const now = this.opts.clock.monoMs();
    for (const [ip, w] of this.windows) {
      if (!all && now - w.start < WINDOW_MS) break;
      this.windows.delete(ip);
      this.summarise(ip, w);
    }
  }

  private write(line: string): void {
    if (this.unreported > 0) this.reportDropped();
    this.put(line);
    if (this.unreported > 0) this.retryReport();
  }

  /** Reports the dropped records soon even if nothing else is recorded meanwhile. */
  private retryReport(): void {
    if (this.droppedRetry !== undefined || this.closed) return;
    this.droppedRetry = this.opts.clock.setTimeout(() => {
      this.droppedRetry = undefined;
      if (this.unreported === 0) return;
      this.reportDropped();
      if (this.unreported > 0) this.retryReport();
    }, DROPPED_RETRY_MS);
  }

  /** Queues a line; one the destination refuses (full: its 'drop'; failed for good: a throw) is counted as dropped. */
  private put(line: string): void {
    try {
      this.out.write(line);
    } catch {
      this.droppedTotal++;
      this.unreported++;
    }
  }

  /** Queues the summary of the records dropped so far, if there is room for it now. */
  private reportDropped(): void {
    const n = this.unreported;
    const before = this.droppedTotal;
    this.put(auditLine(this.opts.member, this.opts.clock.nowMs(), { ...OWN, ip: null, result: 'dropped' }, n));
    if (this.droppedTotal === before) this.unreported -= n;
    else {
      // The summary itself did not fit: it is no record, so it is not counted as one.
      this.droppedTotal--;
      this.unreported--;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.sweeper.cancel();
    this.droppedRetry?.cancel();
    this.sweep(true);
    if (this.unreported > 0) this.reportDropped();
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.out.once('close', () => resolve());
      this.out.once('error', () => resolve());
      this.out.end();
    });
  }
}

/** Opens the audit log; rejects when the file cannot be opened (a wrong path fails at start, not later). */
export async function openAuditLog(opts: AuditLogOptions): Promise<AuditLog> {
  const out = pino.destination({ dest: opts.dest === '-' ? 1 : opts.dest, sync: false, maxLength: opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES, append: true });
  await new Promise<void>((resolve, reject) => {
    if (opts.dest === '-') return resolve();
    out.once('ready', () => resolve());
    out.once('error', reject);
  });
  out.removeAllListeners('error');
  out.on('error', (err: Error) => opts.onError?.(err));
  return new FileAuditLog(out, opts);
}

/** An audit log that records nothing (no `--audit-log`). */
export const noAuditLog: AuditLog = {
  record: () => undefined,
  close: () => Promise.resolve(),
  dropped: 0,
};
