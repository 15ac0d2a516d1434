/**
 * Every record of zookeeper.jute a ZooKeeper 3.8/3.9 server reads or writes on its client port,
 * each declared once: the server decodes what a client encodes with the same definition.
 * Field names and order are zookeeper.jute's; 64-bit fields are bigints.
 */
import { bool, buffer, int, long, packet, record, trailing, ustring, vector, type CodecValue } from './codec.js';

// ---------------------------------------------------------------------------------------------
// org.apache.zookeeper.data

export const Id = record('Id', { scheme: ustring, id: ustring });
export const ACL = record('ACL', { perms: int, id: Id });
export const Stat = record('Stat', {
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int,
  cversion: int,
  aversion: int,
  ephemeralOwner: long,
  dataLength: int,
  numChildren: int,
  pzxid: long,
});
/** whoAmI's answer items (3.8+). */
export const ClientInfo = record('ClientInfo', { authScheme: ustring, user: ustring });

const acls = vector(ACL);
const strings = vector(ustring);

// ---------------------------------------------------------------------------------------------
// Session and framing

/** The first packet of a connection. readOnly is absent from clients before 3.4. */
export const ConnectRequest = record('ConnectRequest', {
  protocolVersion: int,
  lastZxidSeen: long,
  timeOut: int,
  sessionId: long,
  passwd: buffer,
  readOnly: trailing(bool),
});
/** The server's answer to ConnectRequest. readOnly is absent from servers before 3.4. */
export const ConnectResponse = record('ConnectResponse', {
  protocolVersion: int,
  timeOut: int,
  sessionId: long,
  passwd: buffer,
  readOnly: trailing(bool),
});
export const RequestHeader = record('RequestHeader', { xid: int, type: int });
export const ReplyHeader = record('ReplyHeader', { xid: int, zxid: long, err: int });
export const MultiHeader = record('MultiHeader', { type: int, done: bool, err: int });
/** An auth request's body (xid -4, opcode auth). */
export const AuthPacket = record('AuthPacket', { type: int, scheme: ustring, auth: buffer });
/** A notification's body (xid -1). */
export const WatcherEvent = record('WatcherEvent', { type: int, state: int, path: ustring });
/** A failed multi op's record; also ZooKeeper's whole answer to addWatch ({err 0}). */
export const ErrorResponse = record('ErrorResponse', { err: int });

// ---------------------------------------------------------------------------------------------
// Requests

export const CreateRequest = record('CreateRequest', { path: ustring, data: buffer, acl: acls, flags: int });
export const CreateTTLRequest = record('CreateTTLRequest', { path: ustring, data: buffer, acl: acls, flags: int, ttl: long });
export const DeleteRequest = record('DeleteRequest', { path: ustring, version: int });
export const ExistsRequest = record('ExistsRequest', { path: ustring, watch: bool });
export const GetDataRequest = record('GetDataRequest', { path: ustring, watch: bool });
export const SetDataRequest = record('SetDataRequest', { path: ustring, data: buffer, version: int });
export const GetACLRequest = record('GetACLRequest', { path: ustring });
export const SetACLRequest = record('SetACLRequest', { path: ustring, acl: acls, version: int });
export const GetChildrenRequest = record('GetChildrenRequest', { path: ustring, watch: bool });
export const GetChildren2Request = record('GetChildren2Request', { path: ustring, watch: bool });
export const GetAllChildrenNumberRequest = record('GetAllChildrenNumberRequest', { path: ustring });
export const GetEphemeralsRequest = record('GetEphemeralsRequest', { prefixPath: ustring });
export const CheckVersionRequest = record('CheckVersionRequest', { path: ustring, version: int });
export const SyncRequest = record('SyncRequest', { path: ustring });
export const SetWatches = record('SetWatches', {
  relativeZxid: long,
  dataWatches: strings,
  existWatches: strings,
  childWatches: strings,
});
export const SetWatches2 = record('SetWatches2', {
  relativeZxid: long,
  dataWatches: strings,
  existWatches: strings,
  childWatches: strings,
  persistentWatches: strings,
  persistentRecursiveWatches: strings,
});
/** mode: AddWatchModes persistent 0, persistentRecursive 1. ZooKeeper answers it with an ErrorResponse {err 0}. */
export const AddWatchRequest = record('AddWatchRequest', { path: ustring, mode: int });
/** type: WatcherType children 1, data 2, any 3. */
export const RemoveWatchesRequest = record('RemoveWatchesRequest', { path: ustring, type: int });
export const CheckWatchesRequest = record('CheckWatchesRequest', { path: ustring, type: int });
export const ReconfigRequest = record('ReconfigRequest', {
  joiningServers: ustring,
  leavingServers: ustring,
  newMembers: ustring,
  curConfigId: long,
});
/** sasl (opcode 102): the client's token, and the server's. */
export const GetSASLRequest = record('GetSASLRequest', { token: buffer });
export const SetSASLResponse = record('SetSASLResponse', { token: buffer });
/**
 * A body of no bytes: the requests ping, closeSession, whoAmI; the answers to delete, setWatches,
 * setWatches2, removeWatches, auth, and any reply whose header's err is not 0.
 */
