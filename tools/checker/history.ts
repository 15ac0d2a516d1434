/**
 * The history a fault-injection run records, as the checkers read it (pure data).
 *
 * Status, as Jepsen names it:
 * - `ok`: the server answered definitively: a success or a ZooKeeper error outcome (NoNode,
 *   NodeExists, BadVersion...), which applied as a failed entry and changed nothing.
 * - `fail`: definitely not applied (refused before the log, or never sent).
 * - `info`: indeterminate (timeout, connection reset after send, "may or may not apply"):
 *   `ret` is Infinity.
 */
import type { SeqInput, SeqOutput, ZInput, ZOutput } from './models.js';

export type OpStatus = 'ok' | 'fail' | 'info';

/** Which workload an operation belongs to: its checker and its partition scheme. */
export type Workload = 'register' | 'group' | 'seq' | 'unique';

export interface HistoryOp {
  id: number;
  /** Logical client (one outstanding op each). */
  client: number;
  /** The member the request went to. */
  member: number;
  workload: Workload;
  /** register: the path; group: the group's name; seq: the parent; unique: the path. */
  partition: string;
  input: ZInput | SeqInput;
  /** Reads: local (sequentially consistent, with ?minZxid) or linearizable. */
  read?: 'local' | 'linearizable';
  /** Monotonic harness clock (µs). */
  call: number;
  /** Infinity when indeterminate. */
  ret: number;
  /** When the harness stopped waiting for an indeterminate op (timelines only). */
  gaveUpAt?: number;
  status: OpStatus;
  /** For status ok. */
  output?: ZOutput | SeqOutput;
  /** Zgate-Zxid of a definite answer (a write: its own zxid). */
  zxid?: number;
  /** A read's znode mzxid. */
  mzxid?: number;
  /** HTTP status and error text, for reports. */
  detail?: string;
  /** Taken after the faults healed, to pin the final state. */
  final?: boolean;
}

export type EventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged';

export interface Effect {
  path: string;
  type: EventType;
}

/** The full path a sequential create got. */
export function seqPath(input: SeqInput, seq: number): string {
  return input.prefix + String(seq).padStart(10, '0');
}

/** True for ZooKeeper error outcomes that come from applying an entry (so the answer's zxid is that entry's). */
export function isAppliedError(code: string): boolean {
  return code === 'NoNode' || code === 'NodeExists' || code === 'BadVersion' || code === 'NotEmpty';
}

export function isWrite(op: HistoryOp): boolean {
  return (op.input as ZInput).f !== 'get';
}

/**
 * The znode changes of a definitely answered write, as recursive watch events (parents
 * created implicitly are not listed; callers allow NodeCreated on ancestors). undefined when
 * unknown (indeterminate, failed, or a read).
 */
export function effectsOf(op: HistoryOp): Effect[] | undefined {
  if (op.status !== 'ok' || op.output === undefined || !isWrite(op)) return undefined;
  if (op.output.t !== 'ok') return (op.output as { t: string }).t === 'err' ? [] : undefined;
  const input = op.input;
  switch (input.f) {
    case 'createSeq':
      return [{ path: seqPath(input, (op.output as { seq: number }).seq), type: 'NodeCreated' }];
    case 'create':
      return [{ path: input.path, type: 'NodeCreated' }];
    case 'set':
      return [{ path: input.path, type: 'NodeDataChanged' }];
    case 'delete':
      return [{ path: input.path, type: 'NodeDeleted' }];
    case 'multi':
      return input.ops.flatMap((o): Effect[] => (o.op === 'create' ? [{ path: o.path, type: 'NodeCreated' }] : o.op === 'set' ? [{ path: o.path, type: 'NodeDataChanged' }] : o.op === 'delete' ? [{ path: o.path, type: 'NodeDeleted' }] : []));
    case 'get':
      return undefined;
  }
}

/** The values a write would store, by path (unique values: they pin which write a read saw). */
export function writtenValues(input: ZInput | SeqInput): { path: string | undefined; data: string }[] {
  switch (input.f) {
    case 'createSeq':
      return [{ path: undefined, data: input.data }];
    case 'create':
    case 'set':
      return [{ path: input.path, data: input.data }];
    case 'multi':
      return input.ops.flatMap((o) => (o.op === 'create' || o.op === 'set' ? [{ path: o.path, data: o.data }] : []));
    default:
      return [];
  }
}

/** A znode as one member holds it at the end (for replica agreement and final-state checks). */
export interface NodeDump {
  data: string;
  version: number;
  czxid: number;
  mzxid: number;
  pzxid: number;
  cversion: number;
  numChildren: number;
  ephemeralOwner: string;
}

export type TreeDump = Map<string, NodeDump>;

export interface WatchEvent {
  zxid: number;
  path: string;
  type: string;
}

/** One connection of a logical watcher: events with zxid in (from, to] were all delivered. */
export interface WatchSegment {
  member: number;
  /** The watching reply's zxid (fresh), or the fromZxid resumed from. */
  from: number;
  /** The last zxid known delivered (an event's, or a heartbeat's). */
  to: number;
  /** True when it resumed the previous segment (fromZxid = the previous segment's `to`). */
  resumed: boolean;
  /** Frames in arrival order; each frame's events share one zxid. */
  frames: WatchEvent[][];
  /** Why it ended (closed, timeout, Compacted, end of run). */
  ended: string;
  /** The server's words when it ended the watch (Compacted). */
  note?: string;
}

export interface WatcherLog {
  watcher: number;
  path: string;
  segments: WatchSegment[];
}
