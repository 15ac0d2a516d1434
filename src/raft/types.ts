/**
 * The plain data the Raft core exchanges with its runtime: entries, messages, hard state,
 * snapshots and the Ready batch. Everything here is a plain object of numbers, strings,
 * booleans, arrays and Uint8Arrays, so util/codec (msgpack) carries it unchanged.
 */

/** Member ids are small positive integers; 0 means "nobody" (no leader, no vote). */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryType = 'normal' | 'confChange';

/** One log entry. `data` is opaque to the core except for confChange entries (see confchange.ts). */
export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
}

/** What survives a restart besides the log: persisted whenever it changes (see Ready.mustSync). */
export interface HardState {
  term: number;
  /** The member voted for in `term`, NONE if none. */
  vote: NodeId;
  commit: number;
}

/** The voting membership. Learners/joint consensus are deliberately not supported (see confchange.ts). */
export interface ConfState {
  voters: NodeId[];
}

export interface SnapshotMeta {
  /** The snapshot holds the state exactly as of applying entry `index`... */
  index: number;
  /** ...whose term is `term`. */
  term: number;
  /** Membership as of `index`. */
  confState: ConfState;
}

/**
 * A snapshot as the core sees it. `data` is opaque: the application's state, or a small
 * reference to it (e.g. a file name) that the runtime resolves when it streams the snapshot.
 */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export type MessageType =
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgSnap'
  | 'MsgTimeoutNow'
  | 'MsgTransferLeader'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

export const MESSAGE_TYPES: readonly MessageType[] = [
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
  'MsgTimeoutNow',
  'MsgTransferLeader',
  'MsgReadIndex',
  'MsgReadIndexResp',
];

/**
 * A message between members. Fields not meaningful for a type are 0 / false / [] (never
 * undefined), except `snapshot` (MsgSnap only) and `context` (heartbeats, read index, and
 * votes of a leadership transfer).
 *
 * Field use by type:
 * - MsgApp: index/logTerm = the entry preceding `entries`; commit = leader's commit.
 * - MsgAppResp: index = last index the follower has (accept) or the rejected MsgApp's index
 *   (reject); rejectHint/logTerm = the follower's guess of where the logs agree (reject).
 * - MsgVote/MsgPreVote: index/logTerm = the candidate's last entry; term = the term campaigned
 *   for; context = 'transfer' bytes when the vote is forced by a leadership transfer.
 * - MsgHeartbeat: commit = min(follower's match, leader's commit); context = read-index round.
 * - MsgReadIndex (follower -> leader): context = the request ctx; term 0 (like a proposal).
 * - MsgReadIndexResp: index = the read index; context = the request ctx.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  context?: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state worth reporting; Ready carries it when it changed. */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A linearizable read is safe once the member has applied `index`. */
export interface ReadState {
  index: number;
  ctx: Uint8Array;
}

/**
 * One batch of work for the runtime. Handle it in this order:
 *  1. persist `snapshot` (if any), then `entries`, then `hardState` (if any); fsync when
 *     `mustSync` (entries, term or vote changed; a commit-only change needs no fsync);
 *  2. only then send `messages`;
 *  3. install `snapshot` into the application, apply `committedEntries` in order;
 *  4. serve `readStates` once the application has applied their index;
 *  5. call `advance(ready)`.
 * Steps, ticks and proposals may be made between ready() and advance() (e.g. while the
 * write is in flight); ready() itself may not be called again before advance().
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  mustSync: boolean;
}
