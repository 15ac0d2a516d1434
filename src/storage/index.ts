/**
 * zgate's storage: write-ahead log, snapshot files and hard state of one member, over one data
 * directory. The design (file formats, recovery and failure rules, choices made and why) is in
 * README.md beside this file.
 *
 * Usage by the member (the Raft loop):
 *
 *   const { storage, recovered } = await FileStorage.open(dataDir, { onProgress, repair: flags.repair });
 *   if (recovered.repaired) log.warn(recovered.repaired);
 *   // restore: recovered.snapshot (apply it), recovered.hardState, recovered.entries (after the snapshot)
 *   // per Raft Ready, in this order (all queued FIFO, each durable when resolved):
 *   await storage.truncateSuffix(i)          // a follower's conflicting tail, if any
 *   await storage.append(ready.entries)      // then send messages
 *   await storage.saveHardState(ready.hs)    // when term or vote changed
 *   // every N entries: await storage.saveSnapshot(meta, tree bytes) — compacts the log
 *   // from the leader: await storage.installSnapshot(meta, bytes)
 *   await storage.close()
 *
 * Errors: ZgateError('Unavailable') for a failed disk write (answer 503), StorageCorruptError
 * and StorageLockedError from open() (refuse to start with the message), AssertionFailure for
 * caller bugs (fatal).
 */
export type { LogEntry, HardState, SnapshotMeta, Storage, StorageOptions, Recovered, RecoveryProgress } from './types.js';
export { FileStorage, DEFAULTS } from './storage.js';
export { MemoryStorage } from './memory.js';
export { StorageCorruptError, StorageLockedError } from './errors.js';
export { type FileSystem, type FileHandle, type FsOp, type Fault, type FaultHook, realFileSystem, FaultInjectingFileSystem, fsError } from './fs.js';
export { MAX_ENTRY_DATA } from './record.js';