export const EmptyRecord = packet<Record<string, never>>({ name: 'Empty', shape: { kind: 'record', fields: [] }, minBytes: 0, write: () => undefined, read: () => ({}) });

// ---------------------------------------------------------------------------------------------
// Responses

export const CreateResponse = record('CreateResponse', { path: ustring });
export const Create2Response = record('Create2Response', { path: ustring, stat: Stat });
export const ExistsResponse = record('ExistsResponse', { stat: Stat });
export const GetDataResponse = record('GetDataResponse', { data: buffer, stat: Stat });
export const SetDataResponse = record('SetDataResponse', { stat: Stat });
export const GetACLResponse = record('GetACLResponse', { acl: acls, stat: Stat });
export const SetACLResponse = record('SetACLResponse', { stat: Stat });
export const GetChildrenResponse = record('GetChildrenResponse', { children: strings });
export const GetChildren2Response = record('GetChildren2Response', { children: strings, stat: Stat });
export const GetAllChildrenNumberResponse = record('GetAllChildrenNumberResponse', { totalNumber: int });
export const GetEphemeralsResponse = record('GetEphemeralsResponse', { ephemerals: strings });
export const SyncResponse = record('SyncResponse', { path: ustring });
export const WhoAmIResponse = record('WhoAmIResponse', { clientInfo: vector(ClientInfo) });

// ---------------------------------------------------------------------------------------------
// Value types

export type Id = CodecValue<typeof Id>;
export type ACL = CodecValue<typeof ACL>;
export type Stat = CodecValue<typeof Stat>;
export type ClientInfo = CodecValue<typeof ClientInfo>;
export type ConnectRequest = CodecValue<typeof ConnectRequest>;
export type ConnectResponse = CodecValue<typeof ConnectResponse>;
export type RequestHeader = CodecValue<typeof RequestHeader>;
export type ReplyHeader = CodecValue<typeof ReplyHeader>;
export type MultiHeader = CodecValue<typeof MultiHeader>;
export type AuthPacket = CodecValue<typeof AuthPacket>;
export type WatcherEvent = CodecValue<typeof WatcherEvent>;
export type ErrorResponse = CodecValue<typeof ErrorResponse>;
export type CreateRequest = CodecValue<typeof CreateRequest>;
export type CreateTTLRequest = CodecValue<typeof CreateTTLRequest>;
export type DeleteRequest = CodecValue<typeof DeleteRequest>;
export type SetDataRequest = CodecValue<typeof SetDataRequest>;
export type CheckVersionRequest = CodecValue<typeof CheckVersionRequest>;
export type GetChildrenRequest = CodecValue<typeof GetChildrenRequest>;
export type GetDataRequest = CodecValue<typeof GetDataRequest>;
export type CreateResponse = CodecValue<typeof CreateResponse>;
export type Create2Response = CodecValue<typeof Create2Response>;
export type SetDataResponse = CodecValue<typeof SetDataResponse>;
export type GetChildrenResponse = CodecValue<typeof GetChildrenResponse>;
export type GetDataResponse = CodecValue<typeof GetDataResponse>;
