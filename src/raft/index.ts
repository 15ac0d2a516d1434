/**
 * zgate's Raft core: a pure, synchronous state machine in the manner of etcd-io/raft.
 * No timers, sockets, files, clocks or Math.random: the runtime (cluster/) drives it.
 *
 * ## Building a member
 *
 *   const storage = MemoryStorage.fromDisk({ hardState, snapshot, entries })   // what the WAL holds
 *   // First start of a member of a new cluster: persist bootstrapState([1, 2, 3]) (entries
 *   // 1..n adding each voter, committed), then load it as above. A member joining an
 *   // existing cluster starts with an empty disk: new MemoryStorage().
 *   const node = new RawNode({ id, storage, random: new Prng(seed), electionTick: 10, heartbeatTick: 1 });
 *
 * `storage` (LogStorage) must equal what is durable. The core writes into it itself in
 * advance() (after the runtime persisted a Ready) and in compact(); the runtime only fills
 * it at start. Snapshot data there may be a reference (a file name) the runtime resolves
 * when it streams a MsgSnap. The membership lives in the snapshot meta (confState) and in
 * confChange entries; a member not (yet) in its own configuration never campaigns.
 *
 * ## Inputs
 *
 * - tick(): call every tick (e.g. 100 ms); elections after electionTick..2*electionTick-1
 *   ticks without a leader (randomized by `random`), heartbeats every heartbeatTick.
 * - step(msg): every message received from a peer (dropped with a warning if malformed or
 *   not addressed to this member).
 * - propose(data) -> {ok, index, term} | {ok: false, reason, leader}: only the leader
 *   appends; a follower answers 'not-leader' with the leader's id (NONE if unknown) and the
 *   runtime forwards the Op. Also refused: 'transferring' (leadership transfer running),
 *   'flow-control' (maxUncommittedEntriesSize). An ok proposal may still be lost if leadership
 *   changes: the runtime knows it committed when an entry at `index` with `term` is applied.
 * - proposeConfChange({type: 'add' | 'remove', id}): one voter at a time ('conf-change-pending'
 *   until the previous one is applied; 'invalid-conf-change' for a member that is already
 *   there, one that is not, or the last member).
 * - readIndex(ctx): linearizable read. On the leader (after it committed an entry of its
 *   term) a heartbeat round confirms leadership; a follower forwards MsgReadIndex to the
 *   leader. The answer is a ReadState {index, ctx} in a later Ready: serve the read once the
 *   application has applied `index`. Requests lost to a leader change never answer: time out.
 * - transferLeadership(to): leader only; catches `to` up, then MsgTimeoutNow makes it campaign
 *   at once. Proposals are refused meanwhile; gives up after an election timeout.
 * - reportUnreachable(id): a send to id failed (the leader stops pipelining to it).
 * - reportSnapshot(id, ok): the runtime finished (or failed) streaming a MsgSnap to id.
 * - compact(index, data, confState): the application made a snapshot at applied `index`;
 *   the log before it is dropped and lagging followers get this snapshot.
 * - campaign(): start an election now. status(): term, leader, role, commit, applied,
 *   membership and, on a leader, each follower's progress.
 *
 * ## Output: hasReady() / ready() / advance(ready)
 *
 * A Ready holds, in the order to handle them:
 *   1. snapshot?, entries, hardState?: persist (snapshot, then entries, then hard state);
 *      fsync when mustSync (a commit-only hard state change needs none);
 *   2. messages: send them only after step 1 is durable (each carries `to`);
 *      a MsgSnap's snapshot.data is whatever compact() stored (stream it in chunks and
 *      reportSnapshot when done);
 *   3. snapshot?: install it into the application; then apply committedEntries in order
 *      (type 'normal': the Op; 'confChange': decodeConfChange(data) — the core applies the
 *      membership change itself at advance; a member that finds itself removed should stop);
 *   4. readStates: answer each read once applied >= index;
 *   5. softState? (leader, role) when it changed; then advance(ready).
 * tick/step/propose may be called between ready() and advance() (e.g. while the disk write
 * is in flight); ready() may not be called twice without advance().
 *
 * Entries are {index, term, type: 'normal' | 'confChange', data: Uint8Array}; messages are
 * plain objects (see types.ts), safe for util/codec.
 */
export { RawNode, validateMessage, type RawNodeConfig, type Status, type ProgressStatus, type Result } from './rawnode.js';
export { type RaftConfig, type RaftLogger, type RandomSource, type ProposeResult, type Refusal, SILENT_LOGGER } from './raft.js';
export { MemoryStorage, bootstrapState, type RaftStorage, type LogStorage } from './storage.js';
export { type ConfChange, encodeConfChange, decodeConfChange, validateConfChange, applyConfChange } from './confchange.js';
export { describeEntry, describeMessage, describeReady, describeHardState, describeSnapshot, type DataFormatter } from './describe.js';
export * from './types.js';
