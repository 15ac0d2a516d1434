/**
 * zgate's Raft core: a pure, synchronous state machine in the manner of etcd-io/raft.
 * No timers, sockets, files, clocks or Math.random: the runtime (cluster/) drives it, and
 * the same code runs under the deterministic simulator (tools/sim).
 *
 * ## Building a member
 *
 *   const storage = MemoryLogStorage.fromDisk({ hardState, snapshot, entries });  // what the WAL holds
 *   const node = new RawNode({ id, storage, random: new Prng(seed), electionTick: 10, heartbeatTick: 1,
 *                              applied: snapshot?.meta.index, logger });
 *
 * - First start of a member of a new cluster: persist bootstrapState([1, 2, 3]) (one
 *   committed 'add' conf change per initial voter at indexes 1..n, term 1, commit n), then
 *   load as above. Every initial member writes the same entries.
 * - A member that joins later starts with an empty disk (new MemoryLogStorage()) and no
 *   membership; it never campaigns until it has applied its own 'add' (which it receives
 *   from the leader, by entries or by snapshot).
 * - `storage` (LogStorage) must equal what is durable. After start the core maintains it
 *   itself: advance() writes what the runtime has just persisted, compact() drops a prefix.
 *   Snapshot data kept there may be a reference (e.g. a file name) that the runtime resolves
 *   when it streams a MsgSnap.
 * - The storage module's LogEntry has no `type`: the runtime must keep Entry.type in its
 *   records (or encode it with the data) and give it back on restart.
 * - Config knobs (RaftConfig): preVote and checkQuorum (default on), maxSizePerMsg,
 *   maxInflightMsgs / maxInflightBytes (per-follower pipelining window),
 *   maxUncommittedEntriesSize (proposal flow control), maxCommittedSizePerReady,
 *   maxPendingReads. Sizes count entry data + 16 bytes per entry.
 *
 * ## Inputs
 *
 * - tick(): call every tick (e.g. 100 ms). A follower campaigns after a randomized
 *   electionTick..2*electionTick-1 ticks without a leader; a leader heartbeats every
 *   heartbeatTick, and with CheckQuorum steps down after an election timeout without
 *   hearing from a quorum. Followers that heard from a leader within an election timeout
 *   ignore (pre)votes (the lease), unless the vote comes from a leadership transfer.
 * - step(msg): every message received from a peer. Malformed ones, or ones addressed to
 *   another member, are dropped with a warning (validateMessage says why).
 * - propose(data) -> {ok: true, index, term} | {ok: false, reason, leader, detail?}.
 *   Only the leader appends. Refusals: 'not-leader' (with the leader's id, NONE if unknown:
 *   the runtime forwards the Op to it), 'transferring' (a leadership transfer is running),
 *   'flow-control' (maxUncommittedEntriesSize). An accepted proposal can still be lost to a
 *   leader change: it took effect iff the entry applied at `index` has `term`.
 *   Proposals made between two ready() calls travel in one MsgApp per follower (batching).
 * - proposeConfChange({type: 'add' | 'remove', id}): one voter at a time (see
 *   confchange.ts for why that is safe). Refusals: 'conf-change-pending' (the previous change,
 *   or anything a new leader inherited, is not applied yet), 'invalid-conf-change' (already a
 *   member, not a member, the last member), 'not-leader'.
 * - readIndex(ctx) -> {ok} | {ok: false, reason: 'no-leader' | 'too-many-reads'}: a
 *   linearizable read. The leader records its commit index and confirms its leadership with
 *   a heartbeat round (only once it has committed an entry of its own term); a follower
 *   forwards MsgReadIndex to the leader. The answer is a ReadState {index, ctx} in a later
 *   Ready: serve the read once the application has applied `index`. A request lost to a
 *   leader change or a dropped message is never answered: time out and retry. ctx must be
 *   unique per request.
 * - transferLeadership(to): leader only; brings `to` up to date, then MsgTimeoutNow makes it
 *   campaign at once. Proposals are refused meanwhile; abandoned after an election timeout.
 *   Refusals: 'not-leader', 'already-leader', 'not-a-member'.
 * - reportUnreachable(id): sending to id failed (the leader stops pipelining to it and
 *   probes). reportSnapshot(id, ok): the runtime finished, or failed, streaming a MsgSnap to
 *   id. The runtime MUST report every MsgSnap it could not deliver: until then the leader
 *   sends that follower nothing but heartbeats.
 * - compact(index, data, confState): the application saved a snapshot of its state at
 *   applied `index` (confState = membership as of index; status().confState when index is the
 *   applied index). The log before it is dropped; followers too far behind get this snapshot.
 * - campaign(): start an election now. status(): term, vote, leader, role, commit, applied,
 *   log bounds, membership and, on a leader, each voter's progress.
 *
 * ## Output: hasReady() / ready() / advance(ready)
 *
 * A Ready holds, to be handled in this order:
 *   1. snapshot?, entries, hardState?: persist them (snapshot, then entries — which replace
 *      any stored suffix from entries[0].index —, then hard state); fsync when mustSync
 *      (entries, a snapshot, or a term/vote change; a commit-only change needs none);
 *   2. messages: send them only once step 1 is durable (a member never acknowledges or votes
 *      on the strength of unpersisted state). A MsgSnap carries the snapshot kept by
 *      compact(): stream it in chunks and reportSnapshot;
 *   3. snapshot?: install it into the application; then apply committedEntries in order
 *      (type 'normal': the application's Op; 'confChange': decodeConfChange(data) — the core
 *      applies the membership change itself at advance; a member that finds itself removed
 *      should stop). Once step 1 is done every committed entry is durable on this member;
 *   4. readStates: answer each read once the application has applied its index;
 *   5. softState? (leader, role) when it changed; then advance(ready).
 * tick/step/propose/readIndex may be called between ready() and advance() (e.g. while the
 * write is in flight); ready() may not be called again before advance().
 *
 * Entries are {index, term, type: 'normal' | 'confChange', data: Uint8Array}; messages are
 * plain objects (types.ts) that util/codec carries unchanged. Broken invariants throw
 * AssertionFailure: the member must stop.
 */
export { RawNode, committedEntriesDurable, validateMessage, type RawNodeConfig, type Status, type ProgressStatus, type Result } from './rawnode.js';
export { type RaftConfig, type RaftLogger, type RandomSource, type ProposeResult, type Refusal, SILENT_LOGGER } from './raft.js';
export { MemoryLogStorage, bootstrapState, type RaftStorage, type LogStorage } from './storage.js';
export { type ConfChange, encodeConfChange, decodeConfChange, validateConfChange, applyConfChange } from './confchange.js';
export { describeEntry, describeMessage, describeReady, describeHardState, describeSnapshot, type DataFormatter } from './describe.js';
export * from './types.js';
