/**
 * The storage contract Raft persists through. See README.md beside this file for the design
 * (file formats, recovery rules, failure model); this file is the interface only.
 */

/** One Raft log entry. `data` is opaque to storage (the encoded Op plus metadata). */
export interface LogEntry {
  index: number;
  term: number;
  data: Uint8Array;
}

/** Raft's hard state. vote = 0 means "voted for nobody in this term". */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

/**
 * Identifies a snapshot: the state exactly as of applying entry `index` (of `term`).
 * `config` is opaque (the encoded cluster membership as of `index`); may be empty.
 */
export interface SnapshotMeta {
  index: number;
  term: number;
  config: Uint8Array;
}

/** Progress of open()'s recovery, for a log line on long recoveries. */
export interface RecoveryProgress {
  phase: 'snapshot' | 'wal' | 'done';
  /** Segment (or snapshot) file being read. */
  file?: string;
  segmentsDone: number;
  segmentsTotal: number;
  /** WAL records replayed so far. */
  records: number;
  /** WAL bytes replayed so far, of bytesTotal (the size of all segment files). */
  bytes: number;
  bytesTotal: number;
  elapsedMs: number;
}

export interface StorageOptions {
  /** File-system layer; default: the real node:fs/promises. Tests inject faults through it. */
  fs?: import('./fs.js').FileSystem;
  /** Roll to a new segment file when the current one would grow past this. Default 64 MiB. */
  segmentBytes?: number;
  /** Snapshot files kept (the newest N); log segments are kept back to the oldest of them. Default 2. */
  keepSnapshots?: number;
  /**
   * Explicit repair flag: a bad record followed by good ones (mid-log corruption) is cut off
   * (with everything after it, copies kept aside) instead of refusing to open. Default false.
   */
  repair?: boolean;
  /** Called while open() replays the WAL (after each segment, and at most every ~64k records). */
  onProgress?: (p: RecoveryProgress) => void;
  /** Bound of the write queue: entries queued and not yet durable. Default 65536. */
  maxQueuedEntries?: number;
  /** Bound of the write queue in bytes of entry data. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** At most this many bytes are written per fsync (one group commit). Default 4 MiB. */
  maxBatchBytes?: number;
}

/** What open() found on disk. */
export interface Recovered {
  hardState: HardState;
  /** The latest valid snapshot, if any; apply it first. */
  snapshot?: { meta: SnapshotMeta; data: Uint8Array };
  /** The log after the snapshot: indices snapshot.index+1 .. lastIndex, contiguous. */
  entries: LogEntry[];
  /** Set when open() changed the files: what was cut or set aside, and why (log it). */
  repaired?: string;
  stats: { segments: number; records: number; bytes: number; elapsedMs: number };
}

/**
 * One member's durable state over one data directory (held under a lock file).
 *
 * Ordering: every mutating call is queued in call order and applied by one writer in that
 * order (FIFO), so `append` then `saveHardState` means the hard state is written after those
 * entries are durable. A call is validated against the state *as queued* (entries must
 * continue the queued tail), while the read methods (`entries`, `term`, `firstIndex`,
 * `lastIndex`, `hardState`, `snapshotMeta`) show only *durable* state: a change becomes
 * visible exactly when its promise resolves.
 *
 * Failures: a failed write rejects with ZgateError('Unavailable') — that call *and every call
 * queued behind it* — and the durable state stays what it was (nothing half-written is kept
 * or becomes visible). Later calls may succeed (e.g. when disk space returns). If the files
 * could not be put back into a known state, the storage is marked failed: every later call
 * rejects with Unavailable until the member closes and re-opens it.
 * Caller bugs (non-contiguous indices, decreasing terms, truncating the snapshot) throw
 * AssertionFailure.
 */
export interface Storage {
  /**
   * Durable (fdatasync returned) when resolved. entries[0].index must be queued lastIndex + 1.
   * The entry objects are kept (by reference) as the in-memory log: don't mutate them.
   */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** Drop entries >= fromIndex (a follower's conflicting tail), durably. No-op past the end. */
  truncateSuffix(fromIndex: number): Promise<void>;
  /** Atomic replace (temp file, fsync, rename, fsync dir). Persist it when term or vote change. */
  saveHardState(hs: HardState): Promise<void>;
  /**
   * Save a snapshot this member took of its applied state (index <= lastIndex, term must match
   * term(index)), then compact: the log now starts at meta.index + 1, old snapshots beyond
   * keepSnapshots are deleted, and so are segments entirely below the oldest snapshot kept.
   * The file is written without stopping appends; only the compaction step is queued.
   */
  saveSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void>;
  /** A snapshot from the leader: replaces the log entirely (the log restarts at meta.index + 1). */
  installSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void>;
  /** Read the current snapshot back (to send it to a follower); undefined if there is none. */
  loadSnapshot(): Promise<{ meta: SnapshotMeta; data: Uint8Array } | undefined>;
  /** Entries [lo, hi) (hi exclusive), at least one if lo < hi and maxBytes is given. Throws ZgateError('Compacted') if lo < firstIndex. */
  entries(lo: number, hi: number, maxBytes?: number): LogEntry[];
  /** Term of entry i, for firstIndex - 1 (the snapshot) <= i <= lastIndex; undefined outside. */
  term(i: number): number | undefined;
  /** snapshot.index + 1 (the log may be empty: then lastIndex = firstIndex - 1). */
  firstIndex(): number;
  lastIndex(): number;
  hardState(): HardState;
  /** The latest durable snapshot's meta; index 0, term 0 if there is none. */
  snapshotMeta(): SnapshotMeta;
  /** Waits for queued writes, closes the files and releases the lock. */
  close(): Promise<void>;
}
