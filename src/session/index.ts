export { ExpiryTracker } from './expiry.js';
export { sweep, type Sweep } from './reaper.js';
export { applyOp, beginSnapshot, isMemberSnapshot, isSessionOp, precheck, restoreSnapshot, sessionOpFailure, snapshot, type MemberSnapshotWriter } from './state.js';
export { isIdList, isSessionId, isTimeout, MAX_SESSION_ID, MIN_SESSION_ID, mayUseSession, SessionTable, type SessionCounters, type SessionInfo } from './table.js';
