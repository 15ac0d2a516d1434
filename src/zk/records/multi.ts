/**
 * multi and multiRead: a request body is a sequence of (MultiHeader, op record) ended by the
 * MultiHeader {type -1, done true, err -1}; a response body likewise, each op's header carrying
 * its err, a failed op's record an ErrorResponse under type -1. As ZooKeeper's
 * MultiOperationRecord and MultiResponse frame them; one table per direction says which record
 * follows which op type. A multi that fails still has ReplyHeader err 0 (ZooKeeper 3.8): every op
 * is then an ErrorResponse, the ops before the failing one with err 0, those after it -2
 * (RuntimeInconsistency).
 */
import { JuteError, OpCode, type JuteReader, type JuteWriter } from '../jute.js';
import { packet, type Codec, type RecordCodec } from './codec.js';
import {
  CheckVersionRequest,
  Create2Response,
  CreateRequest,
  CreateResponse,
  CreateTTLRequest,
  DeleteRequest,
  EmptyRecord,
  ErrorResponse,
  GetChildrenRequest,
  GetChildrenResponse,
  GetDataRequest,
  GetDataResponse,
  MultiHeader,
  SetDataRequest,
  SetDataResponse,
} from './records.js';

type Table = Readonly<Record<number, Codec<unknown>>>;

/** The op records a multi (write transaction) may hold, by op type. */
const WRITE_OPS: Table = {
  [OpCode.create]: CreateRequest,
  [OpCode.create2]: CreateRequest,
  [OpCode.createContainer]: CreateRequest,
  [OpCode.createTTL]: CreateTTLRequest,
  [OpCode.delete]: DeleteRequest,
  [OpCode.deleteContainer]: DeleteRequest,
  [OpCode.setData]: SetDataRequest,
  [OpCode.check]: CheckVersionRequest,
};

/** The op records a multiRead may hold. */
const READ_OPS: Table = {
  [OpCode.getChildren]: GetChildrenRequest,
  [OpCode.getData]: GetDataRequest,
};

/** The result record each op type answers with, in either kind of multi. */
const RESULTS: Table = {
  [OpCode.create]: CreateResponse,
  [OpCode.create2]: Create2Response,
  [OpCode.createContainer]: Create2Response,
  [OpCode.createTTL]: Create2Response,
  [OpCode.delete]: EmptyRecord,
  [OpCode.deleteContainer]: EmptyRecord,
  [OpCode.check]: EmptyRecord,
  [OpCode.setData]: SetDataResponse,
  [OpCode.getChildren]: GetChildrenResponse,
  [OpCode.getData]: GetDataResponse,
  [OpCode.error]: ErrorResponse,
};

export type MultiOp =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer; op: CreateRequest }
  | { type: typeof OpCode.createTTL; op: CreateTTLRequest }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; op: DeleteRequest }
  | { type: typeof OpCode.setData; op: SetDataRequest }
  | { type: typeof OpCode.check; op: CheckVersionRequest };

export type MultiReadOp = { type: typeof OpCode.getChildren; op: GetChildrenRequest } | { type: typeof OpCode.getData; op: GetDataRequest };

/** One op's answer; `err` is its MultiHeader's (0 when it succeeded). */
export type MultiResult =
  | { type: typeof OpCode.create; err: number; result: CreateResponse }
  | { type: typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL; err: number; result: Create2Response }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer | typeof OpCode.check; err: number; result: Record<string, never> }
  | { type: typeof OpCode.setData; err: number; result: SetDataResponse }
  | { type: typeof OpCode.getChildren; err: number; result: GetChildrenResponse }
  | { type: typeof OpCode.getData; err: number; result: GetDataResponse }
  | { type: typeof OpCode.error; err: number; result: ErrorResponse };

/** The err of every request op's header, and of the terminator. */
const NO_ERR = -1;

function codecFor(table: Table, type: number, r?: JuteReader): Codec<unknown> {
  const c = Object.prototype.hasOwnProperty.call(table, type) ? table[type] : undefined;
  if (c !== undefined) return c;
  if (r !== undefined) return r.fail('unknown-op', `op type ${type} in a multi`);
  throw new JuteError('unknown-op', `op type ${type} in a multi`, 0);
}

function writeEnd(w: JuteWriter): void {
  MultiHeader.write(w, { type: OpCode.error, done: true, err: NO_ERR });
}

/** Reads headers until the terminator; `onOp` reads what follows each other header. */
function readOps<T>(r: JuteReader, onHeader: (h: MultiHeader) => T): T[] {
  const out: T[] = [];
  for (;;) {
    const at = r.offset;
    const h = MultiHeader.read(r);
    if (h.done) {
      if (h.type !== OpCode.error || h.err !== NO_ERR) {
        throw new JuteError('bad-multi-header', `terminator {type ${h.type}, err ${h.err}}`, at);
      }
      return out;
    }
    if (out.length >= r.limits.maxVectorLength) r.fail('too-many', `more than ${r.limits.maxVectorLength} ops`);
    out.push(onHeader(h));
  }
}

function requestCodec<Op extends { type: number; op: unknown }>(name: string, table: Table): RecordCodec<{ ops: Op[] }> {
  return packet<{ ops: Op[] }>(
    {
      name,
      shape: { kind: 'custom' },
      minBytes: 9,
      write(w, v) {
        for (const { type, op } of v.ops) {
          const c = codecFor(table, type);
          MultiHeader.write(w, { type, done: false, err: NO_ERR });
          c.write(w, op);
        }
        writeEnd(w);
      },
      read(r) {
        const ops = readOps(r, (h) => {
          if (h.err !== NO_ERR) r.fail('bad-multi-header', `request op header err ${h.err}`);
          return { type: h.type, op: codecFor(table, h.type, r).read(r) } as Op;
        });
        return { ops };
      },
    },
    ['ops'],
  );
}

/** The body of a multi request (opcode multi). */
export const MultiRequest = requestCodec<MultiOp>('MultiRequest', WRITE_OPS);
/** The body of a multiRead request (opcode multiRead). */
export const MultiReadRequest = requestCodec<MultiReadOp>('MultiReadRequest', READ_OPS);

/** The body of a multi or multiRead answer. */
export const MultiResponse = packet<{ results: MultiResult[] }>(
  {
    name: 'MultiResponse',
    shape: { kind: 'custom' },
    minBytes: 9,
    write(w, v) {
      for (const { type, err, result } of v.results) {
        const c = codecFor(RESULTS, type);
        MultiHeader.write(w, { type, done: false, err });
        c.write(w, result);
      }
      writeEnd(w);
    },
    read(r) {
      const results = readOps(r, (h) => ({ type: h.type, err: h.err, result: codecFor(RESULTS, h.type, r).read(r) }) as MultiResult);
      return { results };
    },
  },
  ['results'],
);

export type MultiRequest = { ops: MultiOp[] };
export type MultiReadRequest = { ops: MultiReadOp[] };
export type MultiResponse = { results: MultiResult[] };
