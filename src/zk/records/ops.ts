/**
 * Which record follows a RequestHeader of each opcode, and which follows the ReplyHeader of a
 * successful answer to it (a reply whose err is not 0 is the header alone). createSession is
 * not here: the connection's first packet is a bare ConnectRequest, answered by a bare
 * ConnectResponse; nor notification, whose body (xid -1) is a WatcherEvent.
 */
import { OpCode } from '../jute.js';
import type { RecordCodec } from './codec.js';
import { MultiReadRequest, MultiRequest, MultiResponse } from './multi.js';
import * as R from './records.js';

type Table = Readonly<Record<number, RecordCodec<unknown>>>;

export const REQUEST_RECORDS: Table = {
  [OpCode.create]: R.CreateRequest,
  [OpCode.delete]: R.DeleteRequest,
  [OpCode.exists]: R.ExistsRequest,
  [OpCode.getData]: R.GetDataRequest,
  [OpCode.setData]: R.SetDataRequest,
  [OpCode.getACL]: R.GetACLRequest,
  [OpCode.setACL]: R.SetACLRequest,
  [OpCode.getChildren]: R.GetChildrenRequest,
  [OpCode.sync]: R.SyncRequest,
  [OpCode.ping]: R.EmptyRecord,
  [OpCode.getChildren2]: R.GetChildren2Request,
  [OpCode.check]: R.CheckVersionRequest,
  [OpCode.multi]: MultiRequest,
  [OpCode.create2]: R.CreateRequest,
  [OpCode.reconfig]: R.ReconfigRequest,
  [OpCode.checkWatches]: R.CheckWatchesRequest,
  [OpCode.removeWatches]: R.RemoveWatchesRequest,
  [OpCode.createContainer]: R.CreateRequest,
  [OpCode.deleteContainer]: R.DeleteRequest,
  [OpCode.createTTL]: R.CreateTTLRequest,
  [OpCode.multiRead]: MultiReadRequest,
  [OpCode.auth]: R.AuthPacket,
  [OpCode.setWatches]: R.SetWatches,
  [OpCode.sasl]: R.GetSASLRequest,
  [OpCode.getEphemerals]: R.GetEphemeralsRequest,
  [OpCode.getAllChildrenNumber]: R.GetAllChildrenNumberRequest,
  [OpCode.setWatches2]: R.SetWatches2,
  [OpCode.addWatch]: R.AddWatchRequest,
  [OpCode.whoAmI]: R.EmptyRecord,
  [OpCode.closeSession]: R.EmptyRecord,
};

export const RESPONSE_RECORDS: Table = {
  [OpCode.create]: R.CreateResponse,
  [OpCode.delete]: R.EmptyRecord,
  [OpCode.exists]: R.ExistsResponse,
  [OpCode.getData]: R.GetDataResponse,
  [OpCode.setData]: R.SetDataResponse,
  [OpCode.getACL]: R.GetACLResponse,
  [OpCode.setACL]: R.SetACLResponse,
  [OpCode.getChildren]: R.GetChildrenResponse,
  [OpCode.sync]: R.SyncResponse,
  [OpCode.ping]: R.EmptyRecord,
  [OpCode.getChildren2]: R.GetChildren2Response,
  /** A check outside a multi is 3.9's (3.8.0 never answers one); like a multi's check result, no body. */
  [OpCode.check]: R.EmptyRecord,
  [OpCode.multi]: MultiResponse,
  [OpCode.create2]: R.Create2Response,
  /** The new config's data and the config node's stat (as ZooKeeper's reconfig() reads it; not tried here). */
  [OpCode.reconfig]: R.GetDataResponse,
  [OpCode.checkWatches]: R.EmptyRecord,
  [OpCode.removeWatches]: R.EmptyRecord,
  [OpCode.createContainer]: R.Create2Response,
  [OpCode.deleteContainer]: R.EmptyRecord,
  [OpCode.createTTL]: R.Create2Response,
  [OpCode.multiRead]: MultiResponse,
  [OpCode.auth]: R.EmptyRecord,
  [OpCode.setWatches]: R.EmptyRecord,
  [OpCode.sasl]: R.SetSASLResponse,
  [OpCode.getEphemerals]: R.GetEphemeralsResponse,
  [OpCode.getAllChildrenNumber]: R.GetAllChildrenNumberResponse,
  [OpCode.setWatches2]: R.EmptyRecord,
  [OpCode.addWatch]: R.ErrorResponse,
  [OpCode.whoAmI]: R.WhoAmIResponse,
  [OpCode.closeSession]: R.EmptyRecord,
};

/** The record a request of `opcode` carries, or undefined for an opcode no client sends. */
export function requestRecord(opcode: number): RecordCodec<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(REQUEST_RECORDS, opcode) ? REQUEST_RECORDS[opcode] : undefined;
}

/** The record a successful answer to `opcode` carries. */
export function responseRecord(opcode: number): RecordCodec<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(RESPONSE_RECORDS, opcode) ? RESPONSE_RECORDS[opcode] : undefined;
}
